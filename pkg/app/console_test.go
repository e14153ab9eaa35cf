package app_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/internal/testkit"
	"github.com/saleassist-pipeline/pipeline/pkg/app/consoleapp"
	"github.com/saleassist-pipeline/pipeline/pkg/app/ingestapp"
	"github.com/saleassist-pipeline/pipeline/pkg/console"
)

// consoleGet GETs path from the console at base with token, and decodes the JSON answer.
func consoleGet(t *testing.T, base, token, path string, v any) int {
	t.Helper()
	code, body := consoleBody(t, base, token, path)
	if v != nil && code == http.StatusOK {
		require.NoError(t, json.Unmarshal([]byte(body), v), body)
	}
	return code
}

// consoleBody GETs path from the console at base with token and returns status and body.
func consoleBody(t *testing.T, base, token, path string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, base+path, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

// A standalone ingest serves the console on CONSOLE_ADDR, says where at start with the generated
// token (shown once, kept 0600, never logged), and the console reads what the worker stored.
func TestStandaloneIngestServesTheConsole(t *testing.T) {
	t.Parallel()
	tb := setup(t, "-console-addr", "127.0.0.1:0")
	u := tb.ingest.ConsoleURL()
	require.NotEmpty(t, u)
	require.Contains(t, tb.stdout.String(), "Console (leads, dead letters, schema): "+u)
	tok, err := os.ReadFile(filepath.Join(tb.dataDir, console.TokenFile))
	require.NoError(t, err)
	token := strings.TrimSpace(string(tok))
	require.Contains(t, tb.stdout.String(), token, "the generated token is shown once")
	fi, err := os.Stat(filepath.Join(tb.dataDir, console.TokenFile))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

	tb.post(t, testkit.Fixture(t))
	awaitEvents(t, tb.openStore(t), 1)
	base := strings.TrimSuffix(u, "/signin")
	var leads struct {
		Leads []struct {
			Email string `json:"email"`
		} `json:"leads"`
	}
	require.Equal(t, http.StatusOK, consoleGet(t, base, token, "/api/leads?q=PRAKASHM@athenabpo.in", &leads))
	require.Len(t, leads.Leads, 1)
	var stats struct {
		Consumer *struct {
			Name string `json:"name"`
		} `json:"consumer"`
		DeadLetters *uint64 `json:"dead_letters"`
	}
	require.Equal(t, http.StatusOK, consoleGet(t, base, token, "/api/stats", &stats))
	require.NotNil(t, stats.Consumer, "the console sees the worker's consumer")
	require.NotNil(t, stats.DeadLetters)
	require.Equal(t, http.StatusUnauthorized, consoleGet(t, base, "wrong", "/api/stats", nil))

	tb.closeNow()
	require.NotContains(t, tb.stderr.String(), token, "the token is never logged")
}

// Beyond loopback the console needs an explicit, long ADMIN_TOKEN, or the ingest does not start;
// it never shares the webhook port (refused before anything listens).
func TestConsoleAddressRules(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		env  map[string]string
		args []string
		want string
	}{
		{map[string]string{"WEBHOOK_SECRETS": testSecret}, []string{"-console-addr", "0.0.0.0:0"}, "set ADMIN_TOKEN explicitly"},
		{map[string]string{"WEBHOOK_SECRETS": testSecret, "ADMIN_TOKEN": "too-short-for-remote-x"}, []string{"-console-addr", "0.0.0.0:0"}, "needs at least 24"},
		{map[string]string{"WEBHOOK_SECRETS": testSecret}, []string{"-addr", "127.0.0.1:18089", "-console-addr", "127.0.0.1:18089"}, "is on the webhook port"},
	} {
		m := ingestapp.New()
		m.Env, m.Stdout, m.Stderr = envOf(tc.env), io.Discard, io.Discard
		args := append([]string{"-addr", "127.0.0.1:0", "-data-dir", t.TempDir(), "-embedded-nats-addr", ""}, tc.args...)
		require.NoError(t, m.ParseFlags(args))
		err := m.Run(context.Background())
		require.ErrorContains(t, err, tc.want)
		require.NoError(t, m.Close())
	}
}

// cmd/console is the same console as a process of its own, over the store and NATS it is given.
func TestConsoleProgram(t *testing.T) {
	t.Parallel()
	tb := setup(t)
	tb.post(t, testkit.Fixture(t))
	awaitEvents(t, tb.openStore(t), 1)
	const token = "a-console-token-of-enough-length-0123"
	c := consoleapp.New()
	c.Env = envOf(map[string]string{"ADMIN_TOKEN": token})
	out := &testkit.SyncBuffer{}
	c.Stdout, c.Stderr = out, &testkit.SyncBuffer{}
	require.NoError(t, c.ParseFlags([]string{"-addr", "127.0.0.1:0", "-nats-url", tb.ingest.EmbeddedNATSURL(),
		"-db", filepath.Join(tb.dataDir, "leads.db"), "-data-dir", t.TempDir()}))
	require.NoError(t, c.Run(context.Background()))
	t.Cleanup(func() { require.NoError(t, c.Close()) })
	require.Contains(t, out.String(), "Admin token: ADMIN_TOKEN")
	require.NotContains(t, out.String(), token)
	base := strings.TrimSuffix(c.URL(), "/signin")
	var dl struct {
		DeadLetters []any `json:"dead_letters"`
	}
	require.Equal(t, http.StatusOK, consoleGet(t, base, token, "/api/deadletters", &dl))
	var ev struct {
		EventType string `json:"event_type"`
	}
	require.Equal(t, http.StatusOK, consoleGet(t, base, token, "/api/events/"+testkit.FixtureID, &ev))
	require.Equal(t, "widget_new_conversation", ev.EventType)
}

// An admin-token file that cannot be read leaves the standalone ingest's webhook serving: the
// console alone refuses to start, and the log (at ERROR) and the banner say so and how to fix it.
// cmd/console, which is nothing but the console, refuses to start with the same reason.
func TestUnreadableTokenFileLeavesTheWebhookServing(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// A directory where the file should be: unreadable as a file even for root (tests may run as root).
	require.NoError(t, os.Mkdir(filepath.Join(dir, console.TokenFile), 0o700))
	tb := startIngest(t, dir, nil, "-console-addr", "127.0.0.1:0")
	require.Empty(t, tb.ingest.ConsoleURL(), "no console")
	a := tb.post(t, testkit.Fixture(t))
	require.Equal(t, "accepted", a.Status)
	awaitEvents(t, tb.openStore(t), 1)

	var logged bool
	for line := range strings.SplitSeq(tb.stderr.String(), "\n") {
		if strings.Contains(line, `"level":"ERROR"`) && strings.Contains(line, "console not started") {
			logged = true
			require.Contains(t, line, console.TokenFile)
			require.Contains(t, line, "ADMIN_TOKEN", "the log says how to fix it")
		}
	}
	require.True(t, logged, "the log says the console did not start:\n%s", tb.stderr.String())
	require.Contains(t, tb.stdout.String(), "Console NOT started")

	c := consoleapp.New()
	c.Env, c.Stdout, c.Stderr = envOf(nil), io.Discard, io.Discard
	require.NoError(t, c.ParseFlags([]string{"-addr", "127.0.0.1:0", "-nats-url", tb.ingest.EmbeddedNATSURL(),
		"-db", filepath.Join(dir, "leads.db"), "-data-dir", dir}))
	err := c.Run(context.Background())
	require.ErrorIs(t, err, console.ErrTokenFile)
	require.ErrorContains(t, err, "set ADMIN_TOKEN")
	require.NoError(t, c.Close())
}
