package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/saleassist-pipeline/pipeline/pkg/store"
)

// insertEvents inserts a batch's events from arrays, one row per stored record.
const insertEvents = `INSERT INTO events (event_id, event_type, lead_id, received_at, stored_at, payload, invalid)
	SELECT event_id, event_type, lead_id, received_at, $5, payload, invalid
	FROM unnest($1::text[], $2::text[], $3::bigint[], $4::timestamptz[], $6::bytea[], $7::text[])
		AS u(event_id, event_type, lead_id, received_at, payload, invalid)`

// upsertMeeting: a later event about the same meeting overwrites what it sends and keeps the
// rest. One statement per meeting rather than a multi-row one, which would refuse a batch that
// names the same meeting twice (ON CONFLICT cannot touch a row twice); meetings are few.
const upsertMeeting = `INSERT INTO meetings (id, lead_id, event_id, name, scheduled_at, status,
	meeting_url, participants, timezone, duration_min, updated_at)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, $10, $11)
	ON CONFLICT (id) DO UPDATE SET
		lead_id      = coalesce(excluded.lead_id, meetings.lead_id),
		event_id     = excluded.event_id,
		name         = coalesce(nullif(excluded.name, ''), meetings.name),
		scheduled_at = coalesce(excluded.scheduled_at, meetings.scheduled_at),
		status       = coalesce(nullif(excluded.status, ''), meetings.status),
		meeting_url  = coalesce(nullif(excluded.meeting_url, ''), meetings.meeting_url),
		participants = coalesce(nullif(excluded.participants, '[]'::jsonb), meetings.participants),
		timezone     = coalesce(nullif(excluded.timezone, ''), meetings.timezone),
		duration_min = coalesce(nullif(excluded.duration_min, 0), meetings.duration_min),
		updated_at   = excluded.updated_at`

// writes collects one transaction's statements as a pipeline.
type writes struct {
	b      pgx.Batch
	now    time.Time
	events struct {
		ids, types []string
		leads      []pgtype.Int8
		received   []pgtype.Timestamptz
		payloads   [][]byte
		invalid    []pgtype.Text
	}
}

// event adds rec's event row, linked to leadID (0 for none).
func (w *writes) event(rec *store.Record, leadID int64) {
	e := &w.events
	e.ids = append(e.ids, rec.EventID)
	e.types = append(e.types, rec.EventType)
	e.leads = append(e.leads, pgtype.Int8{Int64: leadID, Valid: leadID != 0})
	e.received = append(e.received, timestamptz(rec.ReceivedAt))
	payload := rec.Payload
	if payload == nil {
		payload = []byte{} // NOT NULL; an absent payload is stored empty, as SQLite stores ''
	}
	e.payloads = append(e.payloads, payload)
	e.invalid = append(e.invalid, pgtype.Text{String: rec.Invalid, Valid: rec.Invalid != ""})
}

// meeting queues rec's meeting upsert, if it has one.
func (w *writes) meeting(rec *store.Record, leadID int64) error {
	m := rec.Meeting
	if m == nil {
		return nil
	}
	participants := []byte("[]")
	if len(m.Participants) > 0 {
		var err error
		if participants, err = json.Marshal(m.Participants); err != nil {
			return fmt.Errorf("meeting %q participants: %w", m.ID, err)
		}
	}
	w.b.Queue(upsertMeeting, m.ID, pgtype.Int8{Int64: leadID, Valid: leadID != 0}, rec.EventID, m.Name,
		timestamptz(m.ScheduledAt), m.Status, m.MeetingURL, string(participants), m.Timezone,
		m.DurationMin, w.now)
	return nil
}

// leads queues the inserts of created and the updates of changed, each one statement.
func (w *writes) leads(created, changed []*store.StoredLead) error {
	for _, q := range []struct {
		sql string
		ls  []*store.StoredLead
	}{{insertLeads, created}, {updateLeads, changed}} {
		if len(q.ls) == 0 {
			continue
		}
		var a leadArrays
		for _, l := range q.ls {
			if err := a.add(l); err != nil {
				return err
			}
		}
		w.b.Queue(q.sql, a.args()...)
	}
	return nil
}

// queueEvents queues the event rows collected so far (after the leads they name).
func (w *writes) queueEvents() {
	e := &w.events
	if len(e.ids) > 0 {
		w.b.Queue(insertEvents, e.ids, e.types, e.leads, e.received, w.now, e.payloads, e.invalid)
	}
}

// send runs the pipeline and returns the first error.
func (w *writes) send(ctx context.Context, conn *pgx.Conn) error {
	br := conn.SendBatch(ctx, &w.b)
	var first error
	for range w.b.Len() {
		if _, err := br.Exec(); err != nil && first == nil {
			first = err
		}
	}
	return errors.Join(first, br.Close())
}

// prepare is round trip 2, when needed: try-locks on the keys of the leads the plan changes that
// the transaction does not hold yet, and real ids for the leads it creates.
func prepare(ctx context.Context, conn *pgx.Conn, p *planner, held keySet) (map[int64]int64, error) {
	missing := held.missing(p.lockKeys())
	created := p.created()
	if len(missing) == 0 && len(created) == 0 {
		return nil, nil
	}
	b := &pgx.Batch{}
	got := true
	if len(missing) > 0 {
		// pg_try_advisory_xact_lock never waits, so taking these out of the sorted order cannot
		// deadlock (locks.go); bool_and still tries every key.
		b.Queue(`SELECT bool_and(pg_try_advisory_xact_lock(k)) FROM unnest($1::bigint[]) AS k`, missing).
			QueryRow(func(r pgx.Row) error { return r.Scan(&got) })
	}
	ids := make(map[int64]int64, len(created))
	if len(created) > 0 {
		b.Queue(`SELECT nextval('leads_id_seq') FROM generate_series(1, $1)`, len(created)).
			Query(func(rows pgx.Rows) error {
				i := 0
				var id int64
				_, err := pgx.ForEachRow(rows, []any{&id}, func() error {
					ids[created[i]] = id
					i++
					return nil
				})
				return err
			})
	}
	if err := conn.SendBatch(ctx, b).Close(); err != nil {
		return nil, fmt.Errorf("lock lead keys, draw lead ids: %w", err)
	}
	if !got {
		return nil, &busyKeysError{keys: missing}
	}
	for _, k := range missing {
		held[k] = struct{}{}
	}
	p.rekey(ids)
	return ids, nil
}

// realID maps a temporary lead id to the one prepare drew.
func realID(id int64, ids map[int64]int64) int64 {
	if r, ok := ids[id]; ok {
		return r
	}
	return id
}
