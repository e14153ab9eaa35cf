package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/saleassist-pipeline/pipeline"
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
		SELECT ids.id, u.account, ` + leadrules.TextColumns + `, attributes::jsonb, seen_at, created_at, updated_at
		FROM ` + leadUnnest + ` JOIN ids ON ids.n = u.id),
	new_events AS (
		INSERT INTO events (account, event_id, event_type, lead_id, received_at, stored_at, payload, invalid)
		SELECT e.account, e.event_id, e.event_type, coalesce(e.lead_id, ids.id), e.received_at, ` + param(0) + `, e.payload, e.invalid
		FROM unnest(` + param(1) + `::text[], ` + param(2) + `::text[], ` + param(3) + `::text[], ` + param(4) + `::bigint[], ` +
	param(5) + `::bigint[], ` + param(6) + `::timestamptz[], ` + param(7) + `::bytea[], ` + param(8) + `::text[])
			AS e(account, event_id, event_type, lead_id, new_lead, received_at, payload, invalid)
		LEFT JOIN ids ON ids.n = e.new_lead)
	SELECT n, id FROM ids`

// param names insertLeadsAndEvents' parameter i after the leads' arrays (leadArrays.args).
func param(i int) string { return fmt.Sprintf("$%d", leadArrayCount+1+i) }

// upsertMeetings writes a batch's meetings in one statement, one row per meeting: a later event
// about a meeting overwrites what it sends and keeps the rest. ON CONFLICT cannot touch a row
// twice in one statement, so a batch that names a meeting more than once sends it folded by the
// same rule (meetingRow.fold), which gives what one statement per event gave. A meeting's lead is
// that of the latest of its events that has one (lead_event), read back from events, which the
// pipeline wrote just before: a new lead's id is only known there. The lookup is a subquery per
// row, an index probe on events' primary key, never a scan of events.
const upsertMeetings = `INSERT INTO meetings (account, id, lead_id, event_id, name, scheduled_at, status,
	meeting_url, participants, timezone, duration_min, updated_at)
	SELECT m.account, m.id, (SELECT e.lead_id FROM events e WHERE e.account = m.account AND e.event_id = m.lead_event),
		m.event_id, m.name, m.scheduled_at, m.status, m.meeting_url, m.participants::jsonb, m.timezone, m.duration_min, $11
	FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::text[],
		$7::text[], $8::text[], $9::text[], $10::integer[], $12::text[])
		AS m(id, event_id, lead_event, name, scheduled_at, status, meeting_url, participants, timezone, duration_min, account)
	ON CONFLICT (account, id) DO UPDATE SET
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

// meetingRow is one meeting as the batch leaves it: its mentions folded in batch order.
type meetingRow struct {
	account   string
	m         pipeline.Meeting
	event     string // the last event about it
	leadEvent string // the last of its events linked to a lead ("" when none is)
}

// fold applies a later mention the way upsertMeetings' ON CONFLICT clause applies a later row:
// what it sends replaces, what it leaves empty is kept; its event becomes the meeting's.
func (r *meetingRow) fold(m *pipeline.Meeting, event string, hasLead bool) {
	r.event = event
	if hasLead {
		r.leadEvent = event
	}
	if m.Name != "" {
		r.m.Name = m.Name
	}
	if !m.ScheduledAt.IsZero() {
		r.m.ScheduledAt = m.ScheduledAt
	}
	if m.Status != "" {
		r.m.Status = m.Status
	}
	if m.MeetingURL != "" {
		r.m.MeetingURL = m.MeetingURL
	}
	if len(m.Participants) > 0 {
		r.m.Participants = m.Participants
	}
	if m.Timezone != "" {
		r.m.Timezone = m.Timezone
	}
	if m.DurationMin != 0 {
		r.m.DurationMin = m.DurationMin
	}
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
		accounts   []string
		ids, types []string
		leads      []pgtype.Int8 // a stored lead's id
		newLeads   []pgtype.Int8 // a new lead's ordinal
		received   []pgtype.Timestamptz
		payloads   [][]byte
		invalid    []pgtype.Text
	}
	// meetings are the batch's meetings folded by (account, id), in order of first mention.
	meetings    []*meetingRow
	meetingByID map[accountKey]*meetingRow
	// ids receives the new leads' real ids by temporary id, once the pipeline ran.
	ids map[int64]int64
}

func newWrites(now time.Time) *writes {
	return &writes{now: now, ordinal: map[int64]int64{}, ids: map[int64]int64{}, meetingByID: map[accountKey]*meetingRow{}}
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
func (w *writes) event(rec *pipeline.Record, leadID int64) {
	e := &w.events
	acct := store.Account(rec.Account)
	e.accounts = append(e.accounts, acct)
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
	if m := rec.Meeting; m != nil {
		k := accountKey{acct, m.ID}
		r := w.meetingByID[k]
		if r == nil {
			r = &meetingRow{account: acct, m: pipeline.Meeting{ID: m.ID}}
			w.meetingByID[k] = r
			w.meetings = append(w.meetings, r)
		}
		r.fold(m, rec.EventID, leadID != 0)
	}
}

// queue queues the statements: the new leads with the events, the changed leads, the meetings.
// An error is a value that cannot be encoded (a record's, never the batch's).
func (w *writes) queue() error {
	w.b.Queue(genericPlans)
	var created leadArrays
	for i, l := range w.created {
		if err := created.add(l); err != nil {
			return err
		}
		created.ids[i] = int64(i + 1) // the ordinal, not the temporary id
	}
	e := &w.events
	args := append(created.args(), w.now, e.accounts, e.ids, e.types, e.leads, e.newLeads, e.received, e.payloads, e.invalid)
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

// queueMeetings queues the batch's meetings, one row each, in one statement.
func (w *writes) queueMeetings() error {
	n := len(w.meetings)
	if n == 0 {
		return nil
	}
	ids, events, leadEvents, names := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	accounts := make([]string, n)
	statuses, urls, parts, zones := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	scheduled, durations := make([]pgtype.Timestamptz, n), make([]int, n)
	for i, r := range w.meetings {
		m := &r.m
		participants := []byte("[]")
		if len(m.Participants) > 0 {
			var err error
			if participants, err = json.Marshal(m.Participants); err != nil {
				return fmt.Errorf("meeting %q participants: %w", m.ID, err)
			}
		}
		ids[i], events[i], leadEvents[i], names[i], accounts[i] = m.ID, r.event, r.leadEvent, m.Name, r.account
		statuses[i], urls[i], parts[i], zones[i] = m.Status, m.MeetingURL, string(participants), m.Timezone
		scheduled[i], durations[i] = timestamptz(m.ScheduledAt), m.DurationMin
		if m.DurationMin > math.MaxInt32 || m.DurationMin < math.MinInt32 {
			// pgx would refuse to encode it in the pipeline, and close the connection.
			return store.DataError(fmt.Errorf("meeting %q: duration_min %d does not fit the integer column (at most %d)", m.ID, m.DurationMin, math.MaxInt32))
		}
	}
	w.b.Queue(upsertMeetings, ids, events, leadEvents, names, scheduled, statuses, urls, parts, zones, durations, w.now, accounts)
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

// genericPlans makes the writes that follow run on their prepared (generic) plans. Left to
// itself PostgreSQL plans each execution anew with the batch's arrays folded in as constants (a
// "custom" plan), which copies every array, the payloads too, several times over. The writes'
// plans do not depend on the values: multi-row inserts, and updates and lookups by primary or
// unique key. Not for the lookups of round trip 1: on a generic plan they guess 100 rows per
// array and may scan a table rather than probe its index. SET LOCAL: it ends with the
// transaction, and the writes are its last statements.
const genericPlans = `SET LOCAL plan_cache_mode = force_generic_plan`
