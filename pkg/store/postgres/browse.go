package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/saleassist-pipeline/pipeline/pkg/store"
)

var _ store.Browser = (*DB)(nil)

// The console's reads (store.Browser), the same queries as store/sqlite's browse.go in
// PostgreSQL's dialect. Each is one statement outside any explicit transaction, so none holds a
// snapshot between calls (a long one would hold back vacuum while the workers write). Where
// SQLite stores '' for a time not sent, PostgreSQL has NULL; NULLS FIRST keeps SQLite's order.

// Leads returns a page of leads; see store.Browser. The filters are ORed; each alone is an index
// read (leads_account_email, the (account, phone, updated_at, id) indexes of 0006) or, for a
// text fragment, pg_trgm's leads_text_trgm (0008) for a rare one and a backward walk of
// leads_account_updated (0006) in page order, stopping once the page is full, for a common one:
// the planner chooses, from the pattern's trigrams. For that it must see the pattern: a query
// with a fragment runs as QueryExecModeExec (an unnamed statement, planned with its values),
// not as the cached prepared statement, whose generic plan after five runs ignored the index
// (an earlier attempt's finding at 1M leads).
func (db *DB) Leads(ctx context.Context, q store.LeadQuery) (store.LeadPage, error) {
	var (
		where, ors []string
		args       []any
	)
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	where = append(where, `account = `+arg(store.Account(q.Account)))
	f := q.Filter
	if f.Email != "" {
		// The redundant "<> ''" lets the planner use the partial unique index leads_account_email.
		ors = append(ors, `(email = `+arg(f.Email)+` AND email <> '')`)
	}
	if f.Phone != "" {
		p := arg(f.Phone)
		ors = append(ors, `mobile_number = `+p, `alt_phone = `+p)
	}
	mode := []any(nil)
	if f.Text != "" {
		// ILIKE ignores case beyond ASCII too (by the database's LC_CTYPE). The pattern's own
		// wildcards are escaped, so they match themselves. A NULL email matches nothing.
		p := arg(`%` + escapeLike(f.Text) + `%`)
		ors = append(ors, `name ILIKE `+p, `email ILIKE `+p, `city ILIKE `+p)
		mode = []any{pgx.QueryExecModeExec}
	}
	if len(ors) > 0 {
		where = append(where, "("+strings.Join(ors, " OR ")+")")
	}
	if q.After != nil {
		// A row comparison, which PostgreSQL reads as a range of leads_account_updated.
		where = append(where, `(updated_at, id) < (`+arg(q.After.UpdatedAt)+`, `+arg(q.After.ID)+`)`)
	}
	size := q.PageSize()
	// The count comes first: scanLead reads leadColumns after the columns it is told to skip.
	query := `SELECT (SELECT count(*) FROM events e WHERE e.lead_id = leads.id), ` + leadColumns + ` FROM leads
		WHERE ` + strings.Join(where, " AND ")
	// One more row than asked tells whether there is a next page without a count.
	query += ` ORDER BY updated_at DESC, id DESC LIMIT ` + arg(size+1)

	page := store.LeadPage{Leads: make([]store.LeadSummary, 0, size)}
	var events int64
	rows, err := db.pool.Query(ctx, query, append(mode, args...)...)
	err = readLeads(rows, err, []any{&events}, func(l *store.StoredLead) {
		page.Leads = append(page.Leads, store.LeadSummary{StoredLead: *l, Events: events})
	})
	if err != nil {
		return store.LeadPage{}, fmt.Errorf("list leads: %w", err)
	}
	if len(page.Leads) > size {
		page.Leads = page.Leads[:size]
		last := page.Leads[size-1]
		page.Next = &store.Cursor{UpdatedAt: last.UpdatedAt, ID: last.ID}
	}
	return page, nil
}

// escapeLike makes s match itself in a LIKE pattern whose escape character is a backslash.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// LeadHistory returns the lead's events, oldest received first; see store.Browser. It reads
// events_lead_id (0001).
func (db *DB) LeadHistory(ctx context.Context, acct string, leadID int64) ([]store.EventSummary, error) {
	rows, err := db.pool.Query(ctx, `SELECT account, event_id, event_type, received_at, stored_at
		FROM events WHERE lead_id = $1 AND account = $2 ORDER BY received_at NULLS FIRST, id`, leadID, store.Account(acct))
	if err != nil {
		return nil, fmt.Errorf("history of lead %d: %w", leadID, err)
	}
	out := []store.EventSummary{}
	var (
		ev       store.EventSummary
		received pgtype.Timestamptz
	)
	_, err = pgx.ForEachRow(rows, []any{&ev.Account, &ev.EventID, &ev.EventType, &received, &ev.StoredAt}, func() error {
		ev.ReceivedAt, ev.StoredAt = fromTimestamptz(received), ev.StoredAt.UTC()
		out = append(out, ev)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("history of lead %d: %w", leadID, err)
	}
	return out, nil
}

// LeadMeetings returns the lead's meetings, earliest scheduled first; see store.Browser.
func (db *DB) LeadMeetings(ctx context.Context, acct string, leadID int64) ([]store.StoredMeeting, error) {
	rows, err := db.pool.Query(ctx, `SELECT account, id, lead_id, event_id, name, scheduled_at, status,
		meeting_url, participants, timezone, duration_min, updated_at
		FROM meetings WHERE lead_id = $1 AND account = $2 ORDER BY scheduled_at NULLS FIRST, id`, leadID, store.Account(acct))
	if err != nil {
		return nil, fmt.Errorf("meetings of lead %d: %w", leadID, err)
	}
	out := []store.StoredMeeting{}
	var (
		m     store.StoredMeeting
		lead  pgtype.Int8
		sched pgtype.Timestamptz
		parts []byte
	)
	_, err = pgx.ForEachRow(rows, []any{&m.Account, &m.ID, &lead, &m.EventID, &m.Name, &sched, &m.Status, &m.MeetingURL,
		&parts, &m.Timezone, &m.DurationMin, &m.UpdatedAt}, func() error {
		got := m
		got.LeadID, got.ScheduledAt, got.UpdatedAt = lead.Int64, fromTimestamptz(sched), m.UpdatedAt.UTC()
		if len(parts) > 0 && string(parts) != "[]" {
			if err := json.Unmarshal(parts, &got.Participants); err != nil {
				return fmt.Errorf("meeting %q participants: %w", m.ID, err)
			}
		}
		out = append(out, got)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("meetings of lead %d: %w", leadID, err)
	}
	return out, nil
}

// EventTypes counts the stored events of each type; see store.Browser. It reads the whole of
// events_account_type_id (0006): fine for the schema page, not for every request. COLLATE "C" orders the
// names byte by byte, as SQLite does, whatever the database's collation.
func (db *DB) EventTypes(ctx context.Context, acct string) ([]store.TypeCount, error) {
	rows, err := db.pool.Query(ctx, `SELECT event_type, count(*) FROM events WHERE account = $1
		GROUP BY event_type ORDER BY event_type COLLATE "C"`, store.Account(acct))
	if err != nil {
		return nil, fmt.Errorf("event types: %w", err)
	}
	out := []store.TypeCount{}
	var tc store.TypeCount
	if _, err := pgx.ForEachRow(rows, []any{&tc.EventType, &tc.Events}, func() error {
		out = append(out, tc)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("event types: %w", err)
	}
	return out, nil
}

// LatestEvents returns the newest events of a type; see store.Browser. events_account_type_id (0006)
// holds the id after the type, so this is a backward read of one index range, no sort.
func (db *DB) LatestEvents(ctx context.Context, acct, eventType string, limit int) ([]store.StoredEvent, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+eventColumns+` FROM events
		WHERE account = $3 AND event_type = $1 ORDER BY id DESC LIMIT $2`, eventType, max(limit, 0), store.Account(acct))
	if err != nil {
		return nil, fmt.Errorf("latest %s events: %w", eventType, err)
	}
	defer rows.Close()
	out := []store.StoredEvent{}
	for rows.Next() {
		ev, err := scanEvent(rows)
		if err != nil {
			return nil, fmt.Errorf("latest %s events: %w", eventType, err)
		}
		out = append(out, *ev)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("latest %s events: %w", eventType, err)
	}
	return out, nil
}

// StoredPerMinute counts events per stored minute; see store.Browser. It reads the range of
// events_account_stored_at (0006) from since on; the minutes are UTC's whatever the session's TimeZone.
func (db *DB) StoredPerMinute(ctx context.Context, acct string, since time.Time) ([]store.MinuteCount, error) {
	rows, err := db.pool.Query(ctx, `SELECT date_trunc('minute', stored_at, 'UTC'), count(*) FROM events
		WHERE account = $2 AND stored_at >= $1 GROUP BY 1 ORDER BY 1`, since, store.Account(acct))
	if err != nil {
		return nil, fmt.Errorf("events per minute: %w", err)
	}
	out := []store.MinuteCount{}
	var mc store.MinuteCount
	if _, err := pgx.ForEachRow(rows, []any{&mc.Minute, &mc.Events}, func() error {
		mc.Minute = mc.Minute.UTC()
		out = append(out, mc)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("events per minute: %w", err)
	}
	return out, nil
}
