package account_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/pkg/account"
)

// The overlay rule: what the bucket's "default" entry sets wins, what it leaves unset is the
// environment's, and secrets and console tokens are the union.
func TestOverlay(t *testing.T) {
	t.Parallel()
	env := account.EnvDefault([]string{"env-secret"}, "X-Env", "env: 1\n")
	kv := account.Account{ID: account.Default, Name: "Main", ClientIDs: []string{"c1"}, Burst: 9, Disabled: true,
		RetainEventsDays: 30, WebhookToken: "tok", SecretHashes: []string{account.HashSecret("kv-secret")},
		ConsoleTokenHashes: []string{account.HashSecret("console")}}
	a := account.Overlay(env, kv)
	require.Equal(t, "Main", a.Name)
	require.Equal(t, []string{"c1"}, a.ClientIDs)
	require.Equal(t, 9, a.Burst)
	require.Zero(t, a.RatePerSecond, "unset in both: the default rate applies")
	require.True(t, a.Disabled)
	require.Equal(t, 30, a.RetainEventsDays)
	require.Equal(t, "X-Env", a.SecretHeader)
	require.Equal(t, "env: 1\n", a.Mapping)
	require.Equal(t, "/webhooks/saleassist/tok", a.WebhookPath())
	require.True(t, a.AcceptsSecret("env-secret"))
	require.True(t, a.AcceptsSecret("kv-secret"))
	require.True(t, a.AcceptsConsoleToken("console"))
	require.Len(t, env.SecretHashes, 1, "env is not modified")
}

func TestWithDefaultAlwaysHasTheDefaultAccount(t *testing.T) {
	t.Parallel()
	env := account.EnvDefault([]string{"s"}, "", "")
	list := account.WithDefault(nil, env)
	require.Len(t, list, 1)
	require.Equal(t, account.Default, list[0].ID)

	list = account.WithDefault([]account.Account{{ID: "brand2"}, {ID: account.Default, Name: "Main"}}, env)
	require.Len(t, list, 2)
	reg := account.NewRegistry(list...)
	d, ok := reg.ByID(account.Default)
	require.True(t, ok)
	require.Equal(t, "Main", d.Name)
	require.True(t, d.AcceptsSecret("s"))
	_, ok = reg.ByID("brand2")
	require.True(t, ok)
}
