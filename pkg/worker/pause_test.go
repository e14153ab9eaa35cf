package worker_test

import (
	"context"
	"errors"
	"log/slog"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline"
	"github.com/saleassist-pipeline/pipeline/internal/testkit"
	"github.com/saleassist-pipeline/pipeline/pkg/account"
	"github.com/saleassist-pipeline/pipeline/pkg/store"
	"github.com/saleassist-pipeline/pipeline/pkg/store/postgres"
	"github.com/saleassist-pipeline/pipeline/pkg/store/sqlite"
	"github.com/saleassist-pipeline/pipeline/pkg/worker"
)

// outage is a store that is unreachable while down is set: Apply and Ping fail as PostgreSQL's
// would with the server gone (store.Unavailable); otherwise the SQLite store underneath works.
type outage struct {
	store.Store
	down    atomic.Bool
	applies atomic.Int64 // Apply calls while down
	pings   atomic.Int64 // Ping calls while down
}

var errRefused = store.Unavailable(store.ReasonUnreachable, errors.New("dial tcp 127.0.0.1:5432: connect: connection refused"))

func (o *outage) Apply(ctx context.Context, recs []pipeline.Record) ([]pipeline.Result, error) {
	if o.down.Load() {
		o.applies.Add(1)
		return nil, errRefused
	}
	return o.Store.Apply(ctx, recs)
}

func (o *outage) Ping(ctx context.Context) error {
	if o.down.Load() {
		o.pings.Add(1)
		return errRefused
	}
	return o.Store.(store.Pinger).Ping(ctx)
}

// withOutage gives the bundle an outage store over SQLite, returned through st.
func withOutage(st **outage) option {
	return withStore(func(t *testing.T) store.Store {
		db, err := sqlite.Open(context.Background(), t.TempDir()+"/leads.db")
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, db.Close()) })
		*st = &outage{Store: db}
		return *st
	})
}

// deliveriesAtMost is how many stored events took at most n deliveries
// (saleassist_worker_event_deliveries).
func deliveriesAtMost(t *testing.T, g prometheus.Gatherer, n float64) uint64 {
	t.Helper()
	mfs, err := g.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != "saleassist_worker_event_deliveries" {
			continue
		}
		for _, b := range mf.GetMetric()[0].GetHistogram().GetBucket() {
			if b.GetUpperBound() == n {
				return b.GetCumulativeCount()
			}
		}
	}
	t.Fatalf("no bucket le=%v in saleassist_worker_event_deliveries", n)
	return 0
}

// The store unreachable for far longer than the retry horizon (MaxDeliver 3: 1 s + 2 s of
// retries): the worker pauses instead of spending deliveries, says so in a few log lines, in its
// metrics and in Paused, probes, and resumes on its own. Every event is then stored, none
// dead-lettered, none delivered more than twice. Before the fix each event was retried until
// MaxDeliver and dead-lettered: the outage lost them all to the dead letters.
func TestStoreOutagePausesTheWorker(t *testing.T) {
	t.Parallel()
	var logs testkit.SyncBuffer
	var st *outage
	b := setup(t, withOutage(&st), withLog(slog.New(slog.NewTextHandler(&logs, nil))),
		withOptions(worker.Options{MaxDeliver: 3, ProbeMax: 50 * time.Millisecond, PauseLogEvery: time.Second}))
	const n = 40
	b.publishMany(t, "before", n)
	st.down.Store(true)
	outageStart := time.Now()
	b.start(t)

	paused := func() float64 {
		return testkit.RequireMetric(t, b.reg, "saleassist_worker_paused", map[string]string{"reason": store.ReasonUnreachable})
	}
	require.Eventually(t, func() bool { return paused() == 1 }, waitFor, tick)
	p, ok := b.worker.Paused()
	require.True(t, ok)
	require.Equal(t, store.ReasonUnreachable, p.Reason)
	require.Contains(t, p.Err, "connection refused")
	b.publishMany(t, "during", n)

	// Held down for ten times the retry horizon, with a probe every 50 ms.
	time.Sleep(3 * time.Second)
	require.Zero(t, b.storedEvents(t))
	require.Empty(t, b.deadLetters(t))
	require.Greater(t, st.pings.Load(), int64(20), "the store is probed")
	require.Less(t, st.applies.Load(), int64(4), "no batch is tried while paused")

	st.down.Store(false)
	lasted := time.Since(outageStart)
	require.Eventually(t, func() bool { return b.storedEvents(t) == 2*n }, waitFor, tick)
	b.requireSettled(t)
	require.Empty(t, b.deadLetters(t))
	_, ok = b.worker.Paused()
	require.False(t, ok)
	require.Zero(t, paused())
	require.Equal(t, float64(2*n), b.events(t, wnc, worker.OutcomeStored))
	require.Zero(t, b.events(t, wnc, worker.OutcomeFailed))
	require.Equal(t, uint64(2*n), deliveriesAtMost(t, b.reg, 2), "no event took more than two deliveries")
	pausedFor := testkit.RequireMetric(t, b.reg, "saleassist_worker_paused_seconds_total", nil)
	require.InDelta(t, lasted.Seconds(), pausedFor, 1.5)

	// One line when it paused, at most one summary a second, one when it resumed: not one per
	// event, batch or probe.
	var pauseLines []string
	for line := range strings.SplitSeq(strings.TrimSpace(logs.String()), "\n") {
		if strings.Contains(line, "store ") {
			pauseLines = append(pauseLines, line)
		}
	}
	t.Logf("%d probes, %d log lines:\n%s", st.pings.Load(), len(pauseLines), strings.Join(pauseLines, "\n"))
	require.Less(t, len(pauseLines), 8)
	require.Contains(t, pauseLines[0], `msg="store unavailable (unreachable), pausing"`)
	require.Contains(t, pauseLines[1], `msg="store unavailable (unreachable), paused (still failing)"`)
	require.Contains(t, pauseLines[len(pauseLines)-1], `msg="store back after`)
	require.Contains(t, pauseLines[len(pauseLines)-1], `resuming"`)
	require.Less(t, strings.Count(logs.String(), "\n"), 12, "the whole log:\n%s", logs.String())
}

// PostgreSQL made read-only (default_transaction_read_only, as a standby or an operator's
// switch would, and every connection ended: 57P01, then 25006 on each write): the worker pauses
// for the reason read_only, its probe sees the server still read-only, and once writes are back
// it resumes; every event is stored, none dead-lettered.
func TestPostgresReadOnlyPausesTheWorker(t *testing.T) {
	t.Parallel()
	testkit.PostgresURL(t)
	var dbURL string
	b := setup(t, withStore(func(t *testing.T) store.Store {
		dbURL = testkit.FreshPostgres(t)
		db, err := postgres.Open(context.Background(), dbURL)
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, db.Close()) })
		return db
	}), withOptions(worker.Options{MaxDeliver: 3, ProbeMax: 100 * time.Millisecond}))
	u, err := url.Parse(dbURL)
	require.NoError(t, err)
	name := strings.TrimPrefix(u.Path, "/")
	admin := func(sql string) {
		conn, err := pgx.Connect(context.Background(), testkit.PostgresURL(t))
		require.NoError(t, err)
		defer conn.Close(context.Background())
		_, err = conn.Exec(context.Background(), sql)
		require.NoError(t, err, sql)
	}
	kick := func() {
		admin(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '` + name + `' AND pid <> pg_backend_pid()`)
	}
	// The test's reads share the store's pool, whose connections kick ends: a failed read is
	// not a count.
	stored := func() int64 {
		c, err := b.store.Counts(context.Background(), account.Default)
		if err != nil {
			return -1
		}
		return c.Events
	}
	b.start(t)
	b.publishMany(t, "before", 5)
	require.Eventually(t, func() bool { return stored() == 5 }, waitFor, tick)

	admin(`ALTER DATABASE "` + name + `" SET default_transaction_read_only = on`)
	kick()
	b.publishMany(t, "during", 20)
	require.Eventually(t, func() bool {
		p, ok := b.worker.Paused()
		return ok && p.Reason == store.ReasonReadOnly
	}, waitFor, tick)
	// Many probes, longer than the retry horizon (MaxDeliver 3: 3 s).
	time.Sleep(4 * time.Second)
	_, ok := b.worker.Paused()
	require.True(t, ok, "still read-only: still paused")
	require.Empty(t, b.deadLetters(t))

	admin(`ALTER DATABASE "` + name + `" RESET default_transaction_read_only`)
	kick()
	require.Eventually(t, func() bool { return stored() == 25 }, waitFor, tick)
	b.requireSettled(t)
	require.Empty(t, b.deadLetters(t))
	require.Equal(t, uint64(25), deliveriesAtMost(t, b.reg, 3))
}

// diskFull is a store whose every write fails for lack of disk while its probe passes (a read
// needs no space): the worker pauses, resumes, fails, pauses again.
type diskFull struct {
	store.Store
	applies atomic.Int64
}

func (d *diskFull) Apply(context.Context, []pipeline.Record) ([]pipeline.Result, error) {
	d.applies.Add(1)
	return nil, store.Unavailable(store.ReasonDiskFull, errors.New("could not extend file: No space left on device (SQLSTATE 53100)"))
}

func (d *diskFull) Ping(context.Context) error { return nil }

// Pauses that follow each other closely keep the probe's longest wait (ProbeMax) instead of
// starting over at half a second, so a store whose probe passes while its writes fail costs a
// batch one delivery per ProbeMax, not one every half second.
func TestRepeatedPausesKeepTheLongestWait(t *testing.T) {
	t.Parallel()
	var st *diskFull
	b := setup(t, withStore(func(t *testing.T) store.Store {
		db, err := sqlite.Open(context.Background(), t.TempDir()+"/leads.db")
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, db.Close()) })
		st = &diskFull{Store: db}
		return st
	}), withOptions(worker.Options{ProbeMax: 4 * time.Second}))
	b.publishMany(t, "full", 5)
	b.start(t)
	require.Eventually(t, func() bool { return st.applies.Load() > 0 }, waitFor, tick)
	start := time.Now()
	time.Sleep(9 * time.Second)
	// Waits of 1 s, 2 s, 4 s: about 4 rounds in 9 s (measured: 4); starting over at 0.5 s each
	// time, a round is about a second (the handed-back batch waits 1 s): measured 8.
	require.LessOrEqual(t, st.applies.Load()-1, int64(5), "rounds in %s", time.Since(start))
	require.Empty(t, b.deadLetters(t))
}
