package worker_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"
	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/internal/testkit"
	"github.com/saleassist-pipeline/pipeline/pkg/store"
	"github.com/saleassist-pipeline/pipeline/pkg/store/sqlite"
	"github.com/saleassist-pipeline/pipeline/pkg/worker"
)

// Another connection holds SQLite's write lock for longer than the store waits (busy_timeout):
// the store is unavailable (busy), so the worker pauses, probes it, and once the lock is gone
// resumes on its own: every event is stored exactly once, none retried as failed, none
// dead-lettered.
func TestTransientDatabaseLockIsRetried(t *testing.T) {
	t.Parallel()
	b := setup(t)

	locker, err := sql.Open("sqlite3", "file:"+b.dbPath+"?_busy_timeout=1000")
	require.NoError(t, err)
	t.Cleanup(func() { _ = locker.Close() })
	conn, err := locker.Conn(context.Background())
	require.NoError(t, err)
	_, err = conn.ExecContext(context.Background(), "BEGIN IMMEDIATE")
	require.NoError(t, err)
	locked := time.Now()

	b.start(t)
	b.publishMany(t, "locked", 20)
	// Held past the store's busy timeout, so the worker pauses.
	require.Eventually(t, func() bool {
		return testkit.RequireMetric(t, b.reg, "saleassist_worker_paused", map[string]string{"reason": store.ReasonBusy}) == 1
	}, sqlite.DefaultBusyTimeout+5*time.Second, 20*time.Millisecond)
	p, ok := b.worker.Paused()
	require.True(t, ok)
	require.Equal(t, store.ReasonBusy, p.Reason)
	require.Zero(t, b.storedEvents(t))
	_, err = conn.ExecContext(context.Background(), "ROLLBACK")
	require.NoError(t, err)
	require.NoError(t, conn.Close())
	t.Logf("lock held %s", time.Since(locked).Round(time.Millisecond))

	require.Eventually(t, func() bool { return b.storedEvents(t) == 20 }, 30*time.Second, 20*time.Millisecond)
	b.requireSettled(t)
	require.Equal(t, float64(20), b.events(t, wnc, worker.OutcomeStored))
	require.Zero(t, b.events(t, wnc, worker.OutcomeFailed))
	require.Zero(t, b.events(t, wnc, worker.OutcomeDeadLettered))
	require.Empty(t, b.deadLetters(t))
	_, ok = b.worker.Paused()
	require.False(t, ok)
}
