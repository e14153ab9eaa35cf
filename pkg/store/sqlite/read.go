package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/saleassist-pipeline/pipeline/pkg/store"
)

// Lead returns the account's lead with the given id, or store.ErrNotFound (also when the lead is
// another account's).
func (db *DB) Lead(ctx context.Context, acct string, id int64) (*store.StoredLead, error) {
	l, err := scanLead(db.read.QueryRowContext(ctx, `SELECT `+leadColumns+` FROM leads WHERE id = ? AND account = ?`,
		id, store.Account(acct)))
	if err != nil {
		return nil, fmt.Errorf("lead %d: %w", id, err)
	}
	return l, nil
}

// LeadByEmail returns the account's lead with the given normalized email, or store.ErrNotFound.
// An empty email matches nothing: email-less leads are not one person.
func (db *DB) LeadByEmail(ctx context.Context, acct, email string) (*store.StoredLead, error) {
	if email == "" {
		return nil, fmt.Errorf("lead by empty email: %w", store.ErrNotFound)
	}
	l, err := scanLead(db.read.QueryRowContext(ctx, `SELECT `+leadColumns+` FROM leads WHERE `+byEmail, store.Account(acct), email))
	if err != nil {
		return nil, fmt.Errorf("lead by email: %w", err)
	}
	return l, nil
}

// eventColumns is the column list every event query selects, in scanEvent's order.
const eventColumns = `account, event_id, event_type, lead_id, received_at, payload, invalid`

// Event returns the account's stored event with the given id, or store.ErrNotFound.
func (db *DB) Event(ctx context.Context, acct, eventID string) (*store.StoredEvent, error) {
	ev, err := scanEvent(db.read.QueryRowContext(ctx, `SELECT `+eventColumns+` FROM events WHERE account = ? AND event_id = ?`,
		store.Account(acct), eventID).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("event %q: %w", eventID, err)
	}
	return ev, nil
}

// InvalidEvents returns up to limit of the account's events stored with a problem
// (events.invalid), newest first. The partial index (migrations 0003, 0005) holds only those
// events, by account, so this reads them alone however many valid events the table holds.
func (db *DB) InvalidEvents(ctx context.Context, acct string, limit int) ([]store.StoredEvent, error) {
	out := []store.StoredEvent{}
	if limit < 1 {
		return out, nil
	}
	rows, err := db.read.QueryContext(ctx, `SELECT `+eventColumns+` FROM events
		WHERE account = ? AND invalid IS NOT NULL AND invalid <> '' ORDER BY received_at DESC, event_id DESC LIMIT ?`,
		store.Account(acct), limit)
	if err != nil {
		return nil, fmt.Errorf("invalid events: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		ev, err := scanEvent(rows.Scan)
		if err != nil {
			return nil, fmt.Errorf("invalid events: %w", err)
		}
		out = append(out, *ev)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("invalid events: %w", err)
	}
	return out, nil
}

// scanEvent reads one row of eventColumns with scan (a Row's or Rows' Scan).
func scanEvent(scan func(dest ...any) error) (*store.StoredEvent, error) {
	var (
		ev                store.StoredEvent
		leadID            sql.NullInt64
		received, payload string
		invalid           sql.NullString
	)
	if err := scan(&ev.Account, &ev.EventID, &ev.EventType, &leadID, &received, &payload, &invalid); err != nil {
		return nil, err
	}
	ev.LeadID = leadID.Int64
	ev.Invalid = invalid.String
	if payload != "" {
		ev.Payload = []byte(payload)
	}
	var err error
	if ev.ReceivedAt, err = parseTime(received); err != nil {
		return nil, fmt.Errorf("event %q: %w", ev.EventID, err)
	}
	return &ev, nil
}

// Counts returns how many leads, events and meetings the account has stored, read in one
// snapshot. Each count walks the account's range of an index that starts with the account.
func (db *DB) Counts(ctx context.Context, acct string) (store.Counts, error) {
	var c store.Counts
	a := store.Account(acct)
	err := db.read.QueryRowContext(ctx, `SELECT
		(SELECT count(*) FROM leads WHERE account = ?), (SELECT count(*) FROM events WHERE account = ?),
		(SELECT count(*) FROM meetings WHERE account = ?)`, a, a, a).
		Scan(&c.Leads, &c.Events, &c.Meetings)
	if err != nil {
		return store.Counts{}, fmt.Errorf("counts: %w", err)
	}
	return c, nil
}
