package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/saleassist-pipeline/pipeline"
	"github.com/saleassist-pipeline/pipeline/pkg/store"
	"github.com/saleassist-pipeline/pipeline/pkg/store/leadrules"
)

// maxAttempts bounds how often Apply starts a batch over because a lead's key was busy
// (locks.go); each start takes more keys up front, so a second attempt almost always succeeds.
const maxAttempts = 8

// Apply writes records in one transaction, on one connection, in two round trips whatever the
// batch's size (pgx pipelines: a round trip carries many statements, sent before any answer
// comes back):
//
//  1. BEGIN, the advisory locks on all the batch's keys (sorted; locks.go), the stored events
//     among the batch's ids, the leads of its emails and the newest leads of its phone numbers.
//  2. Only when needed (rare): try-locks on keys of the stored leads it will change that it does
//     not hold yet.
//  3. Every write and COMMIT: the new leads and all the events in one statement (the leads'
//     ids drawn from the sequence inside it, so the events can name them: write.go), the
//     changed leads in another (one row each, in their final state), each multi-row over arrays
//     (unnest); the meetings in a third (one row each, a meeting named twice folded: write.go).
//
// Between 1 and 3 the records are applied in memory in order (plan.go), exactly as SQLite does
// them one by one; only when the batch itself moves every fetched lead off a phone number does
// a lookup cost one more round trip. (pgx also prepares each statement the first time a
// connection sends it: one more round trip per connection and statement, once.)
//
// Each record must still be atomic on its own, and records almost never fail (the worker
// validates them first), so the fast path uses no savepoints; if a write fails, the transaction
// is rolled back and the batch is written again record by record, each inside a SAVEPOINT, so
// the failing one is rolled back alone (the slow path: a round trip per record).
//
// An error that makes the whole transaction unusable (the context ended, the connection broke)
// fails the batch, so the caller retries every record rather than giving up on one. Errors are
// marked by what they say (classify: store.DataError, store.Unavailable).
func (db *DB) Apply(ctx context.Context, records []pipeline.Record) ([]pipeline.Result, error) {
	if len(records) == 0 {
		return []pipeline.Result{}, nil
	}
	keys := keySet{}
	for i := range records {
		keys.addRecord(&records[i])
	}
	write := writeAllAtOnce
	for attempt := 1; ; attempt++ {
		results, err := db.attempt(ctx, records, keys, write)
		var busy *busyKeysError
		switch {
		case errors.As(err, &busy) && attempt < maxAttempts:
			for _, k := range busy.keys {
				keys[k] = lockShared // as lockChanged asked, now up front
			}
			continue
		case errors.Is(err, errRecordFailed):
			write = writeEachInSavepoint
			continue
		case err != nil:
			err = fmt.Errorf("apply %d records: %w", len(records), err)
			if ctx.Err() != nil { // the deadline, whatever error it surfaced as
				return nil, store.Unavailable(store.ReasonTimeout, err)
			}
			return nil, classify(err)
		}
		return results, nil
	}
}

// errRecordFailed is what the fast path returns when a write failed on a record's data: the
// batch must be written again with savepoints.
var errRecordFailed = errors.New("a record failed")

// attempt is one transaction of Apply: round trip 1 (begin), then the records planned and
// written the way write does it (paths.go).
func (db *DB) attempt(ctx context.Context, records []pipeline.Record, keys keySet, write writePath) (_ []pipeline.Result, err error) {
	pc, err := db.pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("connection: %w", err)
	}
	defer pc.Release()
	conn := pc.Conn()
	committed := false
	defer func() {
		if committed {
			return
		}
		// Also after a failed COMMIT or a broken pipeline; a connection that cannot roll back is
		// closed, so the pool never hands out one inside a transaction.
		rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, rbErr := conn.Exec(rctx, `ROLLBACK`); rbErr != nil {
			_ = conn.Close(rctx)
		}
	}()

	p := newPlanner(ctx, conn, time.Now().UTC().Truncate(time.Microsecond))
	if err := begin(ctx, conn, records, keys.sorted(), p); err != nil {
		return nil, err
	}
	results, err := write(ctx, conn, records, keys, p)
	if err != nil {
		return nil, err
	}
	committed = true
	return results, nil
}

// storedEvents finds which of a batch's (account, event id)s are stored: one probe of the unique
// index per pair (LATERAL, for the reason leadByEmails gives).
const storedEvents = `SELECT u.account, u.id, e.lead_id FROM unnest($1::text[], $2::text[]) AS u(account, id) CROSS JOIN LATERAL (
	SELECT coalesce(lead_id, 0) AS lead_id FROM events WHERE account = u.account AND event_id = u.id) e`

// begin is round trip 1: BEGIN, the locks, and the reads the plan needs.
func begin(ctx context.Context, conn *pgx.Conn, records []pipeline.Record, locks lockList, p *planner) error {
	var (
		// Each lookup is by (account, key): parallel arrays of accounts and keys.
		idAccts, ids, emailAccts, emails []string
		// phones[noEmail] are the phone keys looked up among all the account's leads (records
		// without an email) or among its leads without one; phoneAccts[noEmail] their accounts.
		phoneAccts, phones [2][]string
		seen               [2]map[accountKey]bool
	)
	for i := range records {
		rec := &records[i]
		acct := store.Account(rec.Account)
		idAccts, ids = append(idAccts, acct), append(ids, rec.EventID)
		if l := rec.Lead; l != nil {
			if l.Email != "" {
				emailAccts, emails = append(emailAccts, acct), append(emails, l.Email)
			}
			if k := l.PhoneKey(); k != "" {
				noEmail := 0
				if l.Email != "" {
					noEmail = 1
				}
				if seen[noEmail] == nil {
					seen[noEmail] = map[accountKey]bool{}
				}
				if ak := (accountKey{acct, k}); !seen[noEmail][ak] { // a number twice would fetch its leads twice
					seen[noEmail][ak] = true
					phoneAccts[noEmail] = append(phoneAccts[noEmail], acct)
					phones[noEmail] = append(phones[noEmail], k)
				}
			}
		}
	}
	// One pipeline; a lookup with nothing to look up is left out (binding one costs the server
	// a plan all the same). Each answer is read by its callback; Close returns the first error.
	b := &pgx.Batch{}
	b.Queue(`BEGIN`)
	// Row by row in the arrays' (sorted) order, each in its mode (locks.go).
	b.Queue(lockKeysSQL, locks.keys, locks.exclusive)
	b.Queue(storedEvents, idAccts, ids).Query(func(rows pgx.Rows) error {
		var (
			acct, id string
			lead     int64
		)
		_, err := pgx.ForEachRow(rows, []any{&acct, &id, &lead}, func() error { p.stored[accountKey{acct, id}] = lead; return nil })
		return err
	})
	if len(emails) > 0 {
		b.Queue(leadByEmails, emailAccts, emails).Query(func(rows pgx.Rows) error { return readLeads(rows, nil, nil, p.load) })
	}
	for noEmail, list := range phones {
		for _, col := range leadrules.PhoneColumns {
			if len(list) == 0 {
				continue
			}
			for i, ph := range list {
				p.tops[phoneLookup{phoneAccts[noEmail][i], col, ph, noEmail == 1}] = &top{complete: true}
			}
			b.Queue(phoneTops(col, noEmail == 1), phoneAccts[noEmail], list).Query(func(rows pgx.Rows) error {
				var acct, phone string
				return readLeads(rows, nil, []any{&acct, &phone}, func(l *store.StoredLead) {
					t := p.tops[phoneLookup{acct, col, phone, noEmail == 1}]
					if len(t.ids) < phoneTop {
						t.ids = append(t.ids, l.ID)
					}
					t.complete = len(t.ids) < phoneTop
					p.load(l)
				})
			})
		}
	}
	if err := conn.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("begin, lock %d keys, look up: %w", len(locks.keys), err)
	}
	return nil
}
