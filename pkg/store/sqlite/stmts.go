package sqlite

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mattn/go-sqlite3"
)

// timeFormat is RFC 3339 in UTC with a fixed nine-digit fraction. time.RFC3339Nano trims
// trailing zeros, and then "…:05Z" sorts after "…:05.1Z" as text; fixed width keeps ORDER BY on
// the text columns chronological, and time.RFC3339Nano still parses it.
const timeFormat = "2006-01-02T15:04:05.000000000Z07:00"

// formatTime renders t for storage; the zero time (not sent) is stored as the empty string.
func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(timeFormat)
}

func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("parse stored time %q: %w", s, err)
	}
	return t.UTC(), nil
}

// leadColumnCount is how many columns leadColumns names.
const leadColumnCount = 23

// leadColumns is the column list every lead query selects, in scanLead's order.
const leadColumns = `id, account, source_id, name, email, mobile_number, alt_phone, address, pincode, city,
	state, country, utm_source, utm_medium, utm_campaign, utm_term, utm_content, product_category,
	product_sku, attributes, seen_at, created_at, updated_at`

// byEmail selects the lead of account ? with email ?. The redundant second condition lets SQLite use the
// partial unique index, whose WHERE it cannot otherwise prove for a bound parameter; without it
// every lookup scans the table.
const byEmail = `account = ? AND email = ? AND email <> ''`

// byPhone selects the account's (first ?) most recently updated lead whose col (mobile_number or alt_phone) is ? and
// that meets cond. With the (phone, updated_at, id) indexes of migration 0002 it is one index seek
// that also yields the order: no sort, no temporary b-tree. Match asks both columns and keeps
// the newer lead (leadrules.Match), rather than one UNION ALL statement: that form sorts the two rows in temporary
// b-trees, which SQLite allocates and frees (a page cache each) on every execution.
//
// CAST(? AS TEXT) rather than a bare ?: for "col = ?" the planner notes that the plan may depend
// on whether ? is bound to 0 or 1 (whereLoopOutputAdjust), and go-sqlite3 calls
// sqlite3_clear_bindings before every execution, which expires such a statement: SQLite would
// parse and plan it again on every lookup (~20–30 µs, more than the seek). The cast hides the
// parameter from that check; the index is used all the same (the phone columns are TEXT).
func byPhone(col, cond string) string {
	return `SELECT ` + leadColumns + ` FROM leads WHERE account = CAST(? AS TEXT) AND ` + col + ` = CAST(? AS TEXT)` + cond +
		` ORDER BY updated_at DESC, id DESC LIMIT 1`
}

// dedupeChunk is how many event ids one storedEvents query looks up: a batch of the default
// size (256) takes a few queries instead of one per event. Unused places are bound to ”.
const dedupeChunk = 64

// stmts are the write statements, prepared once on the write connection itself (the driver's
// connection, not through database/sql) so a batch only binds and steps them.
type stmts struct {
	// conn is the connection they were prepared on: if database/sql ever replaces it, they are
	// prepared again on the new one.
	conn                           *sqlite3.SQLiteConn
	savepoint, release, rollbackTo *sqlite3.SQLiteStmt
	storedEvents, insertEvent      *sqlite3.SQLiteStmt
	leadByEmail                    *sqlite3.SQLiteStmt
	// leadByPhone[col] and leadByPhoneNoMail[col], indexed by leadrules.PhoneColumn.
	leadByPhone, leadByPhoneNoMail [2]*sqlite3.SQLiteStmt
	insertLead, updateLead         *sqlite3.SQLiteStmt
	// insertText and deleteText keep lead_text, the fragment search's index (leadtext.go).
	insertText, deleteText *sqlite3.SQLiteStmt
	upsertMeeting          *sqlite3.SQLiteStmt
}

func prepare(ctx context.Context, c *sqlite3.SQLiteConn) (*stmts, error) {
	s := &stmts{conn: c}
	for _, p := range []struct {
		dst   **sqlite3.SQLiteStmt
		query string
	}{
		{&s.savepoint, `SAVEPOINT record`},
		{&s.release, `RELEASE record`},
		{&s.rollbackTo, `ROLLBACK TO record`},
		{&s.storedEvents, `SELECT event_id, lead_id FROM events WHERE account = ? AND event_id IN (?` +
			strings.Repeat(`, ?`, dedupeChunk-1) + `)`},
		{&s.insertEvent, `INSERT INTO events (account, event_id, event_type, lead_id, received_at, stored_at, payload, invalid)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`},
		{&s.leadByEmail, `SELECT ` + leadColumns + ` FROM leads WHERE ` + byEmail},
		// The most recently updated lead with phone ? as its mobile (or alt) phone. A phone match
		// may only join a lead that cannot belong to someone else: an event with an email uses
		// leadByPhoneNoMail, leads without an email. Each is one seek on a (phone, updated_at,
		// id) index (migration 0002), however many leads share the number.
		{&s.leadByPhone[0], byPhone("mobile_number", "")},
		{&s.leadByPhone[1], byPhone("alt_phone", "")},
		{&s.leadByPhoneNoMail[0], byPhone("mobile_number", " AND email IS NULL")},
		{&s.leadByPhoneNoMail[1], byPhone("alt_phone", " AND email IS NULL")},
		{&s.insertLead, `INSERT INTO leads (account, source_id, name, email, mobile_number, alt_phone, address,
			pincode, city, state, country, utm_source, utm_medium, utm_campaign, utm_term, utm_content,
			product_category, product_sku, attributes, seen_at, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`},
		{&s.updateLead, `UPDATE leads SET source_id = ?, name = ?, email = ?, mobile_number = ?,
			alt_phone = ?, address = ?, pincode = ?, city = ?, state = ?, country = ?, utm_source = ?,
			utm_medium = ?, utm_campaign = ?, utm_term = ?, utm_content = ?, product_category = ?,
			product_sku = ?, attributes = ?, seen_at = ?, updated_at = ? WHERE id = ?`},
		{&s.insertText, `INSERT INTO lead_text (docid, name, email, city) VALUES (?, ?, ?, ?)`},
		{&s.deleteText, `DELETE FROM lead_text WHERE docid = ?`},
		// A later event about the same meeting overwrites what it sends and keeps the rest.
		{&s.upsertMeeting, `INSERT INTO meetings (account, id, lead_id, event_id, name, scheduled_at, status,
			meeting_url, participants, timezone, duration_min, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (account, id) DO UPDATE SET
				lead_id      = coalesce(excluded.lead_id, lead_id),
				event_id     = excluded.event_id,
				name         = coalesce(nullif(excluded.name, ''), name),
				scheduled_at = coalesce(nullif(excluded.scheduled_at, ''), scheduled_at),
				status       = coalesce(nullif(excluded.status, ''), status),
				meeting_url  = coalesce(nullif(excluded.meeting_url, ''), meeting_url),
				participants = coalesce(nullif(excluded.participants, '[]'), participants),
				timezone     = coalesce(nullif(excluded.timezone, ''), timezone),
				duration_min = coalesce(nullif(excluded.duration_min, 0), duration_min),
				updated_at   = excluded.updated_at`},
	} {
		st, err := c.PrepareContext(ctx, p.query)
		if err != nil {
			s.close()
			return nil, fmt.Errorf("prepare %q: %w", p.query, err)
		}
		*p.dst = st.(*sqlite3.SQLiteStmt)
	}
	return s, nil
}

func (s *stmts) close() error {
	var errs []error
	for _, st := range []*sqlite3.SQLiteStmt{s.savepoint, s.release, s.rollbackTo, s.storedEvents, s.insertEvent,
		s.leadByEmail, s.leadByPhone[0], s.leadByPhone[1], s.leadByPhoneNoMail[0], s.leadByPhoneNoMail[1], s.insertLead, s.updateLead,
		s.insertText, s.deleteText, s.upsertMeeting} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	return errors.Join(errs...)
}
