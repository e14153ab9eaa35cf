package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/saleassist-pipeline/pipeline/pkg/store"
)

var _ store.Pruner = (*DB)(nil)

// pruneChunk is how many leads or events one prune transaction removes, so the workers' batches
// interleave with a long prune.
const pruneChunk = 500

// goneLeads selects the account's ($1) leads last updated before $2 with no event stored since
// $2, after the keyset position ($3, $4), in (updated_at, id) order: a range of
// leads_account_updated (0006), each candidate checked by one probe of events_lead_id. A NULL
// cutoff selects none.
const goneLeads = `SELECT id, updated_at, email, mobile_number, alt_phone FROM leads
	WHERE account = $1 AND updated_at < $2 AND (updated_at, id) > ($3, $4)
	AND NOT EXISTS (SELECT 1 FROM events e WHERE e.lead_id = leads.id AND e.stored_at >= $2)
	ORDER BY updated_at, id`

// deleteLeads removes the leads of $1 that still qualify ($2 as in goneLeads), with their
// meetings and events, and counts each. The data-modifying parts share one snapshot, taken after
// the locks, so the check and the deletes agree.
const deleteLeads = `WITH gone AS (
		SELECT id FROM leads WHERE id = ANY($1::bigint[]) AND updated_at < $2
		AND NOT EXISTS (SELECT 1 FROM events e WHERE e.lead_id = leads.id AND e.stored_at >= $2)),
	m AS (DELETE FROM meetings WHERE lead_id IN (SELECT id FROM gone) RETURNING 1),
	e AS (DELETE FROM events WHERE lead_id IN (SELECT id FROM gone) RETURNING 1),
	l AS (DELETE FROM leads WHERE id IN (SELECT id FROM gone) RETURNING 1)
	SELECT (SELECT count(*) FROM l), (SELECT count(*) FROM e), (SELECT count(*) FROM m)`

// Prune removes the account's old leads (with their events and meetings) and old events; see
// store.Pruner.
//
// Leads: a worker may be matching one of them right now, and PostgreSQL has no foreign key to
// stop it linking an event to a lead being removed (0005). So each chunk's transaction first
// takes the advisory locks on all of its leads' identity keys, exclusive, in the sorted order of
// locks.go, in one statement like a batch's first; every worker reads a lead through a key it
// holds exclusive, so after the locks no worker holds one of these leads, and none can find them
// until the commit. The check is then made again, and the rows removed, in one statement. It
// cannot deadlock, by locks.go's argument: these are the transaction's only waiting locks, taken
// at once in the global order, and the row locks its deletes take are held by no worker (a
// worker writing these leads or their events would hold their keys).
//
// Events are removed by age alone: the ones older than the retry horizon are no longer
// looked up by anyone.
func (db *DB) Prune(ctx context.Context, q store.PruneQuery) (store.PruneResult, error) {
	q = q.Horizon(time.Now())
	r := store.PruneResult{Query: q}
	if q.DryRun {
		return db.pruneCount(ctx, r)
	}
	after, afterID := time.Time{}, int64(0)
	for !q.LeadsBefore.IsZero() {
		var n int
		err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
			rows, err := tx.Query(ctx, goneLeads+` LIMIT $5`, q.Account, q.LeadsBefore, after, afterID, pruneChunk)
			if err != nil {
				return err
			}
			var (
				ids []int64
				l   store.StoredLead
				em  pgtype.Text
			)
			keys := keySet{}
			_, err = pgx.ForEachRow(rows, []any{&l.ID, &after, &em, &l.MobileNumber, &l.AltPhone}, func() error {
				ids, afterID = append(ids, l.ID), l.ID
				keys.add(kindEmail, q.Account, em.String, lockExclusive)
				keys.add(kindPhone, q.Account, l.MobileNumber, lockExclusive)
				keys.add(kindPhone, q.Account, l.AltPhone, lockExclusive)
				return nil
			})
			if err != nil || len(ids) == 0 {
				return err
			}
			n = len(ids)
			locks := keys.sorted()
			if _, err := tx.Exec(ctx, lockKeysSQL, locks.keys, locks.exclusive); err != nil {
				return fmt.Errorf("lock %d lead keys: %w", len(locks.keys), err)
			}
			var leads, events, meetings int64
			if err := tx.QueryRow(ctx, deleteLeads, ids, q.LeadsBefore).Scan(&leads, &events, &meetings); err != nil {
				return err
			}
			r.Leads, r.LeadEvents, r.Meetings = r.Leads+leads, r.LeadEvents+events, r.Meetings+meetings
			return nil
		})
		if err != nil {
			return r, classify(fmt.Errorf("prune leads of %s: %w", q.Account, err))
		}
		if n < pruneChunk {
			break
		}
	}
	for !q.EventsBefore.IsZero() {
		tag, err := db.pool.Exec(ctx, `DELETE FROM events WHERE id IN (SELECT id FROM events
			WHERE account = $1 AND stored_at < $2 ORDER BY stored_at LIMIT $3)`, q.Account, q.EventsBefore, pruneChunk)
		if err != nil {
			return r, classify(fmt.Errorf("prune events of %s: %w", q.Account, err))
		}
		r.Events += tag.RowsAffected()
		if tag.RowsAffected() < pruneChunk {
			break
		}
	}
	return r, nil
}

// pruneCount counts what Prune would remove, in one snapshot.
func (db *DB) pruneCount(ctx context.Context, r store.PruneResult) (store.PruneResult, error) {
	q := r.Query
	err := db.pool.QueryRow(ctx, `WITH gone AS (`+goneLeads+`)
		SELECT (SELECT count(*) FROM gone),
			(SELECT count(*) FROM events WHERE lead_id IN (SELECT id FROM gone)),
			(SELECT count(*) FROM meetings WHERE lead_id IN (SELECT id FROM gone)),
			(SELECT count(*) FROM events WHERE account = $1 AND stored_at < $5
				AND (lead_id IS NULL OR lead_id NOT IN (SELECT id FROM gone)))`,
		q.Account, timestamptz(q.LeadsBefore), time.Time{}, 0, timestamptz(q.EventsBefore)).
		Scan(&r.Leads, &r.LeadEvents, &r.Meetings, &r.Events)
	if err != nil {
		return r, classify(fmt.Errorf("prune %s (dry run): %w", q.Account, err))
	}
	return r, nil
}
