package ctl_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/pkg/account"
)

// stored reads the account as the bucket holds it, as an ingest would.
func (b *testBundle) stored(t *testing.T, id string) account.Account {
	t.Helper()
	kv, err := account.OpenKV(t.Context(), b.JS.JS)
	require.NoError(t, err)
	a, err := kv.Get(t.Context(), id)
	require.NoError(t, err)
	return a
}

// add adds an account with -json and returns what it printed.
func (b *testBundle) add(t *testing.T, id string, more ...string) map[string]any {
	t.Helper()
	var added map[string]any
	out := b.ok(t, append([]string{"accounts", "add", "-id", id, "-json"}, more...)...)
	require.NoError(t, json.Unmarshal([]byte(out), &added), out)
	return added
}

func TestAccountsAddPrintsPathAndSecretOnce(t *testing.T) {
	t.Parallel()
	b := setup(t)
	added := b.add(t, "brand2", "-name", "Brand 2", "-client-id", "c2", "-client-id", "c2b,c2c", "-rate", "5")
	require.Equal(t, "brand2", added["id"])
	secret, _ := added["secret"].(string)
	require.Len(t, secret, 43)
	path, _ := added["webhook_path"].(string)
	require.True(t, strings.HasPrefix(path, "/webhooks/saleassist/"), path)

	a := b.stored(t, "brand2")
	require.True(t, a.AcceptsSecret(secret), "the bucket holds the secret's hash")
	require.NotContains(t, a.SecretHashes, secret, "and not the secret")
	require.Equal(t, path, a.WebhookPath())
	require.Equal(t, []string{"c2", "c2b", "c2c"}, a.ClientIDs)
	require.Equal(t, 5.0, a.RatePerSecond)

	// show and list never print the secret, its hash or the token's hash.
	b.ok(t, "accounts", "token", "brand2")
	a = b.stored(t, "brand2")
	for _, args := range [][]string{{"accounts", "show", "brand2"}, {"accounts", "show", "brand2", "-json"}, {"accounts", "list"}, {"accounts", "list", "-json"}} {
		out := b.ok(t, args...)
		require.Contains(t, out, "brand2")
		for _, s := range append([]string{secret}, append(a.SecretHashes, a.ConsoleTokenHashes...)...) {
			require.NotContains(t, out, s, strings.Join(args, " "))
		}
	}

	// Human output says where to point SaleAssist.
	out := b.ok(t, "accounts", "add", "-id", "brand3", "-client-id", "c3")
	require.Contains(t, out, "/webhooks/saleassist/")
	require.Contains(t, out, "X-Webhook-Secret")
	require.Contains(t, out, "shown this once")
}

func TestAccountsListHasTheDefaultAccountFirst(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.add(t, "acme", "-client-id", "c1")
	var views []map[string]any
	require.NoError(t, json.Unmarshal([]byte(b.ok(t, "accounts", "list", "-json")), &views))
	require.Len(t, views, 2)
	require.Equal(t, account.Default, views[0]["id"])
	require.Equal(t, "/webhooks/saleassist", views[0]["webhook_path"])
	require.Equal(t, true, views[0]["from_environment"])
	require.Equal(t, "acme", views[1]["id"])
	require.Contains(t, b.ok(t, "accounts", "list"), "2 accounts")
}

func TestAccountsTokenJSONReplacesThePreviousToken(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.add(t, "brand2", "-client-id", "c2")
	token := func() string {
		var out map[string]string
		require.NoError(t, json.Unmarshal([]byte(b.ok(t, "accounts", "token", "brand2", "-json")), &out))
		require.Len(t, out["token"], 43)
		return out["token"]
	}
	first := token()
	a := b.stored(t, "brand2")
	require.True(t, a.AcceptsConsoleToken(first))
	second := token()
	a = b.stored(t, "brand2")
	require.True(t, a.AcceptsConsoleToken(second))
	require.False(t, a.AcceptsConsoleToken(first), "a new token revokes the previous one")
}

func TestAccountsRotateSecretKeepsTheOldUntilDropped(t *testing.T) {
	t.Parallel()
	b := setup(t)
	old := b.add(t, "brand2", "-client-id", "c2")["secret"].(string)
	var r map[string]any
	require.NoError(t, json.Unmarshal([]byte(b.ok(t, "accounts", "rotate-secret", "brand2", "-json")), &r))
	newer := r["secret"].(string)
	require.EqualValues(t, 2, r["secrets"])
	a := b.stored(t, "brand2")
	require.True(t, a.AcceptsSecret(old), "the old secret works while SaleAssist switches")
	require.True(t, a.AcceptsSecret(newer))

	out := b.ok(t, "accounts", "rotate-secret", "-drop-old", "brand2")
	require.Contains(t, out, "old secrets dropped")
	a = b.stored(t, "brand2")
	require.False(t, a.AcceptsSecret(old))
	require.True(t, a.AcceptsSecret(newer))
}

func TestAccountsRotateURLDisableEnable(t *testing.T) {
	t.Parallel()
	b := setup(t)
	path := b.add(t, "brand2", "-client-id", "c2")["webhook_path"].(string)
	out := b.ok(t, "accounts", "rotate-url", "brand2")
	a := b.stored(t, "brand2")
	require.NotEqual(t, path, a.WebhookPath(), "a new URL")
	require.Contains(t, out, a.WebhookPath())

	b.ok(t, "accounts", "disable", "brand2")
	require.True(t, b.stored(t, "brand2").Disabled)
	require.Contains(t, b.ok(t, "accounts", "show", "brand2"), "disabled")
	b.ok(t, "accounts", "enable", "brand2")
	require.False(t, b.stored(t, "brand2").Disabled)
}

func TestAccountsSetMappingChecksTheFile(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.add(t, "brand2", "-client-id", "c2")
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	require.NoError(t, os.WriteFile(bad, []byte("lead:\n  email:\n    from: [\n"), 0o600))
	code, _, errOut := b.run(t, "accounts", "set-mapping", "brand2", bad)
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "mapping refused, nothing changed")
	require.Contains(t, errOut, "bad.yaml", "the loader's message names the file")
	require.Empty(t, b.stored(t, "brand2").Mapping)

	good, err := os.ReadFile("../../../pkg/mapping/testdata/mapping.example.yaml")
	require.NoError(t, err)
	b.ok(t, "accounts", "set-mapping", "brand2", "../../../pkg/mapping/testdata/mapping.example.yaml")
	require.Equal(t, string(good), b.stored(t, "brand2").Mapping)
	require.Contains(t, b.ok(t, "accounts", "show", "brand2"), "its own (")
	b.ok(t, "accounts", "set-mapping", "brand2", "../../../pkg/mapping/testdata/mapping.example.json")

	// Stored without its name, a mapping is read as JSON when it starts with '{': flow-style
	// YAML, valid as a .yaml file, would not load in a worker, so it is refused here.
	flow := filepath.Join(t.TempDir(), "flow.yaml")
	require.NoError(t, os.WriteFile(flow, []byte("{version: 1, lead: {name: payload.people_detail.name}}\n"), 0o600))
	code, _, errOut = b.run(t, "accounts", "set-mapping", "brand2", flow)
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "starts with '{' but is not JSON")
}

func TestAccountsErrorsSayWhatIsWrong(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, verb := range []string{"show", "rotate-secret", "rotate-url", "disable", "token"} {
		code, _, errOut := b.run(t, "accounts", verb, "nobody")
		require.Equal(t, 1, code, verb)
		require.Contains(t, errOut, `account "nobody": no such account`, verb)
		require.Contains(t, errOut, "ingestctl accounts list", verb)
	}
	code, _, errOut := b.run(t, "accounts", "add", "-id", "brand2")
	require.Equal(t, 2, code)
	require.Contains(t, errOut, "needs -client-id")
	code, _, errOut = b.run(t, "accounts", "add", "-id", "Brand 2", "-client-id", "c")
	require.Equal(t, 2, code)
	require.Contains(t, errOut, "use a-z, 0-9 and '-'")
	b.add(t, "brand2", "-client-id", "c2")
	code, _, errOut = b.run(t, "accounts", "add", "-id", "brand2", "-client-id", "c2")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "account exists")
	code, _, errOut = b.run(t, "accounts", "show")
	require.Equal(t, 2, code)
	require.Contains(t, errOut, "want an account ID")
}

// What ingestctl adds reaches a running process's registry (as an ingest follows the bucket):
// its URL finds it and its secret is accepted; disabling it shows there too.
func TestAccountsAddedReachAFollowingProcess(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	reg := account.NewRegistry()
	require.NoError(t, account.Follow(ctx, b.JS.JS, reg, account.EnvDefault([]string{"env"}, "", ""), account.WithLogger(b.JS.Logger)))

	added := b.add(t, "brand2", "-client-id", "c2")
	token := strings.TrimPrefix(added["webhook_path"].(string), account.WebhookPathPrefix+"/")
	require.Eventually(t, func() bool { _, ok := reg.ByWebhookToken(token); return ok }, 5*time.Second, 5*time.Millisecond)
	a, _ := reg.ByWebhookToken(token)
	require.Equal(t, "brand2", a.ID)
	require.True(t, a.AcceptsSecret(added["secret"].(string)))
	require.True(t, a.AcceptsClientID("c2"))
	require.False(t, a.AcceptsClientID("c1"))

	b.ok(t, "accounts", "disable", "brand2")
	require.Eventually(t, func() bool { a, _ := reg.ByID("brand2"); return a.Disabled }, 5*time.Second, 5*time.Millisecond)
	_, ok := reg.ByID(account.Default)
	require.True(t, ok)
}

func TestAccountsSetChangesOnlyWhatIsGiven(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.add(t, "brand2", "-client-id", "c2", "-name", "Brand Two", "-rate", "50")
	b.ok(t, "accounts", "set", "brand2", "-retain-events-days", "30", "-client-id", "c3,c4", "-burst", "70")
	a := b.stored(t, "brand2")
	require.Equal(t, 30, a.RetainEventsDays)
	require.Equal(t, []string{"c3", "c4"}, a.ClientIDs, "-client-id replaces the list")
	require.Equal(t, 70, a.Burst)
	require.Equal(t, 50.0, a.RatePerSecond, "left as it was")
	require.Equal(t, "Brand Two", a.Name, "left as it was")

	code, _, errOut := b.run(t, "accounts", "set", "brand2")
	require.Equal(t, 2, code)
	require.Contains(t, errOut, "needs at least one of")
	code, _, errOut = b.run(t, "accounts", "set", "brand2", "-rate", "-5")
	require.Equal(t, 1, code)
	require.NotEmpty(t, errOut)
	require.Equal(t, 50.0, b.stored(t, "brand2").RatePerSecond, "a refused change changes nothing")
}
