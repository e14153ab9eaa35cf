package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/saleassist-pipeline/pipeline/pkg/store"
)

var _ store.Pruner = (*DB)(nil)

// pruneChunk is how many leads or events one prune transaction removes: each holds the write
// lock for milliseconds, so the worker's batches interleave with a long prune.
const pruneChunk = 500

// goneLeads selects the account's (?1) leads last updated before ?2 with no event stored since
// ?2, after the keyset position (?3, ?4), in (updated_at, id) order: a range of leads_updated
// (0005), each candidate checked by one probe of events_lead_id. An empty cutoff selects none.
const goneLeads = `SELECT id, updated_at FROM leads WHERE account = ?1 AND updated_at < ?2 AND (updated_at, id) > (?3, ?4)
	AND NOT EXISTS (SELECT 1 FROM events e WHERE e.lead_id = leads.id AND e.stored_at >= ?2)
	ORDER BY updated_at, id`

// Prune removes the account's old leads (with their events and meetings) and old events; see
// store.Pruner. Each chunk is one BEGIN IMMEDIATE transaction that finds and removes its rows
// under the write lock, so no worker can link an event to a lead between the check and the
// delete.
func (db *DB) Prune(ctx context.Context, q store.PruneQuery) (store.PruneResult, error) {
	q = q.Horizon(time.Now())
	r := store.PruneResult{Query: q}
	if q.DryRun {
		return db.pruneCount(ctx, r)
	}
	leadsBefore, eventsBefore := formatTime(q.LeadsBefore), formatTime(q.EventsBefore)
	after, afterID := "", int64(0)
	for leadsBefore != "" {
		n, err := db.pruneTx(ctx, func(tx *sql.Tx) (int, error) {
			ids, last, lastID, err := chunkOfLeads(ctx, tx, q.Account, leadsBefore, after, afterID)
			if err != nil || len(ids) == 0 {
				return 0, err
			}
			after, afterID = last, lastID
			in := `(` + strings.TrimSuffix(strings.Repeat(`?,`, len(ids)), `,`) + `)`
			for _, d := range []struct {
				sql string
				n   *int64
			}{
				{`DELETE FROM meetings WHERE lead_id IN ` + in, &r.Meetings},
				{`DELETE FROM events WHERE lead_id IN ` + in, &r.LeadEvents},
				{`DELETE FROM leads WHERE id IN ` + in, &r.Leads},
				{`DELETE FROM lead_text WHERE docid IN ` + in, nil}, // the search's index (0007)
			} {
				res, err := tx.ExecContext(ctx, d.sql, ids...)
				if err != nil {
					return 0, err
				}
				if d.n != nil {
					n, _ := res.RowsAffected()
					*d.n += n
				}
			}
			return len(ids), nil
		})
		if err != nil {
			return r, fmt.Errorf("prune leads of %s: %w", q.Account, err)
		}
		if n < pruneChunk {
			break
		}
	}
	for eventsBefore != "" {
		n, err := db.pruneTx(ctx, func(tx *sql.Tx) (int, error) {
			res, err := tx.ExecContext(ctx, `DELETE FROM events WHERE id IN (SELECT id FROM events
				WHERE account = ? AND stored_at < ? ORDER BY stored_at LIMIT ?)`, q.Account, eventsBefore, pruneChunk)
			if err != nil {
				return 0, err
			}
			n, _ := res.RowsAffected()
			r.Events += n
			return int(n), nil
		})
		if err != nil {
			return r, fmt.Errorf("prune events of %s: %w", q.Account, err)
		}
		if n < pruneChunk {
			break
		}
	}
	return r, nil
}

// chunkOfLeads returns up to pruneChunk ids of goneLeads (as arguments) and the keyset position
// of the last.
func chunkOfLeads(ctx context.Context, tx *sql.Tx, acct, before, after string, afterID int64) (ids []any, last string, lastID int64, err error) {
	rows, err := tx.QueryContext(ctx, goneLeads+` LIMIT ?5`, acct, before, after, afterID, pruneChunk)
	if err != nil {
		return nil, "", 0, err
	}
	defer rows.Close()
	for rows.Next() {
		if err := rows.Scan(&lastID, &last); err != nil {
			return nil, "", 0, err
		}
		ids = append(ids, lastID)
	}
	return ids, last, lastID, rows.Err()
}

// pruneTx runs f in one write transaction and commits it.
func (db *DB) pruneTx(ctx context.Context, f func(tx *sql.Tx) (int, error)) (int, error) {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return 0, classify(err)
	}
	defer tx.Rollback()
	n, err := f(tx)
	if err != nil {
		return 0, classify(err)
	}
	if err := tx.Commit(); err != nil {
		return 0, classify(err)
	}
	db.ckpt.committed()
	return n, nil
}

// pruneCount counts what Prune would remove, in one read snapshot.
func (db *DB) pruneCount(ctx context.Context, r store.PruneResult) (store.PruneResult, error) {
	q := r.Query
	err := db.read.QueryRowContext(ctx, `WITH gone AS (`+goneLeads+`)
		SELECT (SELECT count(*) FROM gone),
			(SELECT count(*) FROM events WHERE lead_id IN (SELECT id FROM gone)),
			(SELECT count(*) FROM meetings WHERE lead_id IN (SELECT id FROM gone)),
			(SELECT count(*) FROM events WHERE account = ?1 AND stored_at < ?5
				AND (lead_id IS NULL OR lead_id NOT IN (SELECT id FROM gone)))`,
		q.Account, formatTime(q.LeadsBefore), "", 0, formatTime(q.EventsBefore)).
		Scan(&r.Leads, &r.LeadEvents, &r.Meetings, &r.Events)
	if err != nil {
		return r, fmt.Errorf("prune %s (dry run): %w", q.Account, err)
	}
	return r, nil
}
