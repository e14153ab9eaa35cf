package account_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/internal/testkit"
	"github.com/saleassist-pipeline/pipeline/pkg/account"
)

// within is how soon a change must reach a following registry: "within seconds".
const within = 5 * time.Second

// follow starts Follow on a connection of its own (as another process would have) and returns
// the registry it keeps current.
func follow(t *testing.T, k *testkit.JetStream, env account.Account) *account.Registry {
	t.Helper()
	nc, err := k.Server.Connect()
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	reg := account.NewRegistry()
	require.NoError(t, account.Follow(ctx, js, reg, env, account.WithLogger(k.Logger)))
	return reg
}

func TestFollowLoadsTheBucketBeforeItReturns(t *testing.T) {
	t.Parallel()
	kv, k := openKV(t)
	_, err := kv.Create(t.Context(), account.Account{ID: "brand2", WebhookToken: "tok-brand2"})
	require.NoError(t, err)
	reg := follow(t, k, account.EnvDefault([]string{"s"}, "X-Webhook-Secret", ""))
	// No waiting: the first request a program serves must already see every account.
	require.Equal(t, []string{"brand2", account.Default}, reg.IDs())
	a, ok := reg.ByWebhookToken("tok-brand2")
	require.True(t, ok)
	require.Equal(t, "brand2", a.ID)
}

// A Put by one process (ingestctl) shows up in another's registry, a change too, and a delete
// removes it; the default account is there throughout.
func TestFollowSeesPutsChangesAndDeletes(t *testing.T) {
	t.Parallel()
	kv, k := openKV(t)
	ctx := t.Context()
	reg := follow(t, k, account.EnvDefault([]string{"env-secret"}, "X-Webhook-Secret", ""))
	require.Equal(t, []string{account.Default}, reg.IDs(), "an empty bucket: the default account only")

	changed := reg.Changed()
	_, err := kv.Create(ctx, account.Account{ID: "brand2", Name: "Brand 2", WebhookToken: "tok2"})
	require.NoError(t, err)
	select {
	case <-changed:
	case <-time.After(within):
		t.Fatal("reg.Changed not closed after a Put")
	}
	require.Eventually(t, func() bool { _, ok := reg.ByWebhookToken("tok2"); return ok }, within, 5*time.Millisecond)

	_, err = kv.Update(ctx, "brand2", func(a *account.Account) error { a.Disabled = true; return nil })
	require.NoError(t, err)
	require.Eventually(t, func() bool { a, _ := reg.ByID("brand2"); return a.Disabled }, within, 5*time.Millisecond)

	require.NoError(t, kv.Delete(ctx, "brand2"))
	require.Eventually(t, func() bool { _, ok := reg.ByID("brand2"); return !ok }, within, 5*time.Millisecond)
	_, ok := reg.ByWebhookToken("tok2")
	require.False(t, ok, "a deleted account's URL is gone")
	d, ok := reg.ByID(account.Default)
	require.True(t, ok)
	require.True(t, d.AcceptsSecret("env-secret"))
}

// The default account is the environment's, overlaid by a "default" entry when one exists; when
// the entry goes, the environment's is back.
func TestFollowOverlaysTheDefaultEntry(t *testing.T) {
	t.Parallel()
	kv, k := openKV(t)
	ctx := t.Context()
	reg := follow(t, k, account.EnvDefault([]string{"env-secret"}, "X-Env-Header", "env: mapping\n"))

	kvSecret := account.NewSecret()
	_, err := kv.Update(ctx, account.Default, func(a *account.Account) error {
		a.Name, a.ClientIDs, a.RatePerSecond = "Main", []string{"c-main"}, 7
		a.SecretHashes = []string{account.HashSecret(kvSecret)}
		return nil
	})
	require.NoError(t, err)
	require.Eventually(t, func() bool { d, _ := reg.ByID(account.Default); return d.Name == "Main" }, within, 5*time.Millisecond)
	d, _ := reg.ByID(account.Default)
	require.Equal(t, []string{"c-main"}, d.ClientIDs)
	require.Equal(t, 7.0, d.RatePerSecond)
	require.True(t, d.AcceptsSecret("env-secret"), "the environment's secret still works")
	require.True(t, d.AcceptsSecret(kvSecret), "and so does the bucket's")
	require.Equal(t, "X-Env-Header", d.SecretHeader, "unset in the entry: the environment's")
	require.Equal(t, "env: mapping\n", d.Mapping)

	require.NoError(t, kv.Delete(ctx, account.Default))
	require.Eventually(t, func() bool { d, _ := reg.ByID(account.Default); return d.Name == "Default" }, within, 5*time.Millisecond)
	d, _ = reg.ByID(account.Default)
	require.Empty(t, d.ClientIDs)
	require.False(t, d.AcceptsSecret(kvSecret))
}

// NATS restarts under a following process: the registry keeps what it had meanwhile, and a change
// made after the restart still reaches it.
func TestFollowSurvivesANATSRestart(t *testing.T) {
	t.Parallel()
	nh := testkit.StartNATSHost(t)
	connect := func() jetstream.JetStream { _, js := nh.Connect(); return js }
	js := connect()
	kv, err := account.OpenKV(t.Context(), js)
	require.NoError(t, err)
	_, err = kv.Create(t.Context(), account.Account{ID: "before"})
	require.NoError(t, err)

	var logs testkit.SyncBuffer
	reg := account.NewRegistry()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	require.NoError(t, account.Follow(ctx, connect(), reg, account.EnvDefault(nil, "", ""),
		account.WithLogger(slog.New(slog.NewJSONHandler(&logs, nil)))))

	nh.Stop()
	_, ok := reg.ByID("before")
	require.True(t, ok, "kept while NATS is down")
	nh.Start()

	require.Eventually(t, func() bool {
		_, err := kv.Create(t.Context(), account.Account{ID: "after"})
		return err == nil
	}, 30*time.Second, 20*time.Millisecond, "write once NATS is back")
	require.Eventually(t, func() bool { _, ok := reg.ByID("after"); return ok }, within, 5*time.Millisecond,
		"a change after the restart reaches the registry; log:\n%s", logs.String())
	_, ok = reg.ByID("before")
	require.True(t, ok)
	// State changes only: the first load and the change; the restart itself is quiet (the
	// connection reports it), and nothing repeats.
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	require.Len(t, lines, 2, logs.String())
	require.Contains(t, lines[1], `"msg":"accounts changed","accounts":3,"added":["after"]`)
}

func TestEnvDefault(t *testing.T) {
	t.Parallel()
	a := account.EnvDefault([]string{"one", " two ", "", "one"}, "X-Secret", "m: 1\n")
	require.Equal(t, account.Default, a.ID)
	require.Len(t, a.SecretHashes, 2, "trimmed, empty skipped, once each")
	require.True(t, a.AcceptsSecret("one"))
	require.True(t, a.AcceptsSecret("two"))
	require.Equal(t, "X-Secret", a.SecretHeader)
	require.Equal(t, "m: 1\n", a.Mapping)
	require.True(t, a.AcceptsClientID("anything"), "the default accepts any client_id, as before accounts")
}
