package drills

import (
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/internal/testkit"
	"github.com/saleassist-pipeline/pipeline/pkg/store"
	"github.com/saleassist-pipeline/pipeline/pkg/store/postgres"
	"github.com/saleassist-pipeline/pipeline/pkg/store/sqlite"
)

// The checker must see what it exists to see: a 202'd event missing from the store, a person
// split over two leads, an event stored that was never sent; on either store it reads. (The
// drills themselves run with make drills; this runs with go test ./....)
func TestCheckCountsLossesAndDuplicates(t *testing.T) {
	t.Parallel()
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "leads.db")
		st, err := sqlite.Open(t.Context(), path)
		require.NoError(t, err)
		checkFindsEveryFault(t, st, path)
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		url := testkit.FreshPostgres(t) // skips without TEST_DATABASE_URL, fails under CI=true
		st, err := postgres.Open(t.Context(), url)
		require.NoError(t, err)
		checkFindsEveryFault(t, st, url)
	})
}

// checkFindsEveryFault builds the faults with SQL both stores take (st only creates the schema)
// and requires Check to count each of them.
func checkFindsEveryFault(t *testing.T, st store.Store, dsn string) {
	require.NoError(t, st.Close())
	gen, err := NewGenerator("check")
	require.NoError(t, err)
	var events []*Event
	for range 5 {
		events = append(events, gen.Next())
	}
	// Events 0-3 are four people, 3 with a phone only; event 4 is a follow-up about one of them.
	require.Empty(t, events[3].Person.Email)
	require.Same(t, events[0].Person, events[4].Person)
	load := &Load{outcomes: map[string]*Outcome{}}
	for i, e := range events {
		o := &Outcome{Requests: 1, Accepted: 1}
		if i == 4 {
			o = &Outcome{Requests: 3, Unavailable: 3} // never confirmed
		}
		load.outcomes[e.ID] = o
	}

	db, err := sql.Open(map[bool]string{true: "pgx", false: "sqlite3"}[postgres.IsURL(dsn)], dsn)
	require.NoError(t, err)
	defer db.Close()
	// $1-style placeholders, 'now' as a time and RETURNING: what SQLite and PostgreSQL both take.
	lead := func(email any, phone, name string) int64 {
		var id int64
		require.NoError(t, db.QueryRow(`INSERT INTO leads (email, mobile_number, name, created_at, updated_at) VALUES ($1, $2, $3, 'now', 'now') RETURNING id`, email, phone, name).Scan(&id))
		return id
	}
	event := func(id string, lead int64) {
		_, err := db.Exec(`INSERT INTO events (event_id, lead_id, stored_at) VALUES ($1, $2, 'now')`, id, lead)
		require.NoError(t, err)
	}
	// Person 0's lead keeps event 0's name although event 4 is newer: a lost update.
	first := lead(events[0].Person.Email, events[0].Person.Phone, events[0].Name)
	event(events[0].ID, first)
	// events[1]: answered 202, not stored.
	event(events[2].ID, lead(events[2].Person.Email, events[2].Person.Phone, events[2].Name))
	lead(nil, events[3].Person.Phone, events[3].Name) // the phone-only person twice: one duplicate
	event(events[3].ID, lead(nil, events[3].Person.Phone, events[3].Name))
	event(events[4].ID, first) // 503'd, stored all the same: allowed
	event("never-sent", lead("stranger@example.com", "+919900000000", "Stranger"))

	r := Check(t, "check", dsn, load, gen)
	require.Equal(t, "drill=check sent=5 accepted=4 stored=4 lost=1 duplicated=1", r.Line())
	// lost, phantom, two leads, a stale lead, a stranger's lead
	require.Len(t, r.Problems, 5, "%q", r.Problems)
	require.Contains(t, strings.Join(r.Problems, "\n"), "not after the newest stored event "+events[4].ID)
}
