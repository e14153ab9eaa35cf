package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/saleassist-pipeline/pipeline/pkg/store"
	"github.com/saleassist-pipeline/pipeline/pkg/store/leadrules"
)

// insertLeadsAndEvents writes a batch's new leads and all its events in one statement, so the
// events can name leads whose ids the sequence gives out in that same statement: no round trip
// to draw ids first. Parameters: leadArrays.args with each new lead's ordinal (1, 2, …, in
// creation order) where the id goes; then the events' arrays, each event naming its lead by id
// (a stored lead) or by ordinal (a new one). ids is materialized, so the leads and the events
// see the same ids; generate_series emits the ordinals in order and nextval runs row by row, so
// ids ascend in creation order as the planner's temporary ones did. It returns (ordinal, id).
// The events' foreign key is checked at the end of the statement, when the leads are there.
var insertLeadsAndEvents = `WITH ids AS MATERIALIZED (
		SELECT n, nextval('leads_id_seq') AS id FROM generate_series(1, cardinality($1::bigint[])) AS n),
	new_leads AS (
		INSERT INTO leads (` + leadColumns + `)
		SELECT ids.id, ` + leadrules.TextColumns + `, attributes::jsonb, seen_at, created_at, updated_at
		FROM ` + leadUnnest + ` JOIN ids ON ids.n = u.id),
	new_events AS (
		INSERT INTO events (event_id, event_type, lead_id, received_at, stored_at, payload, invalid)
		SELECT e.event_id, e.event_type, coalesce(e.lead_id, ids.id), e.received_at, $23, e.payload, e.invalid
		FROM unnest($24::text[], $25::text[], $26::bigint[], $27::bigint[], $28::timestamptz[], $29::bytea[], $30::text[])
			AS e(event_id, event_type, lead_id, new_lead, received_at, payload, invalid)
		LEFT JOIN ids ON ids.n = e.new_lead)
	SELECT n, id FROM ids`

// upsertMeetings writes a set of meetings with distinct ids in one statement: a later event
// about a meeting overwrites what it sends and keeps the rest. Each meeting's lead is its event's,
// read back from events, which the pipeline wrote just before (a new lead's id is only known
// there). ON CONFLICT cannot touch a row twice in one statement, so a batch that names the same
// meeting more than once is written in waves (queueMeetings): the n-th mention of every meeting
// in the n-th statement, in batch order, which gives what one statement per event gave.
const upsertMeetings = `INSERT INTO meetings (id, lead_id, event_id, name, scheduled_at, status,
	meeting_url, participants, timezone, duration_min, updated_at)
	SELECT m.id, e.lead_id, m.event_id, m.name, m.scheduled_at, m.status, m.meeting_url,
		m.participants::jsonb, m.timezone, m.duration_min, $10
	FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::text[], $6::text[],
		$7::text[], $8::text[], $9::integer[])
		AS m(id, event_id, name, scheduled_at, status, meeting_url, participants, timezone, duration_min)
	LEFT JOIN events e ON e.event_id = m.event_id
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

// meetingArrays are one upsertMeetings statement's parameters.
type meetingArrays struct {
	ids, events, names        []string
	scheduled                 []pgtype.Timestamptz
	statuses, urls, parts, tz []string
	durations                 []int
}

func (a *meetingArrays) add(rec *store.Record) error {
	m := rec.Meeting
	participants := []byte("[]")
	if len(m.Participants) > 0 {
		var err error
		if participants, err = json.Marshal(m.Participants); err != nil {
			return fmt.Errorf("meeting %q participants: %w", m.ID, err)
		}
	}
	a.ids = append(a.ids, m.ID)
	a.events = append(a.events, rec.EventID)
	a.names = append(a.names, m.Name)
	a.scheduled = append(a.scheduled, timestamptz(m.ScheduledAt))
	a.statuses = append(a.statuses, m.Status)
	a.urls = append(a.urls, m.MeetingURL)
	a.parts = append(a.parts, string(participants))
	a.tz = append(a.tz, m.Timezone)
	a.durations = append(a.durations, m.DurationMin)
	return nil
}

// writes collects one transaction's writes as a pipeline: its last round trip.
type writes struct {
	b   pgx.Batch
	now time.Time
	// created are the new leads, changed the stored leads the batch changed, in their final state.
	created, changed []*store.StoredLead
	// ordinal numbers the new leads by temporary id (1, 2, …).
	ordinal map[int64]int64
	events  struct {
		ids, types []string
		leads      []pgtype.Int8 // a stored lead's id
		newLeads   []pgtype.Int8 // a new lead's ordinal
		received   []pgtype.Timestamptz
		payloads   [][]byte
		invalid    []pgtype.Text
	}
	meetings []*store.Record
	// ids receives the new leads' real ids by temporary id, once the pipeline ran.
	ids map[int64]int64
}

func newWrites(now time.Time) *writes {
	return &writes{now: now, ordinal: map[int64]int64{}, ids: map[int64]int64{}}
}

// lead adds a lead the batch created (orig == nil) or changed.
func (w *writes) lead(e *entry) {
	if e.orig != nil {
		w.changed = append(w.changed, &e.l)
		return
	}
	w.created = append(w.created, &e.l)
	w.ordinal[e.l.ID] = int64(len(w.created))
}

// event adds rec's event row (and meeting), linked to leadID (0 for none; temporary for a new
// lead, which must have been added first).
func (w *writes) event(rec *store.Record, leadID int64) {
	e := &w.events
	e.ids = append(e.ids, rec.EventID)
	e.types = append(e.types, rec.EventType)
	n, isNew := w.ordinal[leadID]
	e.leads = append(e.leads, pgtype.Int8{Int64: leadID, Valid: leadID != 0 && !isNew})
	e.newLeads = append(e.newLeads, pgtype.Int8{Int64: n, Valid: isNew})
	e.received = append(e.received, timestamptz(rec.ReceivedAt))
	payload := rec.Payload
	if payload == nil {
		payload = []byte{} // NOT NULL; an absent payload is stored empty, as SQLite stores ''
	}
	e.payloads = append(e.payloads, payload)
	e.invalid = append(e.invalid, pgtype.Text{String: rec.Invalid, Valid: rec.Invalid != ""})
	if rec.Meeting != nil {
		w.meetings = append(w.meetings, rec)
	}
}

// queue queues the statements: the new leads with the events, the changed leads, the meetings.
// An error is a value that cannot be encoded (a record's, never the batch's).
func (w *writes) queue() error {
	var created leadArrays
	for i, l := range w.created {
		if err := created.add(l); err != nil {
			return err
		}
		created.ids[i] = int64(i + 1) // the ordinal, not the temporary id
	}
	e := &w.events
	args := append(created.args(), w.now, e.ids, e.types, e.leads, e.newLeads, e.received, e.payloads, e.invalid)
	temp := make([]int64, len(w.created))
	for i, l := range w.created {
		temp[i] = l.ID
	}
	w.b.Queue(insertLeadsAndEvents, args...).Query(func(rows pgx.Rows) error {
		var n, id int64
		_, err := pgx.ForEachRow(rows, []any{&n, &id}, func() error {
			w.ids[temp[n-1]] = id
			return nil
		})
		return err
	})
	if len(w.changed) > 0 {
		var changed leadArrays
		for _, l := range w.changed {
			if err := changed.add(l); err != nil {
				return err
			}
		}
		w.b.Queue(updateLeads, changed.args()...)
	}
	return w.queueMeetings()
}

// queueMeetings queues the batch's meetings: one statement per wave, where wave n holds the n-th
// mention of each meeting (almost always a single wave).
func (w *writes) queueMeetings() error {
	var waves []*meetingArrays
	seen := make(map[string]int, len(w.meetings))
	for _, rec := range w.meetings {
		n := seen[rec.Meeting.ID]
		seen[rec.Meeting.ID] = n + 1
		if n == len(waves) {
			waves = append(waves, &meetingArrays{})
		}
		if err := waves[n].add(rec); err != nil {
			return err
		}
	}
	for _, a := range waves {
		w.b.Queue(upsertMeetings, a.ids, a.events, a.names, a.scheduled, a.statuses, a.urls, a.parts, a.tz, a.durations, w.now)
	}
	return nil
}

// send runs the pipeline; the first error is returned.
func (w *writes) send(ctx context.Context, conn *pgx.Conn) error {
	return conn.SendBatch(ctx, &w.b).Close()
}

// realID maps a temporary lead id to the one the sequence gave.
func (w *writes) realID(id int64) int64 {
	if r, ok := w.ids[id]; ok {
		return r
	}
	return id
}

// lockChanged is round trip 2, only when needed: try-locks on the keys of the stored leads the
// plan changes that the transaction does not hold yet (locks.go).
func lockChanged(ctx context.Context, conn *pgx.Conn, p *planner, held keySet) error {
	missing := held.missing(p.lockKeys())
	if len(missing) == 0 {
		return nil
	}
	// pg_try_advisory_xact_lock never waits, so taking these out of the sorted order cannot
	// deadlock; bool_and still tries every key.
	var got bool
	if err := conn.QueryRow(ctx, `SELECT bool_and(pg_try_advisory_xact_lock(k)) FROM unnest($1::bigint[]) AS k`,
		missing).Scan(&got); err != nil {
		return fmt.Errorf("lock lead keys: %w", err)
	}
	if !got {
		return &busyKeysError{keys: missing}
	}
	for _, k := range missing {
		held[k] = struct{}{}
	}
	return nil
}
