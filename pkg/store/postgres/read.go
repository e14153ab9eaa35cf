package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/saleassist-pipeline/pipeline/pkg/store"
)

// Lead returns the lead with the given id, or store.ErrNotFound.
func (db *DB) Lead(ctx context.Context, id int64) (*store.StoredLead, error) {
	l, err := db.oneLead(ctx, `SELECT `+leadColumns+` FROM leads WHERE id = $1`, id)
	if err != nil {
		return nil, fmt.Errorf("lead %d: %w", id, err)
	}
	return l, nil
}

// LeadByEmail returns the lead with the given normalized email, or store.ErrNotFound. An empty
// email matches nothing: email-less leads are not one person.
func (db *DB) LeadByEmail(ctx context.Context, email string) (*store.StoredLead, error) {
	if email == "" {
		return nil, fmt.Errorf("lead by empty email: %w", store.ErrNotFound)
	}
	l, err := db.oneLead(ctx, `SELECT `+leadColumns+` FROM leads WHERE email = $1 AND email <> ''`, email)
	if err != nil {
		return nil, fmt.Errorf("lead by email: %w", err)
	}
	return l, nil
}

func (db *DB) oneLead(ctx context.Context, sql string, arg any) (*store.StoredLead, error) {
	var found *store.StoredLead
	rows, err := db.pool.Query(ctx, sql, arg)
	if err := readLeads(rows, err, nil, func(l *store.StoredLead) { found = l }); err != nil {
		return nil, err
	}
	if found == nil {
		return nil, store.ErrNotFound
	}
	return found, nil
}

// Event returns the stored event with the given id, or store.ErrNotFound.
func (db *DB) Event(ctx context.Context, eventID string) (*store.StoredEvent, error) {
	var (
		ev       store.StoredEvent
		leadID   pgtype.Int8
		received pgtype.Timestamptz
		invalid  pgtype.Text
	)
	err := db.pool.QueryRow(ctx, `SELECT event_id, event_type, lead_id, received_at, payload, invalid
		FROM events WHERE event_id = $1`, eventID).
		Scan(&ev.EventID, &ev.EventType, &leadID, &received, &ev.Payload, &invalid)
	if errors.Is(err, pgx.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("event %q: %w", eventID, err)
	}
	ev.LeadID = leadID.Int64
	ev.Invalid = invalid.String
	ev.ReceivedAt = fromTimestamptz(received)
	if len(ev.Payload) == 0 {
		ev.Payload = nil
	}
	return &ev, nil
}

// Counts returns how many leads, events and meetings are stored, read in one snapshot.
func (db *DB) Counts(ctx context.Context) (store.Counts, error) {
	var c store.Counts
	err := db.pool.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM leads), (SELECT count(*) FROM events), (SELECT count(*) FROM meetings)`).
		Scan(&c.Leads, &c.Events, &c.Meetings)
	if err != nil {
		return store.Counts{}, fmt.Errorf("counts: %w", err)
	}
	return c, nil
}
