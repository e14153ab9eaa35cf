package account_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/pkg/account"
)

func TestValidID(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"default", "acme", "a", "brand-2", "0x"} {
		require.NoError(t, account.ValidID(ok), ok)
	}
	for _, bad := range []string{"", "-a", "Acme", "a.b", "a b", "a*", "a>", "ü", "a_b", "abcdefghijklmnopqrstuvwxyz0123456789", "none", "other"} {
		require.Error(t, account.ValidID(bad), bad)
	}
}

func TestSecretsAreKeptAsHashesAndCompared(t *testing.T) {
	t.Parallel()
	s1, s2 := account.NewSecret(), account.NewSecret()
	require.Len(t, s1, 43)
	require.NotEqual(t, s1, s2)
	a := account.Account{ID: "acme", SecretHashes: []string{account.HashSecret(s1)}}
	require.True(t, a.AcceptsSecret(s1))
	require.False(t, a.AcceptsSecret(s2))
	require.False(t, a.AcceptsSecret(""))
	require.False(t, a.AcceptsSecret(account.HashSecret(s1)), "the hash itself is not the secret")
}

func TestAcceptsClientID(t *testing.T) {
	t.Parallel()
	require.True(t, (&account.Account{}).AcceptsClientID("anything"))
	a := &account.Account{ClientIDs: []string{"c1", "c2"}}
	require.True(t, a.AcceptsClientID("c2"))
	require.False(t, a.AcceptsClientID("c3"))
	require.False(t, a.AcceptsClientID(""))
}

func TestRegistry(t *testing.T) {
	t.Parallel()
	tok := account.NewSecret()
	r := account.NewRegistry(account.Account{ID: "b", WebhookToken: "tb"}, account.Account{ID: "a", ConsoleTokenHashes: []string{account.HashSecret(tok)}})
	require.Equal(t, []string{"a", "b"}, r.IDs())
	got, ok := r.ByWebhookToken("tb")
	require.True(t, ok)
	require.Equal(t, "b", got.ID)
	_, ok = r.ByWebhookToken("")
	require.False(t, ok)
	got, ok = r.ByConsoleToken(tok)
	require.True(t, ok)
	require.Equal(t, "a", got.ID)

	changed := r.Changed()
	select {
	case <-changed:
		t.Fatal("Changed closed before a Set")
	default:
	}
	r.Set([]account.Account{{ID: "c"}})
	<-changed // closed by Set
	require.Equal(t, []string{"c"}, r.IDs())
	_, ok = r.ByWebhookToken("tb")
	require.False(t, ok, "a token of a removed account must stop working")
}

func TestRate(t *testing.T) {
	t.Parallel()
	r, b := (&account.Account{}).Rate()
	require.Equal(t, account.DefaultRate, r)
	require.Equal(t, account.DefaultBurst, b)
	r, b = (&account.Account{RatePerSecond: 1000}).Rate()
	require.Equal(t, 1000.0, r)
	require.Equal(t, 2000, b)
}
