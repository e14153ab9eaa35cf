package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/saleassist-pipeline/pipeline/pkg/store"
)

// Apply writes records in one BEGIN IMMEDIATE transaction. One commit per batch is what makes
// batches fast: with synchronous=NORMAL a commit is a WAL append, and the write lock is taken once.
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
// caller retries every record rather than giving up on one.
func (db *DB) Apply(ctx context.Context, records []store.Record) ([]store.Result, error) {
	if len(records) == 0 {
		return []store.Result{}, nil
	}
	results, err := db.apply(ctx, records, false)
	if errors.Is(err, errRecordFailed) {
		results, err = db.apply(ctx, records, true)
	}
	if err != nil {
		return nil, fmt.Errorf("apply %d records: %w", len(records), err)
	}
	db.ckpt.committed()
	return results, nil
}

// errRecordFailed is what apply without savepoints returns when a record fails on its own: the
// transaction is rolled back, and the batch must be written again with savepoints.
var errRecordFailed = errors.New("a record failed")

// apply writes records in one transaction; with isolate, each record inside its own savepoint.
func (db *DB) apply(ctx context.Context, records []store.Record, isolate bool) ([]store.Result, error) {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()

	// The statements run without ctx's deadline: go-sqlite3 runs a statement whose context can
	// end on a goroutine of its own and waits for it (to interrupt it on cancellation), a
	// goroutine start and two switches per statement, which made the store wait for the
	// scheduler more than for SQLite. Every statement here is short (the write lock is already
	// held), so ctx is checked between records instead; it still bounds the BEGIN's wait for the
	// lock, and ending it rolls the transaction back.
	stmtCtx := context.WithoutCancel(ctx)
	w := &writer{txStmts: txStmts{ctx: stmtCtx, tx: tx, bound: map[*sql.Stmt]*sql.Stmt{}}, s: db.stmts, now: time.Now()}
	results := make([]store.Result, len(records))
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
			res = store.Result{Err: fmt.Errorf("store event %q: %w", rec.EventID, err)}
		}
		results[i] = res
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("commit: %w", err)
	}
	return results, nil
}

// writer applies records inside one transaction.
type writer struct {
	txStmts
	s   *stmts
	now time.Time
}

// record writes one record; with isolate, inside a savepoint, which it releases on success. On
// error the savepoint is left open for undo.
func (w *writer) record(rec *store.Record, isolate bool) (store.Result, error) {
	if isolate {
		if _, err := w.exec(w.s.savepoint); err != nil {
			return store.Result{}, fmt.Errorf("savepoint: %w", err)
		}
	}
	// Check first rather than INSERT … ON CONFLICT: the lead must not be touched for a
	// duplicate, and the check is race-free because this transaction holds the write lock.
	var existing sql.NullInt64
	err := w.queryRow(w.s.eventLeadID, rec.EventID).Scan(&existing)
	switch {
	case err == nil:
		if err := w.release(isolate); err != nil {
			return store.Result{}, err
		}
		return store.Result{Outcome: store.Duplicate, LeadID: existing.Int64}, nil
	case !errors.Is(err, sql.ErrNoRows):
		return store.Result{}, fmt.Errorf("look up event: %w", err)
	}

	var leadID int64
	if rec.Lead != nil {
		if leadID, err = w.mergeLead(rec.Lead); err != nil {
			return store.Result{}, err
		}
	}
	var invalid any
	if rec.Invalid != "" {
		invalid = rec.Invalid
	}
	if _, err := w.exec(w.s.insertEvent, rec.EventID, rec.EventType, nullID(leadID),
		formatTime(rec.ReceivedAt), formatTime(w.now), string(rec.Payload), invalid); err != nil {
		return store.Result{}, fmt.Errorf("insert event: %w", err)
	}
	if m := rec.Meeting; m != nil {
		participants := []byte("[]")
		if len(m.Participants) > 0 {
			if participants, err = json.Marshal(m.Participants); err != nil {
				return store.Result{}, fmt.Errorf("meeting %q participants: %w", m.ID, err)
			}
		}
		if _, err := w.exec(w.s.upsertMeeting, m.ID, nullID(leadID), rec.EventID, m.Name,
			formatTime(m.ScheduledAt), m.Status, m.MeetingURL, string(participants), m.Timezone,
			m.DurationMin, formatTime(w.now)); err != nil {
			return store.Result{}, fmt.Errorf("upsert meeting %q: %w", m.ID, err)
		}
	}
	if err := w.release(isolate); err != nil {
		return store.Result{}, err
	}
	return store.Result{Outcome: store.Stored, LeadID: leadID}, nil
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
