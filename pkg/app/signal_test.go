package app_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"
	"github.com/stretchr/testify/require"
)

// SIGTERM drains: a worker stuck in a batch (the database is locked by someone else) keeps
// draining after the first SIGTERM, and a second SIGTERM makes it exit at once.
func TestSecondSIGTERMExitsAtOnce(t *testing.T) {
	t.Parallel()
	bin := workerBinary(t)
	dir := t.TempDir()
	tb := startIngest(t, dir, nil, "-worker=false")
	db := filepath.Join(dir, "leads.db")
	w := startWorkerProc(context.Background(), t, "worker", bin,
		"-nats-url", tb.ingest.EmbeddedNATSURL(), "-db", db, "-addr", "127.0.0.1:0")

	locker, err := sql.Open("sqlite3", "file:"+db+"?_busy_timeout=1000")
	require.NoError(t, err)
	t.Cleanup(func() { _ = locker.Close() })
	conn, err := locker.Conn(context.Background())
	require.NoError(t, err)
	_, err = conn.ExecContext(context.Background(), "BEGIN IMMEDIATE")
	require.NoError(t, err)
	t.Cleanup(func() { _, _ = conn.ExecContext(context.Background(), "ROLLBACK"); _ = conn.Close() })

	for i := range 5 {
		tb.post(t, variant(t, fmt.Sprintf("sig-%d", i), fmt.Sprintf("sig%d@example.com", i), ""))
	}
	// The worker is inside its first batch: the batch started, its transaction (waiting up to the
	// store's busy timeout for the lock) has not returned.
	require.Eventually(t, func() bool {
		m := scrape(t, w.url())
		return metricValue(t, m, "saleassist_worker_batch_size_count") >= 1 &&
			metricValue(t, m, "saleassist_worker_store_duration_seconds_count") == 0
	}, 10*time.Second, 5*time.Millisecond)

	require.NoError(t, w.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-w.done:
		t.Fatalf("exited before its batch was done: %v\n%s", w.waitErr, w.stderr)
	case <-time.After(500 * time.Millisecond):
	}
	second := time.Now()
	require.NoError(t, w.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-w.done:
	case <-time.After(2 * time.Second):
		t.Fatalf("still running 2s after the second SIGTERM\n%s", w.stderr)
	}
	var exit *exec.ExitError
	require.True(t, errors.As(w.waitErr, &exit), "%v", w.waitErr)
	require.Equal(t, 130, exit.ExitCode())
	require.Contains(t, w.stderr.String(), "second signal")
	t.Logf("exited %s after the second SIGTERM", time.Since(second).Round(time.Millisecond))
}
