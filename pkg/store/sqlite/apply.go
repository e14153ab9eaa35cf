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

// Apply writes records in one BEGIN IMMEDIATE transaction, each inside its own SAVEPOINT so a
// failing record is rolled back alone and its batch-mates still commit. One commit per batch is
// what makes batches fast: with synchronous=NORMAL a commit is a WAL append, and the write lock
// is taken once.
//
// A record error that means the whole transaction is unusable (the context ended, the database
// was busy or locked, or the savepoint could not be rolled back) fails the batch instead, so the
// caller retries every record rather than giving up on one.
func (db *DB) Apply(ctx context.Context, records []store.Record) ([]store.Result, error) {
	if len(records) == 0 {
		return []store.Result{}, nil
	}
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("apply %d records: begin: %w", len(records), err)
	}
	defer tx.Rollback()

	w := &writer{txStmts: txStmts{ctx: ctx, tx: tx, bound: map[*sql.Stmt]*sql.Stmt{}}, s: db.stmts, now: time.Now()}
	results := make([]store.Result, len(records))
	for i := range records {
		rec := &records[i]
		res, err := w.record(rec)
		if err != nil {
			if rbErr := w.undo(); rbErr != nil {
				return nil, fmt.Errorf("apply %d records: event %q: %w (rollback: %w)", len(records), rec.EventID, err, rbErr)
			}
			if ctx.Err() != nil || IsTransient(err) {
				return nil, fmt.Errorf("apply %d records: event %q: %w", len(records), rec.EventID, err)
			}
			res = store.Result{Err: fmt.Errorf("store event %q: %w", rec.EventID, err)}
		}
		results[i] = res
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("apply %d records: commit: %w", len(records), err)
	}
	return results, nil
}

// writer applies records inside one transaction.
type writer struct {
	txStmts
	s   *stmts
	now time.Time
}

// record writes one record inside a savepoint, which it releases on success. On error the
// savepoint is left open for undo.
func (w *writer) record(rec *store.Record) (store.Result, error) {
	if _, err := w.exec(w.s.savepoint); err != nil {
		return store.Result{}, fmt.Errorf("savepoint: %w", err)
	}
	// Check first rather than INSERT … ON CONFLICT: the lead must not be touched for a
	// duplicate, and the check is race-free because this transaction holds the write lock.
	var existing sql.NullInt64
	err := w.queryRow(w.s.eventLeadID, rec.EventID).Scan(&existing)
	switch {
	case err == nil:
		if _, err := w.exec(w.s.release); err != nil {
			return store.Result{}, fmt.Errorf("release: %w", err)
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
	if _, err := w.exec(w.s.release); err != nil {
		return store.Result{}, fmt.Errorf("release: %w", err)
	}
	return store.Result{Outcome: store.Stored, LeadID: leadID}, nil
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
