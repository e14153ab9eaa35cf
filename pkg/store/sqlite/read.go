package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/saleassist-pipeline/pipeline/pkg/store"
)

// Lead returns the lead with the given id, or store.ErrNotFound.
func (db *DB) Lead(ctx context.Context, id int64) (*store.StoredLead, error) {
	l, err := scanLead(db.read.QueryRowContext(ctx, `SELECT `+leadColumns+` FROM leads WHERE id = ?`, id))
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
	l, err := scanLead(db.read.QueryRowContext(ctx, `SELECT `+leadColumns+` FROM leads WHERE `+byEmail, email))
	if err != nil {
		return nil, fmt.Errorf("lead by email: %w", err)
	}
	return l, nil
}

// Event returns the stored event with the given id, or store.ErrNotFound.
func (db *DB) Event(ctx context.Context, eventID string) (*store.StoredEvent, error) {
	var (
		ev                store.StoredEvent
		leadID            sql.NullInt64
		received, payload string
		invalid           sql.NullString
	)
	err := db.read.QueryRowContext(ctx, `SELECT event_id, event_type, lead_id, received_at, payload, invalid
		FROM events WHERE event_id = ?`, eventID).
		Scan(&ev.EventID, &ev.EventType, &leadID, &received, &payload, &invalid)
	if errors.Is(err, sql.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("event %q: %w", eventID, err)
	}
	ev.LeadID = leadID.Int64
	ev.Invalid = invalid.String
	if payload != "" {
		ev.Payload = []byte(payload)
	}
	if ev.ReceivedAt, err = parseTime(received); err != nil {
		return nil, fmt.Errorf("event %q: %w", eventID, err)
	}
	return &ev, nil
}

// Counts returns how many leads, events and meetings are stored, read in one snapshot.
func (db *DB) Counts(ctx context.Context) (store.Counts, error) {
	var c store.Counts
	err := db.read.QueryRowContext(ctx, `SELECT
		(SELECT count(*) FROM leads), (SELECT count(*) FROM events), (SELECT count(*) FROM meetings)`).
		Scan(&c.Leads, &c.Events, &c.Meetings)
	if err != nil {
		return store.Counts{}, fmt.Errorf("counts: %w", err)
	}
	return c, nil
}
