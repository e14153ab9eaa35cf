package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/saleassist-pipeline/pipeline/pkg/store"
)

var _ store.Browser = (*DB)(nil)

// The console's reads (store.Browser). They run on the read pool, each in one statement, so none
// holds a snapshot between calls. The SQL sticks to what PostgreSQL also runs: row values,
// keyset pagination, LIKE with an explicit ESCAPE (ILIKE there).

// Leads returns a page of leads; see store.Browser. The filters are ORed. For an email or a phone
// the leads they can match are found first, by index (the email's unique index, the phone
// indexes), and only those are read and sorted; a name is a walk of leads_updated in page order
// that stops once the page is full.
func (db *DB) Leads(ctx context.Context, q store.LeadQuery) (store.LeadPage, error) {
	var (
		where, ors, cands []string
		args, candArgs    []any
	)
	acct := store.Account(q.Account)
	f := q.Filter
	if f.Email != "" {
		ors = append(ors, `(email = ? AND email <> '')`)
		args = append(args, f.Email)
		cands = append(cands, `SELECT id AS lead_id FROM leads WHERE account = ? AND email = ? AND email <> ''`)
		candArgs = append(candArgs, acct, f.Email)
	}
	if f.Phone != "" {
		ors = append(ors, `mobile_number = ?`, `alt_phone = ?`)
		args = append(args, f.Phone, f.Phone)
		cands = append(cands, `SELECT id AS lead_id FROM leads WHERE account = ? AND mobile_number = ?`,
			`SELECT id AS lead_id FROM leads WHERE account = ? AND alt_phone = ?`)
		candArgs = append(candArgs, acct, f.Phone, acct, f.Phone)
	}
	if f.Name != "" {
		ors = append(ors, `name LIKE '%' || ? || '%' ESCAPE '\'`)
		args = append(args, escapeLike(f.Name))
	}
	// A name fragment has no index: then the page order is walked (stopping once the page is
	// full), since candidates of the other filters alone would miss the names.
	useCands := len(cands) > 0 && f.Name == ""
	from := `leads`
	if useCands {
		// The candidates drive the join (CROSS JOIN keeps them outer): one rowid seek each, then
		// the filters' own test. Without it SQLite prefers walking leads_updated for the ORDER BY,
		// every lead of the account for a phone nobody has.
		from = `(` + strings.Join(cands, " UNION ") + `) AS c CROSS JOIN leads ON leads.id = c.lead_id`
	} else {
		candArgs = nil
	}
	fromArgs := candArgs
	where = append(where, `leads.account = ?`)
	args = append([]any{acct}, args...)
	if len(ors) > 0 {
		where = append(where, "("+strings.Join(ors, " OR ")+")")
	}
	if q.After != nil {
		where = append(where, `(updated_at, leads.id) < (?, ?)`)
		args = append(args, formatTime(q.After.UpdatedAt), q.After.ID)
	}
	size := q.PageSize()
	query := `SELECT ` + leadColumns + `, (SELECT count(*) FROM events e WHERE e.lead_id = leads.id)
		FROM ` + from + ` WHERE ` + strings.Join(where, " AND ")
	// One more row than asked tells whether there is a next page without a count.
	query += ` ORDER BY updated_at DESC, leads.id DESC LIMIT ?`
	args = append(append(fromArgs, args...), size+1)
	rows, err := db.read.QueryContext(ctx, query, args...)
	if err != nil {
		return store.LeadPage{}, fmt.Errorf("list leads: %w", err)
	}
	defer rows.Close()
	page := store.LeadPage{Leads: make([]store.LeadSummary, 0, size)}
	for rows.Next() {
		var ls store.LeadSummary
		if err := scanLeadInto(rows, &ls.StoredLead, &ls.Events); err != nil {
			return store.LeadPage{}, fmt.Errorf("list leads: %w", err)
		}
		page.Leads = append(page.Leads, ls)
	}
	if err := rows.Err(); err != nil {
		return store.LeadPage{}, fmt.Errorf("list leads: %w", err)
	}
	if len(page.Leads) > size {
		page.Leads = page.Leads[:size]
		last := page.Leads[size-1]
		page.Next = &store.Cursor{UpdatedAt: last.UpdatedAt, ID: last.ID}
	}
	return page, nil
}

// escapeLike makes s match itself in a LIKE pattern.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// LeadHistory returns the lead's events, oldest received first; see store.Browser.
func (db *DB) LeadHistory(ctx context.Context, acct string, leadID int64) ([]store.EventSummary, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT account, event_id, event_type, received_at, stored_at
		FROM events WHERE lead_id = ? AND account = ? ORDER BY received_at, id`, leadID, store.Account(acct))
	if err != nil {
		return nil, fmt.Errorf("history of lead %d: %w", leadID, err)
	}
	defer rows.Close()
	out := []store.EventSummary{}
	for rows.Next() {
		var (
			ev                 store.EventSummary
			received, storedAt string
		)
		if err := rows.Scan(&ev.Account, &ev.EventID, &ev.EventType, &received, &storedAt); err != nil {
			return nil, fmt.Errorf("history of lead %d: %w", leadID, err)
		}
		if ev.ReceivedAt, err = parseTime(received); err == nil {
			ev.StoredAt, err = parseTime(storedAt)
		}
		if err != nil {
			return nil, fmt.Errorf("history of lead %d: %w", leadID, err)
		}
		out = append(out, ev)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("history of lead %d: %w", leadID, err)
	}
	return out, nil
}

// LeadMeetings returns the lead's meetings, earliest scheduled first; see store.Browser.
func (db *DB) LeadMeetings(ctx context.Context, acct string, leadID int64) ([]store.StoredMeeting, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT `+meetingColumns+`
		FROM meetings WHERE lead_id = ? AND account = ? ORDER BY scheduled_at, id`, leadID, store.Account(acct))
	if err != nil {
		return nil, fmt.Errorf("meetings of lead %d: %w", leadID, err)
	}
	defer rows.Close()
	out := []store.StoredMeeting{}
	for rows.Next() {
		m, err := scanMeeting(rows)
		if err != nil {
			return nil, fmt.Errorf("meetings of lead %d: %w", leadID, err)
		}
		out = append(out, *m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("meetings of lead %d: %w", leadID, err)
	}
	return out, nil
}

// meetingColumns is the column list every meeting query selects, in scanMeeting's order.
const meetingColumns = `account, id, lead_id, event_id, name, scheduled_at, status, meeting_url, participants,
	timezone, duration_min, updated_at`

// scanMeeting reads one row of meetingColumns.
func scanMeeting(row rowScanner) (*store.StoredMeeting, error) {
	var (
		m                     store.StoredMeeting
		sched, parts, updated string
		lead                  sql.NullInt64
	)
	if err := row.Scan(&m.Account, &m.ID, &lead, &m.EventID, &m.Name, &sched, &m.Status, &m.MeetingURL,
		&parts, &m.Timezone, &m.DurationMin, &updated); err != nil {
		return nil, err
	}
	m.LeadID = lead.Int64
	if parts != "" && parts != "[]" {
		if err := json.Unmarshal([]byte(parts), &m.Participants); err != nil {
			return nil, fmt.Errorf("meeting %q participants: %w", m.ID, err)
		}
	}
	var err error
	if m.ScheduledAt, err = parseTime(sched); err == nil {
		m.UpdatedAt, err = parseTime(updated)
	}
	if err != nil {
		return nil, fmt.Errorf("meeting %q: %w", m.ID, err)
	}
	return &m, nil
}

// EventTypes counts the stored events of each type; see store.Browser. It reads the whole
// events_event_type index: fine for the schema page, not for every request.
func (db *DB) EventTypes(ctx context.Context, acct string) ([]store.TypeCount, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT event_type, count(*) FROM events WHERE account = ?
		GROUP BY event_type ORDER BY event_type`, store.Account(acct))
	if err != nil {
		return nil, fmt.Errorf("event types: %w", err)
	}
	defer rows.Close()
	out := []store.TypeCount{}
	for rows.Next() {
		var tc store.TypeCount
		if err := rows.Scan(&tc.EventType, &tc.Events); err != nil {
			return nil, fmt.Errorf("event types: %w", err)
		}
		out = append(out, tc)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("event types: %w", err)
	}
	return out, nil
}

// LatestEvents returns the newest events of a type; see store.Browser. events_event_type holds
// the rowid after the type, so this is a backwards walk of one index range, no sort.
func (db *DB) LatestEvents(ctx context.Context, acct, eventType string, limit int) ([]store.StoredEvent, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT `+eventColumns+`
		FROM events WHERE account = ? AND event_type = ? ORDER BY id DESC LIMIT ?`, store.Account(acct), eventType, max(limit, 0))
	if err != nil {
		return nil, fmt.Errorf("latest %s events: %w", eventType, err)
	}
	defer rows.Close()
	out := []store.StoredEvent{}
	for rows.Next() {
		var (
			ev                store.StoredEvent
			leadID            sql.NullInt64
			received, payload string
			invalid           sql.NullString
		)
		if err := rows.Scan(&ev.Account, &ev.EventID, &ev.EventType, &leadID, &received, &payload, &invalid); err != nil {
			return nil, fmt.Errorf("latest %s events: %w", eventType, err)
		}
		ev.LeadID, ev.Invalid, ev.Payload = leadID.Int64, invalid.String, []byte(payload)
		if ev.ReceivedAt, err = parseTime(received); err != nil {
			return nil, fmt.Errorf("latest %s events: %w", eventType, err)
		}
		out = append(out, ev)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("latest %s events: %w", eventType, err)
	}
	return out, nil
}

// StoredPerMinute counts events per stored minute; see store.Browser. The stored times are
// fixed-width text, so the first 16 characters are the minute (2024-05-01T10:00).
func (db *DB) StoredPerMinute(ctx context.Context, acct string, since time.Time) ([]store.MinuteCount, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT substr(stored_at, 1, 16), count(*) FROM events
		WHERE account = ? AND stored_at >= ? GROUP BY 1 ORDER BY 1`, store.Account(acct), formatTime(since))
	if err != nil {
		return nil, fmt.Errorf("events per minute: %w", err)
	}
	defer rows.Close()
	out := []store.MinuteCount{}
	for rows.Next() {
		var (
			mc     store.MinuteCount
			minute string
		)
		if err := rows.Scan(&minute, &mc.Events); err != nil {
			return nil, fmt.Errorf("events per minute: %w", err)
		}
		if mc.Minute, err = time.Parse("2006-01-02T15:04", minute); err != nil {
			return nil, fmt.Errorf("events per minute: stored time %q: %w", minute, err)
		}
		out = append(out, mc)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("events per minute: %w", err)
	}
	return out, nil
}
