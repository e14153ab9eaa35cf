package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/saleassist-pipeline/pipeline"
	"github.com/saleassist-pipeline/pipeline/pkg/store"
)

// The two ways Apply writes a batch once round trip 1 (begin: the locks and the lookups) is done.
// Apply tries writeAllAtOnce first; when a record's data makes a write fail there, it rolls the
// transaction back and writes the batch again with writeEachInSavepoint, so the failing record
// is rolled back alone and the rest commit.

// writePath is one of the two: it plans and writes records inside the transaction begin opened,
// holding keys, and commits.
type writePath func(ctx context.Context, conn *pgx.Conn, records []pipeline.Record, held keySet, p *planner) ([]pipeline.Result, error)

// writeAllAtOnce, the fast path, plans every record, then writes the batch and commits in one
// pipeline (round trip 3). A failed write is errRecordFailed, or the error itself when the transaction as a whole is
// at fault (the context ended, the connection broke), which fails the batch.
func writeAllAtOnce(ctx context.Context, conn *pgx.Conn, records []pipeline.Record, held keySet, p *planner) ([]pipeline.Result, error) {
	results := make([]pipeline.Result, len(records))
	for i := range records {
		res, _, err := p.plan(&records[i])
		if err != nil {
			return nil, fmt.Errorf("event %q: %w", records[i].EventID, err)
		}
		results[i] = res
	}
	if err := lockChanged(ctx, conn, p, held); err != nil {
		return nil, err
	}
	w := newWrites(p.now)
	for _, id := range p.touched {
		w.lead(p.entries[id])
	}
	for i := range records {
		if results[i].Outcome == pipeline.Stored {
			w.event(&records[i], results[i].LeadID)
		}
	}
	if err := w.queue(); err != nil {
		return nil, errRecordFailed
	}
	w.b.Queue(`COMMIT`)
	if err := w.send(ctx, conn); err != nil {
		if batchFault(ctx, err) {
			return nil, err
		}
		return nil, errRecordFailed
	}
	for i := range results {
		results[i].LeadID = w.realID(results[i].LeadID)
	}
	return results, nil
}

// writeEachInSavepoint is the slow path: each record planned and written on its own, inside a
// savepoint, so one that fails is rolled back alone (in the database and in the plan) while its
// batch-mates commit.
func writeEachInSavepoint(ctx context.Context, conn *pgx.Conn, records []pipeline.Record, held keySet, p *planner) ([]pipeline.Result, error) {
	results := make([]pipeline.Result, len(records))
	for i := range records {
		rec := &records[i]
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("event %q: %w", rec.EventID, err)
		}
		res, u, err := p.plan(rec)
		if err != nil {
			return nil, fmt.Errorf("event %q: %w", rec.EventID, err)
		}
		if res.Outcome == pipeline.Duplicate {
			results[i] = res
			continue
		}
		if err := lockChanged(ctx, conn, p, held); err != nil {
			return nil, err
		}
		leadID, sent, err := writeOne(ctx, conn, p, rec, res.LeadID)
		if err != nil {
			if sent && batchFault(ctx, err) {
				return nil, fmt.Errorf("event %q: %w", rec.EventID, err)
			}
			if sent {
				if _, rbErr := conn.Exec(ctx, `ROLLBACK TO SAVEPOINT record; RELEASE SAVEPOINT record`); rbErr != nil {
					return nil, fmt.Errorf("event %q: %w (rollback: %w)", rec.EventID, err, rbErr)
				}
			}
			p.revert(u)
			err = fmt.Errorf("store event %q: %w", rec.EventID, err)
			if !sent { // its values could not even be encoded (queueMeetings)
				err = store.DataError(err)
			}
			res = pipeline.Result{Err: classify(err)}
		} else {
			res.LeadID = leadID
		}
		results[i] = res
	}
	if _, err := conn.Exec(ctx, `COMMIT`); err != nil {
		return nil, fmt.Errorf("commit: %w", err)
	}
	return results, nil
}

// writeOne writes one planned record inside SAVEPOINT record, in one round trip, and returns
// its lead's real id. A lead it created gets its real id in the plan and counts as stored from
// then on (later records update it). sent is false when the record's values could not even be
// encoded; when a sent record fails, the savepoint is left for the caller to roll back to.
func writeOne(ctx context.Context, conn *pgx.Conn, p *planner, rec *pipeline.Record, leadID int64) (_ int64, sent bool, err error) {
	w := newWrites(p.now)
	w.b.Queue(`SAVEPOINT record`)
	var e *entry
	if leadID != 0 {
		e = p.entries[leadID]
		w.lead(e)
	}
	w.event(rec, leadID)
	if err := w.queue(); err != nil {
		return 0, false, err
	}
	w.b.Queue(`RELEASE SAVEPOINT record`)
	if err := w.send(ctx, conn); err != nil {
		return 0, true, err
	}
	if e != nil && e.orig == nil {
		p.rekey(w.ids)
		orig := e.l
		e.orig = &orig
	}
	return w.realID(leadID), true, nil
}

// batchFault reports whether err spoils the whole transaction rather than one record's data: the
// context ended, or the error is not the server refusing a statement (the connection broke),
// or the server's refusal is transient.
func batchFault(ctx context.Context, err error) bool {
	var pe *pgconn.PgError
	return ctx.Err() != nil || !errors.As(err, &pe) || IsTransient(err)
}
