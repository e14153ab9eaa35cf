package sqlite

import (
	"context"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/mattn/go-sqlite3"

	"github.com/saleassist-pipeline/pipeline"
	"github.com/saleassist-pipeline/pipeline/pkg/store"
)

// Apply writes records in one BEGIN IMMEDIATE transaction. One commit per batch is what makes
// batches fast: a commit is one WAL append (and, with synchronous=FULL, one fsync), and the write
// lock is taken once.
//
// Each record must be atomic on its own: one that fails leaves no trace while its batch-mates
// commit. Records almost never fail (the worker validates them first), so the batch is first
// written without per-record savepoints, which would cost two more statements per record and a
// copy of every page a record touches first into SQLite's sub-journal. If a record fails, that
// transaction is rolled back and the batch is written again with a SAVEPOINT around each record,
// so the failing one is rolled back alone.
//
// A record error that means the whole transaction is unusable (the context ended, the database
// was busy or locked, or a savepoint could not be rolled back) fails the batch instead, so the
// caller retries every record rather than giving up on one. Errors are marked by what they say
// (classify: store.DataError, store.Unavailable).
func (db *DB) Apply(ctx context.Context, records []pipeline.Record) ([]pipeline.Result, error) {
	if len(records) == 0 {
		return []pipeline.Result{}, nil
	}
	results, err := db.apply(ctx, records, false)
	if errors.Is(err, errRecordFailed) {
		results, err = db.apply(ctx, records, true)
	}
	if err != nil {
		err = fmt.Errorf("apply %d records: %w", len(records), err)
		if ctx.Err() != nil { // the deadline, whatever error it surfaced as (an interrupt)
			return nil, store.Unavailable(store.ReasonTimeout, err)
		}
		return nil, classify(err)
	}
	db.ckpt.committed()
	return results, nil
}

// errRecordFailed is what apply without savepoints returns when a record fails on its own: the
// transaction is rolled back, and the batch must be written again with savepoints.
var errRecordFailed = errors.New("a record failed")

// apply writes records in one transaction; with isolate, each record inside its own savepoint.
func (db *DB) apply(ctx context.Context, records []pipeline.Record, isolate bool) (results []pipeline.Result, err error) {
	err = db.withWriteConn(ctx, func(c *sqlite3.SQLiteConn, s *stmts) error {
		results, err = applyOn(ctx, c, s, records, isolate)
		return err
	})
	return results, err
}

// applyOn is apply on the write connection c.
func applyOn(ctx context.Context, c *sqlite3.SQLiteConn, s *stmts, records []pipeline.Record, isolate bool) (_ []pipeline.Result, err error) {
	// BEGIN IMMEDIATE takes the write lock up front, waiting up to busy_timeout; ctx bounds the
	// wait too (go-sqlite3 interrupts a statement whose context ends).
	if _, err := c.ExecContext(ctx, `BEGIN IMMEDIATE`, nil); err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	committed := false
	defer func() {
		if committed {
			return
		}
		_, _ = c.ExecContext(context.Background(), `ROLLBACK`, nil)
		if !c.AutoCommit() {
			// Still inside the transaction: the connection must not go back to the pool
			// like this (every later BEGIN would fail), so database/sql discards it.
			err = errors.Join(err, fmt.Errorf("roll back: transaction still open: %w", driver.ErrBadConn))
		}
	}()

	// The statements run without ctx: go-sqlite3 runs a statement whose context can end on a
	// goroutine of its own and waits for it (to interrupt it on cancellation), a goroutine start
	// and two switches per statement, which made the store wait for the scheduler more than for
	// SQLite. Every statement here is short (the write lock is already held), so ctx is checked
	// between records instead; ending it rolls the transaction back.
	w := &writer{s: s, now: time.Now()}
	if err := w.findStored(records); err != nil {
		return nil, err
	}
	results := make([]pipeline.Result, len(records))
	for i := range records {
		rec := &records[i]
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("event %q: %w", rec.EventID, err)
		}
		res, err := w.record(rec, isolate)
		if err != nil {
			if ctx.Err() != nil || IsTransient(err) {
				return nil, fmt.Errorf("event %q: %w", rec.EventID, err)
			}
			if !isolate {
				return nil, errRecordFailed
			}
			if rbErr := w.undo(); rbErr != nil {
				return nil, fmt.Errorf("event %q: %w (rollback: %w)", rec.EventID, err, rbErr)
			}
			res = pipeline.Result{Err: classify(fmt.Errorf("store event %q: %w", rec.EventID, err))}
		}
		results[i] = res
	}
	if _, err := c.ExecContext(context.Background(), `COMMIT`, nil); err != nil {
		return nil, fmt.Errorf("commit: %w", err)
	}
	committed = true
	return results, nil
}

// writer applies records inside one transaction.
type writer struct {
	runner
	s   *stmts
	now time.Time
	// stored maps the (account, event id)s of the batch that were already stored when the
	// transaction began, and those the batch has stored since, to their lead ids (0 for none):
	// the dedupe, per account.
	stored map[eventKey]int64
	// row receives the columns of a lead lookup.
	row [leadColumnCount]driver.Value
}

// eventKey identifies a stored event: its id is unique within its account only.
type eventKey struct{ account, id string }

// findStored looks up which of records' event ids are already stored in their accounts,
// dedupeChunk ids of one account per query, rather than one lookup per record: one round trip
// into SQLite for a whole chunk (a batch is usually of one account). The transaction holds the
// write lock, so nothing can store them in between.
func (w *writer) findStored(records []pipeline.Record) error {
	w.stored = make(map[eventKey]int64, len(records))
	byAccount := map[string][]string{}
	var accounts []string
	for i := range records {
		a := store.Account(records[i].Account)
		if _, ok := byAccount[a]; !ok {
			accounts = append(accounts, a)
		}
		byAccount[a] = append(byAccount[a], records[i].EventID)
	}
	for _, a := range accounts {
		if err := w.findStoredIn(a, byAccount[a]); err != nil {
			return err
		}
	}
	return nil
}

// findStoredIn is findStored for the event ids of one account.
func (w *writer) findStoredIn(acct string, ids []string) error {
	args := make([]any, 1+dedupeChunk)
	args[0] = acct
	dest := make([]driver.Value, 2)
	for start := 0; start < len(ids); start += dedupeChunk {
		chunk := ids[start:min(start+dedupeChunk, len(ids))]
		for i := range dedupeChunk {
			args[1+i] = "" // never an event id (CHECK event_id <> '')
			if i < len(chunk) {
				args[1+i] = chunk[i]
			}
		}
		err := w.query(w.s.storedEvents, dest, func() error {
			id, err := text(dest[0])
			if err != nil {
				return err
			}
			lead, err := integer(dest[1])
			if err != nil {
				return err
			}
			w.stored[eventKey{acct, id}] = lead
			return nil
		}, args...)
		if err != nil {
			return fmt.Errorf("look up events: %w", err)
		}
	}
	return nil
}

// record writes one record; with isolate, inside a savepoint, which it releases on success. On
// error the savepoint is left open for undo.
func (w *writer) record(rec *pipeline.Record, isolate bool) (pipeline.Result, error) {
	if isolate {
		if _, err := w.exec(w.s.savepoint); err != nil {
			return pipeline.Result{}, fmt.Errorf("savepoint: %w", err)
		}
	}
	// Check first rather than INSERT … ON CONFLICT: the lead must not be touched for a
	// duplicate, and the check is race-free because this transaction holds the write lock.
	// w.stored holds what was stored before the batch (findStored) and what the batch stored.
	key := eventKey{store.Account(rec.Account), rec.EventID}
	if existing, ok := w.stored[key]; ok {
		if err := w.release(isolate); err != nil {
			return pipeline.Result{}, err
		}
		return pipeline.Result{Outcome: pipeline.Duplicate, LeadID: existing}, nil
	}

	var (
		leadID int64
		err    error
	)
	if rec.Lead != nil {
		if leadID, err = w.mergeLead(key.account, rec.Lead); err != nil {
			return pipeline.Result{}, err
		}
	}
	var invalid any
	if rec.Invalid != "" {
		invalid = rec.Invalid
	}
	if _, err := w.exec(w.s.insertEvent, key.account, rec.EventID, rec.EventType, nullID(leadID),
		formatTime(rec.ReceivedAt), formatTime(w.now), string(rec.Payload), invalid); err != nil {
		return pipeline.Result{}, fmt.Errorf("insert event: %w", err)
	}
	if m := rec.Meeting; m != nil {
		participants := []byte("[]")
		if len(m.Participants) > 0 {
			if participants, err = json.Marshal(m.Participants); err != nil {
				return pipeline.Result{}, fmt.Errorf("meeting %q participants: %w", m.ID, err)
			}
		}
		if _, err := w.exec(w.s.upsertMeeting, key.account, m.ID, nullID(leadID), rec.EventID, m.Name,
			formatTime(m.ScheduledAt), m.Status, m.MeetingURL, string(participants), m.Timezone,
			m.DurationMin, formatTime(w.now)); err != nil {
			return pipeline.Result{}, fmt.Errorf("upsert meeting %q: %w", m.ID, err)
		}
	}
	if err := w.release(isolate); err != nil {
		return pipeline.Result{}, err
	}
	// Only now: a record that failed is rolled back (alone, or with its whole first attempt),
	// and a later record with its id must then be stored, not counted a duplicate.
	w.stored[key] = leadID
	return pipeline.Result{Outcome: pipeline.Stored, LeadID: leadID}, nil
}

// release releases the record's savepoint, if it has one.
func (w *writer) release(isolate bool) error {
	if !isolate {
		return nil
	}
	if _, err := w.exec(w.s.release); err != nil {
		return fmt.Errorf("release: %w", err)
	}
	return nil
}

// undo discards everything the failed record wrote. ROLLBACK TO keeps the savepoint on the
// stack, so it is released too. If the savepoint is gone (SQLite rolled the whole transaction
// back, e.g. on a full disk), undo fails and so does the batch.
func (w *writer) undo() error {
	if _, err := w.exec(w.s.rollbackTo); err != nil {
		return err
	}
	_, err := w.exec(w.s.release)
	return err
}

// nullID stores lead id 0 as NULL, which the foreign key allows.
func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}
