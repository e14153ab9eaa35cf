package app_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	ingestctl "github.com/saleassist-pipeline/pipeline/cmd/ingestctl/ctl"
	"github.com/saleassist-pipeline/pipeline/internal/testkit"
	"github.com/saleassist-pipeline/pipeline/pkg/app/workerapp"
	"github.com/saleassist-pipeline/pipeline/pkg/store/sqlite"
)

// While its store is unavailable (SQLite locked by another writer beyond busy_timeout) the
// worker pauses, and its /readyz says so: 503, Retry-After, since when and why. Once the lock is
// gone it resumes on its own, /readyz answers 200 and the events are stored.
func TestWorkerReadyzWhilePaused(t *testing.T) {
	t.Parallel()
	url := testkit.StartJetStream(t, testkit.WithListen("127.0.0.1:0")).Server.ClientURL()
	tb := startIngest(t, t.TempDir(), nil, "-nats-url", url)

	db := filepath.Join(t.TempDir(), "leads.db")
	w := workerapp.New()
	w.Env, w.Stderr = envOf(map[string]string{"NATS_URL": url, "DATABASE_URL": "sqlite:" + db}), &testkit.SyncBuffer{}
	require.NoError(t, w.ParseFlags([]string{"-addr", "127.0.0.1:0"}))
	require.NoError(t, w.Run(context.Background()))
	t.Cleanup(func() { require.NoError(t, w.Close()) })
	readyz := func() (int, http.Header, string) {
		resp, err := http.Get("http://" + w.Addr() + "/readyz")
		require.NoError(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, resp.Header, string(body)
	}
	code, _, _ := readyz()
	require.Equal(t, http.StatusOK, code)

	locker, err := sql.Open("sqlite3", "file:"+db+"?_busy_timeout=1000")
	require.NoError(t, err)
	t.Cleanup(func() { _ = locker.Close() })
	conn, err := locker.Conn(context.Background())
	require.NoError(t, err)
	_, err = conn.ExecContext(context.Background(), "BEGIN IMMEDIATE")
	require.NoError(t, err)
	for i := range 5 {
		tb.post(t, variant(t, fmt.Sprintf("paused-%d", i), fmt.Sprintf("p%d@example.com", i), ""))
	}

	var (
		header http.Header
		body   string
	)
	require.Eventually(t, func() bool {
		code, header, body = readyz()
		return code == http.StatusServiceUnavailable
	}, sqlite.DefaultBusyTimeout+10*time.Second, 50*time.Millisecond)
	require.NotEmpty(t, header.Get("Retry-After"))
	var e struct{ Error, Message string }
	require.NoError(t, json.Unmarshal([]byte(body), &e), body)
	require.Equal(t, "unavailable", e.Error)
	require.Contains(t, e.Message, "paused since ")
	require.Contains(t, e.Message, "the store is unavailable (busy)")

	// ingestctl status says so too (issue 21, item 3): it reaches NATS, where the worker reports.
	ctl := func() string {
		var out, errOut bytes.Buffer
		c := &ingestctl.CLI{Env: func(string) (string, bool) { return "", false }, Stdout: &out, Stderr: &errOut}
		require.Equal(t, 0, c.Run(context.Background(), []string{"-nats-url", url, "status"}), errOut.String())
		return out.String()
	}
	var out string
	require.Eventually(t, func() bool { out = ctl(); return strings.Contains(out, "1 worker reporting: 0 consuming, 1 paused") },
		10*time.Second, 50*time.Millisecond, "ingestctl status: %s", out)
	require.Regexp(t, `paused since 20\d\d-\d\d-\d\dT[0-9:]+Z \(\d+s ago\), the store is unavailable \(busy\)`, out)

	_, err = conn.ExecContext(context.Background(), "ROLLBACK")
	require.NoError(t, err)
	require.NoError(t, conn.Close())
	require.Eventually(t, func() bool { code, _, _ := readyz(); return code == http.StatusOK }, 30*time.Second, 50*time.Millisecond)
	st, err := sqlite.Open(context.Background(), db)
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	awaitEvents(t, st, 5)
	require.Eventually(t, func() bool { out = ctl(); return strings.Contains(out, "1 worker reporting: 1 consuming, 0 paused") },
		10*time.Second, 50*time.Millisecond, "ingestctl status after the pause: %s", out)
}
