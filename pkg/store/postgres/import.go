package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/saleassist-pipeline/pipeline/pkg/store"
	"github.com/saleassist-pipeline/pipeline/pkg/store/leadrules"
)

// The Import methods write rows copied from another store (package storecopy, `ingestctl
// migrate-store`), keeping their ids. Each call is one transaction and one round trip: insert
// the rows that are missing (ON CONFLICT DO NOTHING, so a rerun after an interruption writes only
// what the last run did not), then compare every row of the call with what the table holds under
// its id. A row that is missing (another row holds its unique email or event id) or different
// means the database is not an earlier copy of the same source: the transaction rolls back and
// the error wraps store.ErrDifferentData. The id sequences are moved past the highest id copied,
// so leads and events the workers write later get new ids; setval is not transactional, which
// is harmless here: a rolled-back call leaves at most a gap in the ids.
//
// The leads are written through the same column arrays as Apply (leadArrays), so text, the
// NULL of a missing email, attributes and times are encoded once for both.

// importLeads inserts the leads of leadArrays.args that are missing.
var importLeads = `INSERT INTO leads (` + leadColumns + `)
	SELECT id, account, ` + leadrules.TextColumns + `, attributes::jsonb, seen_at, created_at, updated_at
	FROM ` + leadUnnest + ` ON CONFLICT DO NOTHING`

// compareLeads returns the ids of leadArrays.args that the table lacks or holds otherwise.
var compareLeads = func() string {
	var l, u []string
	for _, c := range strings.Split(leadrules.TextColumns, ",") {
		c = strings.TrimSpace(c)
		l, u = append(l, "l."+c), append(u, "u."+c)
	}
	l = append(l, "l.attributes", "l.seen_at", "l.created_at", "l.updated_at", "l.account")
	u = append(u, "u.attributes::jsonb", "u.seen_at", "u.created_at", "u.updated_at", "u.account")
	return `SELECT u.id::text FROM ` + leadUnnest + ` LEFT JOIN leads l ON l.id = u.id
		WHERE l.id IS NULL OR (` + strings.Join(l, ", ") + `) IS DISTINCT FROM (` + strings.Join(u, ", ") + `)
		ORDER BY u.id LIMIT 6`
}()

const eventUnnest = `unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[], $5::timestamptz[],
	$6::timestamptz[], $7::bytea[], $8::text[], $9::text[])
	AS u(id, event_id, event_type, lead_id, received_at, stored_at, payload, invalid, account)`

// importEvents keeps the events' row ids (OVERRIDING SYSTEM VALUE: the column is GENERATED
// ALWAYS), so a lead's history is in the same order as in the source.
const importEvents = `INSERT INTO events (id, event_id, event_type, lead_id, received_at, stored_at, payload, invalid, account)
	OVERRIDING SYSTEM VALUE SELECT * FROM ` + eventUnnest + ` ON CONFLICT DO NOTHING`

const compareEvents = `SELECT u.event_id FROM ` + eventUnnest + ` LEFT JOIN events e ON e.id = u.id
	WHERE e.id IS NULL OR (e.account, e.event_id, e.event_type, e.lead_id, e.received_at, e.stored_at, e.payload, e.invalid)
		IS DISTINCT FROM (u.account, u.event_id, u.event_type, u.lead_id, u.received_at, u.stored_at, u.payload, u.invalid)
	ORDER BY u.id LIMIT 6`

const meetingUnnest = `unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::timestamptz[], $6::text[],
	$7::text[], $8::text[], $9::text[], $10::integer[], $11::timestamptz[], $12::text[])
	AS u(id, lead_id, event_id, name, scheduled_at, status, meeting_url, participants, timezone, duration_min, updated_at, account)`

const importMeetings = `INSERT INTO meetings (account, id, lead_id, event_id, name, scheduled_at, status, meeting_url,
	participants, timezone, duration_min, updated_at)
	SELECT account, id, lead_id, event_id, name, scheduled_at, status, meeting_url, participants::jsonb, timezone,
		duration_min, updated_at
	FROM ` + meetingUnnest + ` ON CONFLICT DO NOTHING`

const compareMeetings = `SELECT u.account || '/' || u.id FROM ` + meetingUnnest + `
	LEFT JOIN meetings m ON m.account = u.account AND m.id = u.id
	WHERE m.id IS NULL OR (m.lead_id, m.event_id, m.name, m.scheduled_at, m.status, m.meeting_url,
		m.participants, m.timezone, m.duration_min, m.updated_at)
		IS DISTINCT FROM (u.lead_id, u.event_id, u.name, u.scheduled_at, u.status, u.meeting_url,
		u.participants::jsonb, u.timezone, u.duration_min, u.updated_at)
	ORDER BY u.account, u.id LIMIT 6`

// setSequence moves the table's id sequence to $2 unless it is past it already.
const setSequence = `SELECT setval(s, greatest($2, coalesce(pg_sequence_last_value(s), 0)))
	FROM (SELECT pg_get_serial_sequence($1, 'id')::regclass AS s) q`

// ImportLeads writes leads copied from another store with their ids, and returns how many were
// missing (0 when all were there already). See the comment above importLeads.
func (db *DB) ImportLeads(ctx context.Context, leads []store.StoredLead) (int64, error) {
	if len(leads) == 0 {
		return 0, nil
	}
	var a leadArrays
	for i := range leads {
		if err := a.add(&leads[i]); err != nil {
			return 0, fmt.Errorf("lead %d: %w", leads[i].ID, err)
		}
	}
	return db.importRows(ctx, "leads", importLeads, compareLeads, a.args(), leads[len(leads)-1].ID)
}

// ImportEvents writes events copied from another store with their row ids, payloads byte for
// byte; it returns how many were missing. Their leads must have been imported first.
func (db *DB) ImportEvents(ctx context.Context, events []store.EventRow) (int64, error) {
	if len(events) == 0 {
		return 0, nil
	}
	var (
		ids, leads       []pgtype.Int8
		eventIDs, types  []string
		accounts         []string
		received, stored []pgtype.Timestamptz
		payloads         [][]byte
		invalid          []pgtype.Text
		maxID            int64
	)
	for _, e := range events {
		ids = append(ids, pgtype.Int8{Int64: e.ID, Valid: true})
		eventIDs, types = append(eventIDs, e.EventID), append(types, e.EventType)
		accounts = append(accounts, store.Account(e.Account))
		leads = append(leads, pgtype.Int8{Int64: e.LeadID, Valid: e.LeadID != 0})
		received = append(received, timestamptz(e.ReceivedAt))
		stored = append(stored, pgtype.Timestamptz{Time: e.StoredAt, Valid: true})
		payload := e.Payload
		if payload == nil {
			payload = []byte{} // NOT NULL; SQLite's '' and Apply's nil are stored empty
		}
		payloads = append(payloads, payload)
		invalid = append(invalid, pgtype.Text{String: e.Invalid, Valid: e.Invalid != ""})
		maxID = max(maxID, e.ID)
	}
	args := []any{ids, eventIDs, types, leads, received, stored, payloads, invalid, accounts}
	return db.importRows(ctx, "events", importEvents, compareEvents, args, maxID)
}

// ImportMeetings writes meetings copied from another store; it returns how many were missing.
// Their leads and events must have been imported first.
func (db *DB) ImportMeetings(ctx context.Context, meetings []store.StoredMeeting) (int64, error) {
	if len(meetings) == 0 {
		return 0, nil
	}
	var (
		ids, eventIDs, names, statuses, urls, parts, zones []string
		accounts                                           []string
		leads                                              []pgtype.Int8
		sched                                              []pgtype.Timestamptz
		durations                                          []int32
		updated                                            []time.Time
	)
	for _, m := range meetings {
		p := []byte("[]")
		if len(m.Participants) > 0 {
			var err error
			if p, err = json.Marshal(m.Participants); err != nil {
				return 0, fmt.Errorf("meeting %q participants: %w", m.ID, err)
			}
		}
		ids, eventIDs, names = append(ids, m.ID), append(eventIDs, m.EventID), append(names, m.Name)
		accounts = append(accounts, store.Account(m.Account))
		leads = append(leads, pgtype.Int8{Int64: m.LeadID, Valid: m.LeadID != 0})
		sched = append(sched, timestamptz(m.ScheduledAt))
		statuses, urls, parts = append(statuses, m.Status), append(urls, m.MeetingURL), append(parts, string(p))
		zones, durations = append(zones, m.Timezone), append(durations, int32(m.DurationMin))
		updated = append(updated, m.UpdatedAt)
	}
	args := []any{ids, leads, eventIDs, names, sched, statuses, urls, parts, zones, durations, updated, accounts}
	return db.importRows(ctx, "meetings", importMeetings, compareMeetings, args, 0)
}

// importRows runs one Import call's transaction: insert, compare, and (maxID > 0) move the
// table's id sequence past maxID, pipelined in one round trip.
func (db *DB) importRows(ctx context.Context, table, insert, compare string, args []any, maxID int64) (int64, error) {
	var (
		inserted int64
		differ   []string
	)
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		var b pgx.Batch
		b.Queue(insert, args...).Exec(func(ct pgconn.CommandTag) error {
			inserted = ct.RowsAffected()
			return nil
		})
		b.Queue(compare, args...).Query(func(rows pgx.Rows) error {
			var err error
			differ, err = pgx.CollectRows(rows, pgx.RowTo[string])
			return err
		})
		if maxID > 0 {
			b.Queue(setSequence, table, maxID)
		}
		if err := tx.SendBatch(ctx, &b).Close(); err != nil {
			return err
		}
		if len(differ) > 0 {
			return differentData(table, differ)
		}
		return nil
	})
	if err != nil {
		if errors.Is(err, store.ErrDifferentData) {
			return 0, err
		}
		return 0, fmt.Errorf("import %s: %w", table, err)
	}
	return inserted, nil
}

func differentData(table string, keys []string) error {
	more := ""
	if len(keys) > 5 {
		keys, more = keys[:5], ", …"
	}
	return fmt.Errorf("%s %s%s: %w", table, strings.Join(keys, ", "), more, store.ErrDifferentData)
}

// OtherSessions describes the sessions connected to this database other than the ones whose
// application_name is self (the caller's own pool): who might write while a copy runs. Each is
// "application_name from client address"; none is an empty slice.
func (db *DB) OtherSessions(ctx context.Context, self string) ([]string, error) {
	rows, err := db.pool.Query(ctx, `SELECT coalesce(nullif(application_name, ''), 'a client without application_name')
		|| ' from ' || coalesce(host(client_addr), 'the local socket')
		FROM pg_stat_activity
		WHERE datname = current_database() AND backend_type = 'client backend'
			AND pid <> pg_backend_pid() AND application_name IS DISTINCT FROM $1
		ORDER BY backend_start`, self)
	if err != nil {
		return nil, fmt.Errorf("list the database's sessions: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// importFields writes kept fields, each replacing the target's row with its key: the source's
// count is the whole count, so adding it (as KeepFields does) would count a resumed copy twice.
// A row already equal is not rewritten, so a re-run writes nothing.
const importFields = `INSERT INTO event_fields AS f
	(account, event_type, path, types, count, first_seen, last_seen, example, masked)
	SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::smallint[], $5::bigint[],
		$6::timestamptz[], $7::timestamptz[], $8::text[], $9::boolean[])
	ON CONFLICT (account, event_type, path) DO UPDATE SET
		types = excluded.types, count = excluded.count, first_seen = excluded.first_seen,
		last_seen = excluded.last_seen, example = excluded.example, masked = excluded.masked
	WHERE (f.types, f.count, f.first_seen, f.last_seen, f.example, f.masked) IS DISTINCT FROM
		(excluded.types, excluded.count, excluded.first_seen, excluded.last_seen, excluded.example, excluded.masked)`

// ImportFields writes the kept schema's fields copied from another store (the schema explorer's
// event_fields), each replacing the row with its key; it returns how many rows it wrote (0 when
// all were there already, unchanged).
func (db *DB) ImportFields(ctx context.Context, fields []store.Field) (int64, error) {
	if len(fields) == 0 {
		return 0, nil
	}
	tag, err := db.pool.Exec(ctx, importFields, fieldArrays(fields)...)
	if err != nil {
		return 0, fmt.Errorf("import %d fields: %w", len(fields), err)
	}
	return tag.RowsAffected(), nil
}

// FieldCount returns how many kept fields (rows of event_fields) the database holds in all
// accounts: what a copy of a whole store (storecopy) compares.
func (db *DB) FieldCount(ctx context.Context) (int64, error) {
	var n int64
	if err := db.pool.QueryRow(ctx, `SELECT count(*) FROM event_fields`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count fields: %w", err)
	}
	return n, nil
}
