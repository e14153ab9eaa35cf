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
// alone the leads they can match are found first, by index (the email's unique index, the phone
// indexes), and only those are read and sorted. A text fragment is leadsText's.
func (db *DB) Leads(ctx context.Context, q store.LeadQuery) (store.LeadPage, error) {
	if q.Filter.Text != "" {
		return db.leadsText(ctx, q)
	}
	where, args := []string{`leads.account = ?`}, []any{store.Account(q.Account)}
	from, fromArgs := `leads`, []any(nil)
	if cands, candArgs := exactCandidates(q.Account, q.Filter); len(cands) > 0 {
		// The candidates drive the join (CROSS JOIN keeps them outer): one rowid seek each, then
		// the filters' own test. Without it SQLite prefers walking leads_updated for the ORDER BY,
		// every lead of the account for a phone nobody has.
		from = `(` + strings.Join(cands, " UNION ") + `) AS c CROSS JOIN leads ON leads.id = c.lead_id`
		fromArgs = candArgs
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
	return db.leadPage(ctx, size, query, args...)
}

// exactCandidates are the queries (UNIONed, each selecting lead_id) of the leads f's email or
// phone can match, one index seek each, and their arguments; none for a filter without them.
// Each candidate meets its filter: no test is needed after.
func exactCandidates(acct string, f store.LeadFilter) (cands []string, args []any) {
	acct = store.Account(acct)
	if f.Email != "" {
		cands = append(cands, `SELECT id AS lead_id FROM leads WHERE account = ? AND email = ? AND email <> ''`)
		args = append(args, acct, f.Email)
	}
	if f.Phone != "" {
		cands = append(cands, `SELECT id AS lead_id FROM leads WHERE account = ? AND mobile_number = ?`,
			`SELECT id AS lead_id FROM leads WHERE account = ? AND alt_phone = ?`)
		args = append(args, acct, f.Phone, acct, f.Phone)
	}
	return cands, args
}

// leadPage runs a query of leadColumns and the event count, limited to size+1 rows, and makes
// the page.
func (db *DB) leadPage(ctx context.Context, size int, query string, args ...any) (store.LeadPage, error) {
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

// textWalkBound is the most leads, in page order, a search for an indexed fragment reads before
// it asks the index: a common fragment ("kumar", "gmail") fills its page within them, at the
// cost of a short walk, where the index would hand over every lead that has it, to be sorted.
// The walk reads textWalkChunk leads a query, and gives up early when the matches found so far
// say the page would not fill within the bound (none in the first chunk: a rare fragment).
const (
	textWalkBound = 1000
	textWalkChunk = 250
)

// leadsText is Leads for a filter with Text: the ids of the page's leads are found first, then
// read. The leads are walked in page order (leads_updated), each tested in Go (the exact email
// and phone, and the fragment in the lower-cased name, email and city, as lead_text holds them),
// until the page is full; for a fragment of three characters or more, the walk stops when it
// would take more than textWalkBound leads and the page is then taken from the index: the leads
// whose trigrams match the fragment's phrase (exactly the leads containing it) and the exact
// filters' candidates, sorted in page order.
func (db *DB) leadsText(ctx context.Context, q store.LeadQuery) (store.LeadPage, error) {
	f, size := q.Filter, q.PageSize()
	acct := store.Account(q.Account)
	frag := strings.ToLower(f.Text)
	match, indexed := fragmentMatch(frag)
	ids, done, err := db.walkText(ctx, acct, f, frag, q.After, size+1, indexed)
	if err != nil {
		return store.LeadPage{}, fmt.Errorf("list leads: %w", err)
	}
	if !done {
		cands, candArgs := exactCandidates(acct, f)
		cands = append([]string{`SELECT docid AS lead_id FROM lead_text WHERE lead_text MATCH ?`}, cands...)
		args := append([]any{match}, candArgs...)
		query := `SELECT leads.id FROM (` + strings.Join(cands, " UNION ") + `) AS c CROSS JOIN leads ON leads.id = c.lead_id
			WHERE leads.account = ?`
		args = append(args, acct)
		if q.After != nil {
			query += ` AND (updated_at, leads.id) < (?, ?)`
			args = append(args, formatTime(q.After.UpdatedAt), q.After.ID)
		}
		query += ` ORDER BY updated_at DESC, leads.id DESC LIMIT ?`
		args = append(args, size+1)
		if ids, err = db.ids(ctx, query, args...); err != nil {
			return store.LeadPage{}, fmt.Errorf("list leads: %w", err)
		}
	}
	if len(ids) == 0 {
		return store.LeadPage{Leads: []store.LeadSummary{}}, nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	return db.leadPage(ctx, size, `SELECT `+leadColumns+`, (SELECT count(*) FROM events e WHERE e.lead_id = leads.id)
		FROM leads WHERE id IN (?`+strings.Repeat(`, ?`, len(ids)-1)+`) ORDER BY updated_at DESC, id DESC`, args...)
}

// walkText walks the account's leads in page order after the cursor, testing each against f
// (frag is f.Text lower-cased), and returns the ids of up to want matches; done says whether
// they are all the page has. With bounded, it gives up (done false) once the matches so far
// say want of them would take more than textWalkBound leads (20 per lead wanted for larger
// pages, such as the CSV export's 500: a common fragment then still fills them by walking).
func (db *DB) walkText(ctx context.Context, acct string, f store.LeadFilter, frag string, after *store.Cursor, want int, bounded bool) (ids []int64, done bool, err error) {
	var (
		lastAt string
		lastID int64
	)
	if after != nil {
		lastAt, lastID = formatTime(after.UpdatedAt), after.ID
	}
	for read := 0; ; {
		query, args := `SELECT id, updated_at, name, coalesce(email, ''), mobile_number, alt_phone, city FROM leads
			WHERE account = ?`, []any{acct}
		if after != nil || read > 0 {
			query += ` AND (updated_at, id) < (?, ?)`
			args = append(args, lastAt, lastID)
		}
		rows, err := db.read.QueryContext(ctx, query+` ORDER BY updated_at DESC, id DESC LIMIT ?`, append(args, textWalkChunk)...)
		if err != nil {
			return nil, false, err
		}
		n := 0
		for rows.Next() {
			var name, email, mobile, alt, city string
			if err := rows.Scan(&lastID, &lastAt, &name, &email, &mobile, &alt, &city); err != nil {
				rows.Close()
				return nil, false, err
			}
			n++
			if (f.Email != "" && email == f.Email) || (f.Phone != "" && (mobile == f.Phone || alt == f.Phone)) ||
				containsFold(name, frag) || containsFold(email, frag) || containsFold(city, frag) {
				if ids = append(ids, lastID); len(ids) == want {
					rows.Close()
					return ids, true, nil
				}
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, false, err
		}
		read += n
		if n < textWalkChunk {
			return ids, true, nil // every lead after the cursor was read
		}
		if bounded && (len(ids) == 0 || read*want/len(ids) > max(textWalkBound, 20*want)) {
			return ids, false, nil
		}
	}
}

// ids runs a query of lead ids.
func (db *DB) ids(ctx context.Context, query string, args ...any) ([]int64, error) {
	rows, err := db.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
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
