package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/saleassist-pipeline/pipeline/pkg/store"
)

// Lead returns the account's lead with the given id, or store.ErrNotFound (also when the lead is
// another account's).
func (db *DB) Lead(ctx context.Context, acct string, id int64) (*store.StoredLead, error) {
	l, err := db.oneLead(ctx, `SELECT `+leadColumns+` FROM leads WHERE id = $1 AND account = $2`, id, store.Account(acct))
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
	l, err := db.oneLead(ctx, `SELECT `+leadColumns+` FROM leads WHERE account = $1 AND email = $2 AND email <> ''`, store.Account(acct), email)
	if err != nil {
		return nil, fmt.Errorf("lead by email: %w", err)
	}
	return l, nil
}

func (db *DB) oneLead(ctx context.Context, sql string, args ...any) (*store.StoredLead, error) {
	var found *store.StoredLead
	rows, err := db.pool.Query(ctx, sql, args...)
	if err := readLeads(rows, err, nil, func(l *store.StoredLead) { found = l }); err != nil {
		return nil, err
	}
	if found == nil {
		return nil, store.ErrNotFound
	}
	return found, nil
}

// eventColumns is the column list every event query selects, in scanEvent's order.
const eventColumns = `account, event_id, event_type, lead_id, received_at, payload, invalid`

// Event returns the account's stored event with the given id, or store.ErrNotFound.
func (db *DB) Event(ctx context.Context, acct, eventID string) (*store.StoredEvent, error) {
	ev, err := scanEvent(db.pool.QueryRow(ctx, `SELECT `+eventColumns+` FROM events WHERE account = $1 AND event_id = $2`,
		store.Account(acct), eventID))
	if errors.Is(err, pgx.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("event %q: %w", eventID, err)
	}
	return ev, nil
}

// InvalidEvents returns up to limit of the account's events stored with a problem
// (events.invalid), newest first. The partial index of migration 0006 holds only those events,
// by account in this order, so this reads them alone however many valid events the table holds.
func (db *DB) InvalidEvents(ctx context.Context, acct string, limit int) ([]store.StoredEvent, error) {
	out := []store.StoredEvent{}
	if limit < 1 {
		return out, nil
	}
	rows, err := db.pool.Query(ctx, `SELECT `+eventColumns+` FROM events
		WHERE account = $2 AND invalid IS NOT NULL AND invalid <> ''
		ORDER BY received_at DESC NULLS LAST, event_id DESC LIMIT $1`, limit, store.Account(acct))
	if err != nil {
		return nil, fmt.Errorf("invalid events: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		ev, err := scanEvent(rows)
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

// scanEvent reads one row of eventColumns.
func scanEvent(row pgx.Row) (*store.StoredEvent, error) {
	var (
		ev       store.StoredEvent
		leadID   pgtype.Int8
		received pgtype.Timestamptz
		invalid  pgtype.Text
	)
	if err := row.Scan(&ev.Account, &ev.EventID, &ev.EventType, &leadID, &received, &ev.Payload, &invalid); err != nil {
		return nil, err
	}
	ev.LeadID = leadID.Int64
	ev.Invalid = invalid.String
	ev.ReceivedAt = fromTimestamptz(received)
	if len(ev.Payload) == 0 {
		ev.Payload = nil
	}
	return &ev, nil
}

// Counts returns how many leads, events and meetings the account has stored, read in one
// snapshot: each a range of an index that starts with the account.
func (db *DB) Counts(ctx context.Context, acct string) (store.Counts, error) {
	var c store.Counts
	err := db.pool.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM leads WHERE account = $1), (SELECT count(*) FROM events WHERE account = $1),
		(SELECT count(*) FROM meetings WHERE account = $1)`, store.Account(acct)).
		Scan(&c.Leads, &c.Events, &c.Meetings)
	if err != nil {
		return store.Counts{}, fmt.Errorf("counts: %w", err)
	}
	return c, nil
}

// TotalCounts returns how many leads, events and meetings the database holds in all accounts:
// what a copy of a whole store (storecopy) compares.
func (db *DB) TotalCounts(ctx context.Context) (store.Counts, error) {
	var c store.Counts
	err := db.pool.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM leads), (SELECT count(*) FROM events), (SELECT count(*) FROM meetings)`).
		Scan(&c.Leads, &c.Events, &c.Meetings)
	if err != nil {
		return store.Counts{}, fmt.Errorf("counts: %w", err)
	}
	return c, nil
}
