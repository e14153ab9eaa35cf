package postgres

import (
	"context"
	"crypto/rand"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/internal/testkit"
	"github.com/saleassist-pipeline/pipeline/pkg/lead"
	"github.com/saleassist-pipeline/pipeline/pkg/store"
	"github.com/saleassist-pipeline/pipeline/pkg/store/migration"
)

// migrateTo applies the migrations up to and including version on the empty database at url, as
// a store of that version would have left it.
func migrateTo(t *testing.T, url string, version int) {
	t.Helper()
	ms, err := migration.Load(migrations)
	require.NoError(t, err)
	conn, err := pgx.Connect(t.Context(), url)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	_, err = conn.Exec(t.Context(), `CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now())`)
	require.NoError(t, err)
	for _, m := range ms {
		if m.Version > version {
			break
		}
		_, err := conn.Exec(t.Context(), m.SQL)
		require.NoError(t, err, m.Name)
		_, err = conn.Exec(t.Context(), `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, m.Version, m.Name)
		require.NoError(t, err)
	}
}

// toastRows is how many chunks events' TOAST table holds.
func toastRows(t *testing.T, db *DB) int64 {
	t.Helper()
	var toast string
	require.NoError(t, db.pool.QueryRow(t.Context(),
		`SELECT reltoastrelid::regclass::text FROM pg_class WHERE oid = 'events'::regclass`).Scan(&toast))
	var n int64
	require.NoError(t, db.pool.QueryRow(t.Context(), `SELECT count(*) FROM `+toast).Scan(&n))
	return n
}

// A webhook's payload is stored compressed in the events row (migration 0004), not moved to the
// TOAST table in chunks, and reads back byte for byte; one that does not fit a page still goes
// out of line, and reads back too.
func TestPayloadStoredInline(t *testing.T) {
	t.Parallel()
	db, _ := setup(t)
	fixture := testkit.Fixture(t)
	require.Greater(t, len(fixture), 4000, "the test needs a payload over PostgreSQL's ~2 KB row limit")
	var recs []store.Record
	for i := range 20 {
		r := rec(fmt.Sprintf("ev-%d", i), fmt.Sprintf("p%d@example.com", i))
		r.Payload = testkit.WithID(fixture, fmt.Sprintf("ev-%d", i))
		recs = append(recs, r)
	}
	res, err := db.Apply(t.Context(), recs)
	require.NoError(t, err)
	for _, r := range res {
		require.NoError(t, r.Err)
	}
	require.Zero(t, toastRows(t, db), "payloads were moved out of the events row")
	var stored, raw int64
	require.NoError(t, db.pool.QueryRow(t.Context(),
		`SELECT sum(pg_column_size(payload)), sum(octet_length(payload)) FROM events`).Scan(&stored, &raw))
	require.Less(t, stored, raw*7/10, "payloads are not compressed")
	for _, r := range recs {
		ev, err := db.Event(t.Context(), r.EventID)
		require.NoError(t, err)
		require.Equal(t, r.Payload, ev.Payload)
	}

	big := make([]byte, 20_000) // random: incompressible, and more than a page
	_, _ = rand.Read(big)
	r := rec("ev-big", "")
	r.Payload = big
	res, err = db.Apply(t.Context(), []store.Record{r})
	require.NoError(t, err)
	require.NoError(t, res[0].Err)
	require.NotZero(t, toastRows(t, db))
	ev, err := db.Event(t.Context(), "ev-big")
	require.NoError(t, err)
	require.Equal(t, big, ev.Payload)
}

// A database made by an older store is upgraded in place: events stored before the upgrade (their
// payloads in the TOAST table) read back unchanged after it, and new ones are stored the new way.
func TestCostMigrationsUpgradeInPlace(t *testing.T) {
	t.Parallel()
	url := testkit.FreshPostgres(t)
	migrateTo(t, url, 3)
	conn, err := pgx.Connect(t.Context(), url)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	old := testkit.WithID(testkit.Fixture(t), "ev-old")
	_, err = conn.Exec(t.Context(), `INSERT INTO leads (email, created_at, updated_at) VALUES ('old@example.com', now(), now())`)
	require.NoError(t, err)
	_, err = conn.Exec(t.Context(), `INSERT INTO events (event_id, event_type, lead_id, stored_at, payload)
		SELECT 'ev-old', 'widget_new_conversation', id, now(), $1 FROM leads`, old)
	require.NoError(t, err)

	db := open(t, url) // migrates the rest
	require.NotZero(t, toastRows(t, db), "before the upgrade the payload was out of line")
	ev, err := db.Event(t.Context(), "ev-old")
	require.NoError(t, err)
	require.Equal(t, old, ev.Payload)

	before := toastRows(t, db)
	r := rec("ev-new", "new@example.com")
	r.Payload = testkit.WithID(testkit.Fixture(t), "ev-new")
	res, err := db.Apply(t.Context(), []store.Record{r})
	require.NoError(t, err)
	require.NoError(t, res[0].Err)
	require.Equal(t, before, toastRows(t, db), "a new payload went out of line")
	var storage, compression string
	require.NoError(t, db.pool.QueryRow(t.Context(), `SELECT attstorage::text, attcompression::text FROM pg_attribute
		WHERE attrelid = 'events'::regclass AND attname = 'payload'`).Scan(&storage, &compression))
	require.Equal(t, "m", storage)
	require.Equal(t, "l", compression, "lz4 (this test's server has it)")
}

// The writes run on their generic plans (genericPlans): no execution is planned anew with the
// batch's arrays folded in, which is what PostgreSQL does by default for the first five and,
// with arrays, for good.
func TestWritesUseGenericPlans(t *testing.T) {
	t.Parallel()
	url := testkit.FreshPostgres(t)
	db := open(t, url+"&pool_max_conns=1") // one connection: its prepared statements are the store's
	for b := range 7 {
		var recs []store.Record
		for i := range 3 {
			id := fmt.Sprintf("ev-%d-%d", b, i)
			r := rec(id, id+"@example.com")
			r.Meeting = &lead.Meeting{ID: "m-" + id, Name: "Demo"}
			recs = append(recs, r)
		}
		res, err := db.Apply(t.Context(), recs)
		require.NoError(t, err)
		require.NoError(t, res[0].Err)
	}
	rows, err := db.pool.Query(t.Context(), `SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements
		WHERE statement LIKE 'WITH ids AS%' OR statement LIKE 'INSERT INTO meetings%'`)
	require.NoError(t, err)
	n := 0
	var (
		stmt            string
		generic, custom int64
	)
	_, err = pgx.ForEachRow(rows, []any{&stmt, &generic, &custom}, func() error {
		n++
		require.Zero(t, custom, "custom plans of %.40s", stmt)
		require.Equal(t, int64(7), generic, "generic plans of %.40s", stmt)
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, 2, n, "the leads-and-events and the meetings statements")
}
