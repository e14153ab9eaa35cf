package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline"
	"github.com/saleassist-pipeline/pipeline/internal/testkit"
	"github.com/saleassist-pipeline/pipeline/pkg/store"
	"github.com/saleassist-pipeline/pipeline/pkg/store/migration"
	"github.com/saleassist-pipeline/pipeline/pkg/store/storetest"
)

// open opens url, closed when the test ends.
func open(t testing.TB, url string) *DB {
	t.Helper()
	db, err := Open(context.Background(), url)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, db.Close()) })
	return db
}

// setup opens a fresh database (testkit.FreshPostgres), dropped when the test ends.
func setup(t testing.TB) (*DB, string) {
	t.Helper()
	url := testkit.FreshPostgres(t)
	return open(t, url), url
}

func TestStore(t *testing.T) {
	t.Parallel()
	testkit.PostgresURL(t) // skip (or fail) once, not in every subtest
	storetest.Run(t, func(t *testing.T) store.Store {
		db, _ := setup(t)
		return db
	})
}

func TestStoreShared(t *testing.T) {
	t.Parallel()
	testkit.PostgresURL(t)
	storetest.RunShared(t, func(t *testing.T) func() store.Store {
		url := testkit.FreshPostgres(t)
		return func() store.Store { return open(t, url) }
	})
}

// rec is storetest.SimpleRecord, short for this file's many uses.
func rec(id, email string) pipeline.Record { return storetest.SimpleRecord(id, email) }

// TestConcurrentOpenMigratesOnce starts ten "workers" on a new database at once: the migration
// lock lets one migrate while the others wait, and none fails.
func TestConcurrentOpenMigratesOnce(t *testing.T) {
	t.Parallel()
	url := testkit.FreshPostgres(t)
	const openers = 10
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make([]error, openers)
	for i := range errs {
		wg.Go(func() {
			<-start
			db, err := Open(t.Context(), url)
			if err == nil {
				_, err = db.Apply(t.Context(), []pipeline.Record{rec(fmt.Sprintf("ev-%d", i), "")})
				err = errors.Join(err, db.Close())
			}
			errs[i] = err
		})
	}
	close(start)
	wg.Wait()
	require.NoError(t, errors.Join(errs...))

	db := open(t, url)
	ms, err := migration.Load(migrations)
	require.NoError(t, err)
	var n, maxV int
	require.NoError(t, db.pool.QueryRow(t.Context(), `SELECT count(*), max(version) FROM schema_migrations`).Scan(&n, &maxV))
	require.Equal(t, len(ms), n)
	require.Equal(t, ms[len(ms)-1].Version, maxV)
	c, err := db.Counts(t.Context(), "")
	require.NoError(t, err)
	require.Equal(t, int64(openers), c.Events)
}

// The payload is kept byte for byte, as received: white space, key order, duplicate keys, and
// bytes that are not UTF-8, all of which jsonb (or text) would change or refuse.
func TestPayloadExactBytes(t *testing.T) {
	t.Parallel()
	db, _ := setup(t)
	payloads := [][]byte{
		[]byte("{ \"b\":1,  \"a\":2, \"a\":3,\n\"n\":1.0e0 }"),
		[]byte(`{"s":"` + "\xff\xfe" + `"}`),
		[]byte(`{"nul":"\u0000"}`),
	}
	for i, p := range payloads {
		r := rec(fmt.Sprintf("ev-%d", i), "")
		r.Payload = p
		res, err := db.Apply(t.Context(), []pipeline.Record{r})
		require.NoError(t, err)
		require.NoError(t, res[0].Err)
		ev, err := db.Event(t.Context(), "", r.EventID)
		require.NoError(t, err)
		require.Equal(t, p, ev.Payload)
	}
}

func BenchmarkApply(b *testing.B) {
	db, _ := setup(b)
	storetest.BenchApply(b, db, 100)
}

func BenchmarkApplySingle(b *testing.B) {
	db, _ := setup(b)
	storetest.BenchApply(b, db, 1)
}
