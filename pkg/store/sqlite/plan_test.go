package sqlite

import (
	"database/sql"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// planOf returns SQLite's query plan for query, one line per step.
func planOf(t *testing.T, raw *sql.DB, query string, args ...any) string {
	t.Helper()
	rows, err := raw.Query("EXPLAIN QUERY PLAN "+query, args...)
	require.NoError(t, err)
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		require.NoError(t, rows.Scan(&id, &parent, &unused, &detail))
		plan = append(plan, detail)
	}
	require.NoError(t, rows.Err())
	return strings.Join(plan, "\n")
}

// The account is part of every identity, and costs no extra index: the write path's lookups
// (the dedupe, a lead by email) and the console's per-account reads are each a seek on an index
// that starts with the account (migration 0005), never a scan.
func TestAccountLookupsAreIndexSeeks(t *testing.T) {
	t.Parallel()
	_, path := setup(t)
	raw, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	require.NoError(t, err)
	t.Cleanup(func() { _ = raw.Close() })
	ids := make([]any, dedupeChunk+1)
	for i := range ids {
		ids[i] = "x"
	}
	for _, tc := range []struct {
		query string
		args  []any
		index string
	}{
		{`SELECT event_id, lead_id FROM events WHERE account = ? AND event_id IN (?` + strings.Repeat(`, ?`, dedupeChunk-1) + `)`,
			ids, "SEARCH events USING INDEX events_account_event_id (account=? AND event_id=?)"},
		{`SELECT ` + leadColumns + ` FROM leads WHERE ` + byEmail, []any{"a", "e"}, "SEARCH leads USING INDEX leads_email (account=? AND email=?)"},
		{`SELECT ` + leadColumns + ` FROM leads WHERE account = ? ORDER BY updated_at DESC, id DESC LIMIT 51`, []any{"a"},
			"SEARCH leads USING INDEX leads_updated (account=?)"},
		{`SELECT count(*) FROM events WHERE account = ?`, []any{"a"}, "SEARCH events USING COVERING INDEX"},
		{`SELECT ` + eventColumns + ` FROM events WHERE account = ? AND event_type = ? ORDER BY id DESC LIMIT 5`, []any{"a", "t"},
			"SEARCH events USING INDEX events_event_type (account=? AND event_type=?)"},
		{`SELECT count(*) FROM events WHERE account = ? AND stored_at >= ?`, []any{"a", "2026"},
			"SEARCH events USING COVERING INDEX events_stored_at (account=? AND stored_at>?)"},
	} {
		plan := planOf(t, raw, tc.query, tc.args...)
		require.Contains(t, plan, tc.index, tc.query)
		require.NotContains(t, plan, "SCAN events", plan)
		require.NotContains(t, plan, "SCAN leads", plan)
	}
}
