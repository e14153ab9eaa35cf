package postgres

import (
	"context"
	"crypto/rand"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline"
	"github.com/saleassist-pipeline/pipeline/internal/testkit"
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
	var recs []pipeline.Record
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
		ev, err := db.Event(t.Context(), "", r.EventID)
		require.NoError(t, err)
		require.Equal(t, r.Payload, ev.Payload)
	}

	big := make([]byte, 20_000) // random: incompressible, and more than a page
	_, _ = rand.Read(big)
	r := rec("ev-big", "")
	r.Payload = big
	res, err = db.Apply(t.Context(), []pipeline.Record{r})
	require.NoError(t, err)
	require.NoError(t, res[0].Err)
	require.NotZero(t, toastRows(t, db))
	ev, err := db.Event(t.Context(), "", "ev-big")
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
	ev, err := db.Event(t.Context(), "", "ev-old")
	require.NoError(t, err)
	require.Equal(t, old, ev.Payload)

	before := toastRows(t, db)
	r := rec("ev-new", "new@example.com")
	r.Payload = testkit.WithID(testkit.Fixture(t), "ev-new")
	res, err := db.Apply(t.Context(), []pipeline.Record{r})
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
		var recs []pipeline.Record
		for i := range 3 {
			id := fmt.Sprintf("ev-%d-%d", b, i)
			r := rec(id, id+"@example.com")
			r.Meeting = &pipeline.Meeting{ID: "m-" + id, Name: "Demo"}
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

// dangling counts the references to rows that do not exist: what the foreign keys dropped by
// migration 0005 refused.
func dangling(t *testing.T, db *DB) int64 {
	t.Helper()
	var n int64
	require.NoError(t, db.pool.QueryRow(t.Context(), `SELECT
		(SELECT count(*) FROM events e WHERE e.lead_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM leads l WHERE l.id = e.lead_id)) +
		(SELECT count(*) FROM meetings m WHERE m.lead_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM leads l WHERE l.id = m.lead_id)) +
		(SELECT count(*) FROM meetings m WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.account = m.account AND e.event_id = m.event_id))`).Scan(&n))
	return n
}

// Without foreign keys (migration 0005) the references still hold: writers on two connections
// pools apply overlapping batches of new people, returning people, shared phone numbers,
// meetings named twice, duplicates, and records that fail and send their batch down the slow
// path, and no event or meeting is left naming a lead or an event that is not there.
func TestNoDanglingReferences(t *testing.T) {
	t.Parallel()
	url := testkit.FreshPostgres(t)
	dbs := []*DB{open(t, url), open(t, url)}
	var n int64
	require.NoError(t, dbs[0].pool.QueryRow(t.Context(),
		`SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND conrelid IN ('events'::regclass, 'meetings'::regclass)`).Scan(&n))
	require.Zero(t, n, "foreign keys on the write path")

	record := func(i, b int) pipeline.Record {
		person := i % 13 // people return across batches and writers
		r := rec(fmt.Sprintf("ev-%d", i), "")
		r.Lead = &pipeline.Lead{Name: fmt.Sprint("P", person), SeenAt: time.Unix(int64(1e9+i), 0).UTC()}
		switch i % 3 {
		case 0:
			r.Lead.Email = fmt.Sprintf("p%d@example.com", person)
		case 1:
			r.Lead.MobileNumber = fmt.Sprintf("+91980000%04d", person)
		default:
			r.Lead.Email = fmt.Sprintf("p%d@example.com", person)
			r.Lead.AltPhone = "+919700000000" // a shared number
		}
		if i%4 != 3 {
			r.Meeting = &pipeline.Meeting{ID: fmt.Sprint("m-", i%7), Name: fmt.Sprint("batch ", b)}
		}
		if i%17 == 5 {
			r.Meeting = &pipeline.Meeting{} // no id: fails, and its batch goes record by record
		}
		if i%11 == 0 {
			r.Lead = nil // an event without a person
		}
		return r
	}
	errs := make(chan error, 2)
	for w, db := range dbs {
		go func() {
			for b := range 12 {
				var recs []pipeline.Record
				for j := range 9 {
					recs = append(recs, record((b*5+j+w*3)%80, b)) // overlapping ids: duplicates too
				}
				if _, err := db.Apply(t.Context(), recs); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	require.NoError(t, <-errs)
	require.NoError(t, <-errs)
	c, err := dbs[0].Counts(t.Context(), "")
	require.NoError(t, err)
	require.NotZero(t, c.Meetings)
	require.NotZero(t, c.Leads)
	require.Zero(t, dangling(t, dbs[0]))
}
