package app_test

import (
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/internal/testkit"
	"github.com/saleassist-pipeline/pipeline/pkg/account"
	"github.com/saleassist-pipeline/pipeline/pkg/app/consoleapp"
	"github.com/saleassist-pipeline/pipeline/pkg/console"
)

const consoleAdminToken = "a-console-token-of-enough-length-0123"

// startConsoleProgram runs cmd/console against natsURL and a fresh SQLite store.
func startConsoleProgram(t *testing.T, natsURL string) string {
	t.Helper()
	c := consoleapp.New()
	c.Env = envOf(map[string]string{"ADMIN_TOKEN": consoleAdminToken})
	c.Stdout, c.Stderr = &testkit.SyncBuffer{}, &testkit.SyncBuffer{}
	dir := t.TempDir()
	require.NoError(t, c.ParseFlags([]string{"-addr", "127.0.0.1:0", "-nats-url", natsURL,
		"-db", filepath.Join(dir, "leads.db"), "-data-dir", dir}))
	require.NoError(t, c.Run(context.Background()))
	t.Cleanup(func() { require.NoError(t, c.Close()) })
	return strings.TrimSuffix(c.URL(), "/signin")
}

// putAccount stores an account with a new console token in the accounts bucket and returns the
// token, as `ingestctl accounts add` and `accounts token` do.
func putAccount(t *testing.T, kv *account.KV, id string) string {
	t.Helper()
	tok := account.NewSecret()
	_, err := kv.Put(context.Background(), account.Account{ID: id, Name: strings.ToUpper(id), ConsoleTokenHashes: []string{account.HashSecret(tok)}})
	require.NoError(t, err)
	return tok
}

// awaitConsoleStatus waits until GET path with token answers want.
func awaitConsoleStatus(t *testing.T, base, token, path string, want int) {
	t.Helper()
	require.Eventually(t, func() bool { return consoleGet(t, base, token, path, nil) == want },
		20*time.Second, 20*time.Millisecond, "%s never answered %d", path, want)
}

// cmd/console follows the accounts bucket: an account's console token signs in to its account as
// soon as the console starts, an account added later signs in within moments without a restart,
// and a token replaced in the bucket stops working.
func TestConsoleProgramFollowsAccounts(t *testing.T) {
	t.Parallel()
	js := testkit.StartJetStream(t, testkit.WithListen("127.0.0.1:0"))
	kv, err := account.OpenKV(context.Background(), js.JS)
	require.NoError(t, err)
	acme := putAccount(t, kv, "acme")
	base := startConsoleProgram(t, js.Server.ClientURL())

	var acc struct {
		Current string `json:"current"`
	}
	require.Equal(t, http.StatusOK, consoleGet(t, base, acme, "/api/accounts", &acc), "loaded before the console serves")
	require.Equal(t, "acme", acc.Current)
	require.Equal(t, http.StatusOK, consoleGet(t, base, consoleAdminToken, "/api/leads?account=acme", nil))

	globex := putAccount(t, kv, "globex")
	awaitConsoleStatus(t, base, globex, "/api/leads", http.StatusOK)
	require.Equal(t, http.StatusOK, consoleGet(t, base, consoleAdminToken, "/api/leads?account=globex", nil))

	putAccount(t, kv, "acme") // a new token replaces the old
	awaitConsoleStatus(t, base, acme, "/api/leads", http.StatusUnauthorized)
}

// cmd/console started before its NATS: the leads are readable with the admin token at once, and
// accounts' console tokens work once the accounts bucket can be read.
func TestConsoleProgramFollowsAccountsOnceNATSIsUp(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	base := startConsoleProgram(t, "nats://"+addr)
	require.Equal(t, http.StatusOK, consoleGet(t, base, consoleAdminToken, "/api/leads", nil), "the store is readable without NATS")

	js := testkit.StartJetStream(t, testkit.WithListen(addr))
	kv, err := account.OpenKV(context.Background(), js.JS)
	require.NoError(t, err)
	acme := putAccount(t, kv, "acme")
	awaitConsoleStatus(t, base, acme, "/api/leads", http.StatusOK)
}

// The whole pipeline with two accounts: the same person posted to the default URL and to an
// account's URL is stored as two leads, and the standalone ingest's console shows the account's
// console token its own lead, event and CSV only, and another account's lead and event as 404s;
// the admin token reads either with ?account=.
func TestStandaloneConsoleServesEachAccountItsOwn(t *testing.T) {
	t.Parallel()
	tb := setup(t, "-console-addr", "127.0.0.1:0")
	tok, err := os.ReadFile(filepath.Join(tb.dataDir, console.TokenFile))
	require.NoError(t, err)
	admin := strings.TrimSpace(string(tok))
	base := strings.TrimSuffix(tb.ingest.ConsoleURL(), "/signin")
	acme := account.NewSecret()
	tb.post(t, testkit.WithID(testkit.Fixture(t), "ev-default"))
	addAccount(t, tb, account.Account{ID: "acme", Name: "Acme", ConsoleTokenHashes: []string{account.HashSecret(acme)}}, testkit.Fixture(t))
	type leadList struct {
		Leads []struct {
			ID int64 `json:"id"`
		} `json:"leads"`
	}
	var mine, theirs leadList
	require.Eventually(t, func() bool {
		return consoleGet(t, base, acme, "/api/leads", &mine) == http.StatusOK && len(mine.Leads) == 1 &&
			consoleGet(t, base, admin, "/api/leads", &theirs) == http.StatusOK && len(theirs.Leads) == 1
	}, 20*time.Second, 20*time.Millisecond, "both events stored")
	require.NotEqual(t, mine.Leads[0].ID, theirs.Leads[0].ID, "one person, two accounts: two leads")

	code, body := consoleBody(t, base, acme, "/api/leads/"+strconv.FormatInt(theirs.Leads[0].ID, 10))
	require.Equal(t, http.StatusNotFound, code, body)
	code, body = consoleBody(t, base, acme, "/api/events/ev-default")
	require.Equal(t, http.StatusNotFound, code, body)
	code, body = consoleBody(t, base, acme, "/api/events/"+testkit.FixtureID)
	require.Equal(t, http.StatusOK, code, body)
	code, body = consoleBody(t, base, acme, "/api/leads.csv?bom=0")
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, 2, strings.Count(body, "\n"), "a header and its one lead:\n%s", body)
	require.Contains(t, body, strconv.FormatInt(mine.Leads[0].ID, 10)+",")
	require.Equal(t, http.StatusOK, consoleGet(t, base, admin, "/api/leads/"+strconv.FormatInt(mine.Leads[0].ID, 10)+"?account=acme", nil))
	require.Equal(t, http.StatusForbidden, consoleGet(t, base, acme, "/api/leads?account=default", nil))
}
