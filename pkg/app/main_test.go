package app_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/internal/testkit"
	"github.com/saleassist-pipeline/pipeline/pkg/app/ingestapp"
	"github.com/saleassist-pipeline/pipeline/pkg/queue"
)

// The real program on :0 with no secret configured: it generates one, keeps it 0600 in the data
// dir, prints it with the URL and header for SaleAssist — and never logs it.
func TestFirstStartGeneratesAndPrintsSecret(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	tb := startIngest(t, dir, map[string]string{})

	raw, err := os.ReadFile(filepath.Join(dir, "webhook-secret"))
	require.NoError(t, err)
	secret := strings.TrimSpace(string(raw))
	require.GreaterOrEqual(t, len(secret), 32)
	fi, err := os.Stat(filepath.Join(dir, "webhook-secret"))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

	banner := tb.stdout.String()
	require.Contains(t, banner, "X-Webhook-Secret = "+secret)
	require.Contains(t, banner, "/webhooks/saleassist")

	code, _ := post(t, tb.url, secret, testkit.Fixture(t))
	require.Equal(t, http.StatusAccepted, code)
	awaitEvents(t, tb.openStore(t), 1)

	// A restart reuses the secret and does not print it again.
	tb.closeNow()
	require.NotContains(t, tb.stderr.String(), secret, "secret in the log")
	tb2 := startIngest(t, dir, map[string]string{})
	require.NotContains(t, tb2.stdout.String(), secret)
	require.Contains(t, tb2.stdout.String(), "webhook-secret")
	code, _ = post(t, tb2.url, secret, testkit.Fixture(t))
	require.Equal(t, http.StatusAccepted, code)

	logs := tb.stderr.String() + tb2.stderr.String()
	require.NotContains(t, logs, secret)
	require.NotContains(t, logs, "prakashm@athenabpo.in", "lead data in the log")
}

// Health, readiness and metrics of both programs; a worker process exposes its own metrics.
func TestProgramsServeHealthReadinessAndMetrics(t *testing.T) {
	t.Parallel()
	tb := setup(t)
	w := startWorker(t, tb)
	for _, base := range []string{tb.url, "http://" + w.Addr()} {
		for _, path := range []string{"/healthz", "/readyz"} {
			resp, err := http.Get(base + path)
			require.NoError(t, err)
			body := readAll(t, resp)
			resp.Body.Close()
			require.Equal(t, http.StatusOK, resp.StatusCode, "%s%s: %s", base, path, body)
		}
	}
	ingestMetrics := scrape(t, tb.url)
	for _, name := range []string{
		"saleassist_ingest_requests_total", "saleassist_ingest_request_duration_seconds",
		"saleassist_ingest_publish_duration_seconds", "saleassist_ingest_duplicates_total",
		"saleassist_worker_events_total", "saleassist_worker_consumer_lag",
	} {
		require.Contains(t, ingestMetrics, "# TYPE "+name+" ", "standalone ingest exposes %s", name)
	}
	workerMetrics := scrape(t, "http://"+w.Addr())
	for _, name := range []string{
		"saleassist_worker_events_total", "saleassist_worker_handle_duration_seconds",
		"saleassist_worker_consumer_lag", "saleassist_worker_consumer_pending", "saleassist_worker_consumer_ack_pending",
	} {
		require.Contains(t, workerMetrics, "# TYPE "+name+" ", "worker exposes %s", name)
	}
	require.NotContains(t, workerMetrics, "saleassist_ingest_")
}

// Configuration errors are refused with a message that says what to fix.
func TestBadConfigurationIsRefused(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		env  map[string]string
		args []string
		want string
	}{
		"short secret":        {env: map[string]string{"WEBHOOK_SECRETS": "short"}, want: "at least 16"},
		"placeholder secret":  {env: map[string]string{"WEBHOOK_SECRETS": "change-me-openssl-rand-base64-32"}, want: "placeholder of .env.example"},
		"placeholder token":   {env: map[string]string{"ADMIN_TOKEN": "change-me-console-openssl-rand-base64-32"}, args: []string{"-console-addr", "127.0.0.1:0"}, want: "ADMIN_TOKEN is the placeholder of .env.example"},
		"bad bool env":        {env: map[string]string{"INGEST_WORKER": "maybe"}, want: "INGEST_WORKER"},
		"bad size env":        {env: map[string]string{"MAX_BODY_BYTES": "1MB"}, want: "MAX_BODY_BYTES"},
		"bad sync":            {args: []string{"-jetstream-sync", "sometimes"}, want: "JETSTREAM_SYNC_INTERVAL"},
		"bad region":          {args: []string{"-default-region", "XX"}, want: "XX"},
		"bad sqlite sync env": {env: map[string]string{"SQLITE_SYNCHRONOUS": "OFF"}, want: `SQLITE_SYNCHRONOUS="OFF": want NORMAL or FULL`},
		"bad sqlite sync":     {args: []string{"-sqlite-synchronous", "extra"}, want: `SQLITE_SYNCHRONOUS="extra"`},
		"bad clock skew env":  {env: map[string]string{"MAX_CLOCK_SKEW": "a day"}, want: `MAX_CLOCK_SKEW="a day": want a duration`},
		"negative clock skew": {args: []string{"-max-clock-skew", "-1h"}, want: `MAX_CLOCK_SKEW=-1h0m0s: want 0 or more`},
		"bad nats addr":       {args: []string{"-embedded-nats-addr", "nonsense"}, want: "host:port"},
		// A NATS that is down is waited for (TestIngestWaitsForNATS); a URL that cannot be one is refused.
		"malformed url": {args: []string{"-nats-url", "nats://127.0.0.1:notaport"}, want: `connect to NATS at nats://127.0.0.1:notaport: parse "nats://127.0.0.1:notaport": invalid port`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			m := ingestapp.New()
			env := map[string]string{"WEBHOOK_SECRETS": testSecret}
			for k, v := range tc.env {
				env[k] = v
			}
			m.Env, m.Stdout, m.Stderr = envOf(env), &testkit.SyncBuffer{}, &testkit.SyncBuffer{}
			args := append([]string{"-addr", "127.0.0.1:0", "-data-dir", t.TempDir(), "-embedded-nats-addr", "", "-console-addr", ""}, tc.args...)
			err := m.ParseFlags(args)
			if err == nil {
				err = m.Run(context.Background())
				require.NoError(t, m.Close())
			}
			require.Error(t, err)
			require.Regexp(t, regexp.MustCompile(regexp.QuoteMeta(tc.want)), err.Error())
		})
	}
}

// The default body limit (1 MiB) must be postable: standalone sizes the embedded server's
// max_payload to MAX_BODY_BYTES plus headers, so a body just under the limit is stored, not a 503.
func TestBodyAtTheLimitIsAccepted(t *testing.T) {
	t.Parallel()
	tb := setup(t)
	body := variant(t, "big-1", "big@example.com", "")
	pad := 1<<20 - len(body) - 64
	body = append(body[:len(body)-1], []byte(`,"padding":"`+strings.Repeat("x", pad)+`"}`)...)
	require.Less(t, len(body), 1<<20)
	require.Greater(t, len(body), 1<<20-1024)
	tb.post(t, body)
	awaitEvents(t, tb.openStore(t), 1)
}

// Against an external NATS whose max_payload (1 MiB by default) cannot carry a body at the limit,
// the ingest lowers its limit and says so: a too-large event gets a 413 that says what to do,
// instead of a 503 that SaleAssist would retry forever.
func TestBodyLimitIsLoweredToMaxPayload(t *testing.T) {
	t.Parallel()
	srv := testkit.StartJetStream(t, testkit.WithListen("127.0.0.1:0")).Server
	tb := startIngest(t, t.TempDir(), nil, "-nats-url", srv.ClientURL())
	require.Contains(t, tb.stderr.String(), "MAX_BODY_BYTES lowered")

	body := variant(t, "big-2", "big2@example.com", "")
	body = append(body[:len(body)-1], []byte(`,"padding":"`+strings.Repeat("x", 1<<20-len(body)-64)+`"}`)...)
	code, a := post(t, tb.url, testSecret, body)
	require.Equal(t, http.StatusRequestEntityTooLarge, code)
	require.Equal(t, "too_large", a.Error)
	tb.post(t, variant(t, "small-2", "small2@example.com", ""))
}

// Profiling is off unless asked for, never on the webhook port, and on its own address when
// PPROF_ADDR is set.
func TestPprofOnlyBehindItsFlag(t *testing.T) {
	t.Parallel()
	tb := setup(t)
	resp, err := http.Get(tb.url + "/debug/pprof/")
	require.NoError(t, err)
	_ = resp.Body.Close()
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	require.NotContains(t, tb.stderr.String(), "pprof")

	on := setup(t, "-pprof-addr", "127.0.0.1:0")
	var addr string
	require.Eventually(t, func() bool {
		m := regexp.MustCompile(`"msg":"pprof endpoints on","program":"ingest","addr":"([^"]+)"`).FindStringSubmatch(on.stderr.String())
		if m != nil {
			addr = m[1]
		}
		return addr != ""
	}, 5*time.Second, 10*time.Millisecond, on.stderr.String())
	resp, err = http.Get("http://" + addr + "/debug/pprof/cmdline")
	require.NoError(t, err)
	_ = resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
}

// STREAM_DUPLICATE_WINDOW sets the events stream's duplicate window (its memory grows with
// rate × window); too short a window is refused.
func TestDuplicateWindowIsConfigurable(t *testing.T) {
	t.Parallel()
	tb := setup(t, "-duplicate-window", "30s")
	s, err := tb.js(t).Stream(context.Background(), queue.DefaultStream)
	require.NoError(t, err)
	require.Equal(t, 30*time.Second, s.CachedInfo().Config.Duplicates)

	m := ingestapp.New()
	m.Env, m.Stdout, m.Stderr = envOf(map[string]string{"WEBHOOK_SECRETS": testSecret, "STREAM_DUPLICATE_WINDOW": "10ms"}), &testkit.SyncBuffer{}, &testkit.SyncBuffer{}
	require.NoError(t, m.ParseFlags([]string{"-addr", "127.0.0.1:0", "-data-dir", t.TempDir(), "-embedded-nats-addr", "", "-console-addr", ""}))
	err = m.Run(context.Background())
	require.NoError(t, m.Close())
	require.ErrorContains(t, err, "STREAM_DUPLICATE_WINDOW")
}
