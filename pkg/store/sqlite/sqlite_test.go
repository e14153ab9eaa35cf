package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline"
	"github.com/saleassist-pipeline/pipeline/pkg/store"
	"github.com/saleassist-pipeline/pipeline/pkg/store/migration"
	"github.com/saleassist-pipeline/pipeline/pkg/store/storetest"
)

// setup opens a fresh database in a temporary directory, closed when the test ends.
func setup(t testing.TB) (*DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "data", "leads.db")
	db, err := Open(context.Background(), path)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, db.Close()) })
	return db, path
}

func TestStore(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) store.Store {
		db, _ := setup(t)
		return db
	})
}

func TestStoreShared(t *testing.T) {
	t.Parallel()
	storetest.RunShared(t, func(t *testing.T) func() store.Store {
		path := filepath.Join(t.TempDir(), "leads.db")
		return func() store.Store {
			db, err := Open(t.Context(), path)
			require.NoError(t, err)
			t.Cleanup(func() { require.NoError(t, db.Close()) })
			return db
		}
	})
}

// rec is storetest.SimpleRecord, short for this file's many uses.
func rec(id, email string) pipeline.Record { return storetest.SimpleRecord(id, email) }

func TestReopenKeepsDataAndMigratesOnce(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "leads.db")
	db, err := Open(t.Context(), path)
	require.NoError(t, err)
	res, err := db.Apply(t.Context(), []pipeline.Record{rec("ev-1", "a@example.com")})
	require.NoError(t, err)
	require.NoError(t, db.Close())

	for range 2 {
		db, err = Open(t.Context(), path)
		require.NoError(t, err)
		l, err := db.Lead(t.Context(), "", res[0].LeadID)
		require.NoError(t, err)
		require.Equal(t, "a@example.com", l.Email)
		ms, err := migration.Load(migrations)
		require.NoError(t, err)
		var n, maxV int
		require.NoError(t, db.read.QueryRowContext(t.Context(),
			`SELECT count(*), max(version) FROM schema_migrations`).Scan(&n, &maxV))
		require.Equal(t, len(ms), n)
		require.Equal(t, ms[len(ms)-1].Version, maxV)
		require.NoError(t, db.Close())
	}
}

// TestConcurrentOpenOfNewFile opens a new file from several handles at once, as worker
// processes starting together do: they race to switch it to WAL mode, and PRAGMA journal_mode
// reports SQLITE_BUSY to the losers without waiting for busy_timeout, so Open must retry.
func TestConcurrentOpenOfNewFile(t *testing.T) {
	t.Parallel()
	const openers = 8
	for round := range 5 { // a new file each round: only the first switch to WAL races
		path := filepath.Join(t.TempDir(), "leads.db")
		var wg sync.WaitGroup
		start := make(chan struct{}) // release the openers together, to make them collide
		errs := make([]error, openers)
		for i := range errs {
			wg.Go(func() {
				<-start
				db, err := Open(t.Context(), path)
				if err == nil {
					_, err = db.Apply(t.Context(), []pipeline.Record{rec(fmt.Sprintf("ev-%d", i), "")})
					err = errors.Join(err, db.Close())
				}
				errs[i] = err
			})
		}
		close(start)
		wg.Wait()
		require.NoError(t, errors.Join(errs...), "round %d", round)

		db, err := Open(t.Context(), path)
		require.NoError(t, err)
		c, err := db.Counts(t.Context(), "")
		require.NoError(t, err)
		require.Equal(t, int64(openers), c.Events, "round %d", round)
		var mode string
		require.NoError(t, db.write.QueryRowContext(t.Context(), `PRAGMA journal_mode`).Scan(&mode))
		require.Equal(t, "wal", mode)
		require.NoError(t, db.Close())
	}
}

// TestOpenWaitsForLockOnNewFile is the race of TestConcurrentOpenOfNewFile made deterministic:
// another process writes to a file that is not in WAL mode yet, so switching it fails at once
// with SQLITE_BUSY. Open must wait for the lock as a write would, but no longer than
// busy_timeout or the context allows.
func TestOpenWaitsForLockOnNewFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "leads.db")
	raw, err := sql.Open("sqlite3", path) // rollback journal, like any new file
	require.NoError(t, err)
	t.Cleanup(func() { raw.Close() })
	conn, err := raw.Conn(t.Context())
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	_, err = conn.ExecContext(t.Context(), `BEGIN IMMEDIATE`)
	require.NoError(t, err)

	// Held past busy_timeout: Open gives up, after waiting, with a transient error.
	const timeout = 100 * time.Millisecond
	start := time.Now()
	_, err = open(t.Context(), path, config{busyTimeout: timeout})
	require.Error(t, err)
	require.True(t, IsTransient(err), "%v", err)
	require.GreaterOrEqual(t, time.Since(start), timeout)

	// The context ends first.
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	_, err = Open(ctx, path)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.True(t, IsTransient(err), "%v", err)

	// Released within busy_timeout: Open waits for it and switches the file to WAL.
	released := make(chan error, 1)
	time.AfterFunc(timeout, func() {
		_, err := conn.ExecContext(context.Background(), `ROLLBACK`)
		released <- err
	})
	db, err := Open(t.Context(), path)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, db.Close()) })
	require.NoError(t, <-released)
	var mode string
	require.NoError(t, db.read.QueryRowContext(t.Context(), `PRAGMA journal_mode`).Scan(&mode))
	require.Equal(t, "wal", mode)
	_, err = db.Apply(t.Context(), []pipeline.Record{rec("ev-1", "")})
	require.NoError(t, err)
}

func TestFileModes(t *testing.T) {
	t.Parallel()
	db, path := setup(t)
	_, err := db.Apply(t.Context(), []pipeline.Record{rec("ev-1", "a@example.com")})
	require.NoError(t, err)
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), p)
	}
	fi, err := os.Stat(filepath.Dir(path))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o700), fi.Mode().Perm())
}

func TestPragmas(t *testing.T) {
	t.Parallel()
	db, _ := setup(t)
	for _, pool := range []*sql.DB{db.write, db.read} {
		var mode string
		var sync, fk, timeout int
		require.NoError(t, pool.QueryRowContext(t.Context(), `PRAGMA journal_mode`).Scan(&mode))
		require.NoError(t, pool.QueryRowContext(t.Context(), `PRAGMA synchronous`).Scan(&sync))
		require.NoError(t, pool.QueryRowContext(t.Context(), `PRAGMA foreign_keys`).Scan(&fk))
		require.NoError(t, pool.QueryRowContext(t.Context(), `PRAGMA busy_timeout`).Scan(&timeout))
		require.Equal(t, "wal", mode)
		require.Equal(t, 2, sync) // FULL, DefaultSynchronous
		require.Equal(t, 1, fk)
		require.Equal(t, int(DefaultBusyTimeout.Milliseconds()), timeout)
	}
	_, err := db.read.ExecContext(t.Context(), `DELETE FROM leads`)
	require.Error(t, err, "the read pool is query-only")
}

// TestTwoHandlesExactlyOnce simulates two worker processes sharing the file: separate *DB
// values have separate connections, so only SQLite's file locks order their writes.
func TestTwoHandlesExactlyOnce(t *testing.T) {
	t.Parallel()
	a, path := setup(t)
	b, err := Open(t.Context(), path)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, b.Close()) })

	const events = 200
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		seen = map[string]int{}
		errs []error
	)
	for w, db := range []*DB{a, b, a, b} {
		wg.Go(func() {
			for i := 0; i < events; i += 10 {
				var batch []pipeline.Record
				for j := i; j < i+10; j++ {
					n := (j + w*50) % events
					batch = append(batch, rec(fmt.Sprintf("ev-%d", n), fmt.Sprintf("l%d@example.com", n%17)))
				}
				res, err := db.Apply(t.Context(), batch)
				mu.Lock()
				errs = append(errs, err)
				for k, r := range res {
					errs = append(errs, r.Err)
					if r.Outcome == pipeline.Stored && r.Err == nil {
						seen[batch[k].EventID]++
					}
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	require.NoError(t, errors.Join(errs...))
	require.Len(t, seen, events)
	for id, n := range seen {
		require.Equal(t, 1, n, id)
	}
	c, err := b.Counts(t.Context(), "")
	require.NoError(t, err)
	require.Equal(t, store.Counts{Leads: 17, Events: events}, c)
}

func TestIsTransient(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "leads.db")
	db, err := open(t.Context(), path, config{busyTimeout: 50 * time.Millisecond})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, db.Close()) })

	// Another "process" holds the write lock.
	raw, err := sql.Open("sqlite3", path)
	require.NoError(t, err)
	t.Cleanup(func() { raw.Close() })
	conn, err := raw.Conn(t.Context())
	require.NoError(t, err)
	_, err = conn.ExecContext(t.Context(), `BEGIN IMMEDIATE`)
	require.NoError(t, err)

	res, err := db.Apply(t.Context(), []pipeline.Record{rec("ev-1", "a@example.com")})
	require.Error(t, err)
	require.Nil(t, res)
	require.True(t, IsTransient(err), "%v", err)

	// Once the lock is released, the same batch goes through.
	_, err = conn.ExecContext(t.Context(), `ROLLBACK`)
	require.NoError(t, err)
	require.NoError(t, conn.Close())
	_, err = db.Apply(t.Context(), []pipeline.Record{rec("ev-1", "a@example.com")})
	require.NoError(t, err)

	ctx, cancel := context.WithTimeout(t.Context(), time.Nanosecond)
	defer cancel()
	<-ctx.Done()
	_, err = db.Apply(ctx, []pipeline.Record{rec("ev-2", "b@example.com")})
	require.True(t, IsTransient(err), "%v", err)

	require.False(t, IsTransient(nil))
	require.False(t, IsTransient(errors.New("boom")))
	res, err = db.Apply(t.Context(), []pipeline.Record{rec("", "c@example.com")})
	require.NoError(t, err)
	require.False(t, IsTransient(res[0].Err), "a CHECK violation is permanent: %v", res[0].Err)
}

// TestMeetingColumns checks what users see with sqlite3: a later event about the same meeting
// overwrites what it sends and keeps the rest.
func TestMeetingColumns(t *testing.T) {
	t.Parallel()
	db, _ := setup(t)
	first := rec("ev-1", "a@example.com")
	first.Meeting = &pipeline.Meeting{ID: "m-1", Name: "Demo", Status: "scheduled",
		ScheduledAt: time.Date(2024, 5, 2, 9, 30, 0, 0, time.UTC), Participants: []string{"+911", "+912"},
		Timezone: "Asia/Kolkata", DurationMin: 30}
	second := rec("ev-2", "a@example.com")
	second.Meeting = &pipeline.Meeting{ID: "m-1", Status: "completed"}
	res, err := db.Apply(t.Context(), []pipeline.Record{first, second})
	require.NoError(t, err)

	var leadID int64
	var eventID, name, scheduled, status, participants, tz string
	var dur int
	require.NoError(t, db.read.QueryRowContext(t.Context(), `SELECT lead_id, event_id, name,
		scheduled_at, status, participants, timezone, duration_min FROM meetings WHERE id = 'm-1'`).
		Scan(&leadID, &eventID, &name, &scheduled, &status, &participants, &tz, &dur))
	require.Equal(t, res[0].LeadID, leadID)
	require.Equal(t, "ev-2", eventID)
	require.Equal(t, "Demo", name)
	require.Equal(t, "2024-05-02T09:30:00.000000000Z", scheduled)
	require.Equal(t, "completed", status)
	require.JSONEq(t, `["+911","+912"]`, participants)
	require.Equal(t, "Asia/Kolkata", tz)
	require.Equal(t, 30, dur)
}

func BenchmarkApply(b *testing.B) {
	db, _ := setup(b)
	storetest.BenchApply(b, db, 100)
}

func BenchmarkApplySingle(b *testing.B) {
	db, _ := setup(b)
	storetest.BenchApply(b, db, 1)
}
