package postgres

import (
	"context"
	"fmt"
	"hash/fnv"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/saleassist-pipeline/pipeline"
	"github.com/saleassist-pipeline/pipeline/pkg/store"
)

// Concurrency: how N workers on N hosts keep one lead per person.
//
// The hazard is a read-decide-write race: two transactions both look up "a lead with this email
// (or phone)", both find none, and both insert one; or both read the same lead, merge different
// events into their copies and write them back, and the second write loses the first's merge.
// Unique indexes catch only the first form and only for emails (phones are shared by design), so
// Apply serializes the transactions that could disturb each other, and only those, with
// transaction-scoped advisory locks on identity keys. A key is locked in one of two modes:
// exclusive by a transaction that looks it up (reads by it), shared by one that only writes it.
//
//   - Every record's keys: its event id, its meeting id, its lead's email, mobile number and
//     alternative phone, each within the record's account. Each is hashed (FNV-64a, with a
//     prefix per kind so an email never shares a lock with an equal phone string, then the
//     account) to a bigint, and all of a batch's keys are
//     locked up front, sorted, before the transaction reads anything: exclusive
//     (pg_advisory_xact_lock) the keys the batch looks up — event and meeting ids, emails, and
//     each lead's phone key (its mobile number, else its alternative phone: lead.PhoneKey, the
//     only number Match asks about) — and shared (pg_advisory_xact_lock_shared) the rest: an
//     alternative phone beside a mobile number, which the lead gains but nothing looks up. The
//     reads that follow (READ COMMITTED: each statement sees everything committed before it
//     started) therefore see every earlier transaction on these keys complete, and no later one
//     can change what they read until this one commits.
//
//   - A lead is only ever changed by a transaction that holds the locks on all of its keys, in
//     one mode or the other: the ones it had (read from the row) and the ones it gains (the
//     record's, already held). The record's keys cover how the lead was found, but a lead found
//     by email may also hold a phone that another worker is matching on right now. So once the
//     batch is planned, the keys of the stored leads it will change that it does not hold yet
//     are taken shared with pg_try_advisory_xact_lock_shared, which never waits. If one is busy
//     (looked up by another transaction), the transaction rolls back and the batch starts over,
//     this time taking those keys up front with the others, sorted.
//
// Why that is correct: every read goes through a key the reader holds exclusive, and every
// write of a lead (creating it, changing it, giving it a key) is made holding all of the lead's
// keys in at least shared mode. Exclusive conflicts with both modes, so a reader and a writer of
// the same key never overlap: the reader sees the writer's commit, or the writer waits for the
// reader's. In particular a lead cannot change between being read and being written (the reader
// holds the key it found it by), and a lead another transaction is changing cannot be read until
// that one commits. Two writers that only share a key do not wait for each other, and need not:
// neither reads by it. Two writers of the same lead still do: each found it through a key it
// holds exclusive, which the other holds too. Two workers creating the same person both look up
// its email (or, without one, its phone), and the second finds the first's lead. Event ids are
// locked exclusive too, so the same event applied by two writers at once is seen by the second
// as already stored: Duplicate. Shared mode matters when many people give the same second
// number (SaleAssist's unique_field_value: a shop's or an agent's phone): exclusive, it would
// queue every batch of every worker behind one key.
//
// Why it cannot deadlock: every lock that waits is taken in one global order, ascending key, all
// of them in one statement before any other lock; locks taken later are only tried, never waited
// for, and a key held in either mode is never asked for again (no upgrade). The rows a
// transaction then writes are all covered by keys it holds, so no row lock or unique-index
// check waits for another writer: another transaction inserting the same event id, meeting id or
// email would hold the same key exclusive, and one updating the same lead would hold the key it
// found it by exclusive. A cycle of waits therefore cannot form. (Serializable isolation would
// also be correct, but under contention on popular keys it aborts and retries whole batches;
// the locks queue them.)
//
// Cost: one lock per distinct key, about three per record. They live in PostgreSQL's shared
// lock table, which holds max_locks_per_transaction × max_connections entries (6,400 by
// default): enough for about eight workers with batches of 256 in flight at once; raise
// max_locks_per_transaction for more (README, Scaling out).

// Key kinds: the prefix of each kind's hashed text.
const (
	kindEvent   = "e\x00"
	kindMeeting = "m\x00"
	kindEmail   = "@\x00"
	kindPhone   = "p\x00" // mobile and alternative phones share a kind: either column matches either
)

// lockKey is the advisory lock key of one identity value in one account: the account is part of
// every identity (a person is one lead per account), so the same email in two accounts is two
// keys and their writers never wait for each other. An account id holds no NUL
// (account.ValidID), so the NUL after it keeps one account's keys from hashing as another's.
func lockKey(kind, acct, value string) int64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(kind))
	_, _ = h.Write([]byte(acct))
	_, _ = h.Write([]byte{0})
	_, _ = h.Write([]byte(value))
	return int64(h.Sum64())
}

// lockMode is the mode a transaction holds (or will take) an advisory lock key in.
type lockMode uint8

const (
	// lockShared is for a key the transaction only writes: pg_advisory_xact_lock_shared, or
	// pg_try_advisory_xact_lock_shared when taken after the plan (lockChanged).
	lockShared lockMode = iota + 1
	// lockExclusive is for a key the transaction looks up: pg_advisory_xact_lock.
	lockExclusive
)

// keySet is a set of lock keys, each with the mode it is (to be) held in.
type keySet map[int64]lockMode

// add adds one key in mode; exclusive wins over shared.
func (ks keySet) add(kind, acct, value string, mode lockMode) {
	if value != "" {
		k := lockKey(kind, acct, value)
		ks[k] = max(ks[k], mode)
	}
}

// addRecord adds every key of rec, in the mode its lookups need.
func (ks keySet) addRecord(rec *pipeline.Record) {
	acct := store.Account(rec.Account)
	ks.add(kindEvent, acct, rec.EventID, lockExclusive)
	if rec.Meeting != nil {
		ks.add(kindMeeting, acct, rec.Meeting.ID, lockExclusive)
	}
	if l := rec.Lead; l != nil {
		ks.add(kindEmail, acct, l.Email, lockExclusive)
		// Match looks up only the phone key (the mobile number, else the alternative phone);
		// begin fetches by nothing else. The other number is only written.
		ks.add(kindPhone, acct, l.MobileNumber, lockExclusive)
		alt := lockShared
		if l.PhoneKey() == l.AltPhone {
			alt = lockExclusive
		}
		ks.add(kindPhone, acct, l.AltPhone, alt)
	}
}

// addLead adds the identity keys of a stored lead the batch changes: shared, as they are only
// written (the key the lead was found by is already held exclusive).
func (ks keySet) addLead(l *store.StoredLead) {
	acct := store.Account(l.Account)
	ks.add(kindEmail, acct, l.Email, lockShared)
	ks.add(kindPhone, acct, l.MobileNumber, lockShared)
	ks.add(kindPhone, acct, l.AltPhone, lockShared)
}

// lockList is a keySet in the order every transaction waits in (ascending key), as the
// parallel arrays lockKeysSQL takes.
type lockList struct {
	keys      []int64
	exclusive []bool
}

// sorted returns the keys in ascending order, the one order every transaction waits in, with
// their modes.
func (ks keySet) sorted() lockList {
	l := lockList{keys: make([]int64, 0, len(ks))}
	for k := range ks {
		l.keys = append(l.keys, k)
	}
	slices.Sort(l.keys)
	l.exclusive = make([]bool, len(l.keys))
	for i, k := range l.keys {
		l.exclusive[i] = ks[k] == lockExclusive
	}
	return l
}

// missing returns the keys of other that ks lacks in either mode, sorted.
func (ks keySet) missing(other keySet) []int64 {
	var out []int64
	for k := range other {
		if _, ok := ks[k]; !ok {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// lockKeysSQL takes the advisory locks $1 (sorted ascending), each exclusive or shared as $2
// says, row by row in the arrays' order: the one statement in which a transaction waits for
// locks. Apply sends it in round trip 1 (begin), prune before it deletes.
const lockKeysSQL = `SELECT CASE WHEN x THEN pg_advisory_xact_lock(k) ELSE pg_advisory_xact_lock_shared(k) END
	FROM unnest($1::bigint[], $2::bool[]) AS u(k, x)`

// tryLockSharedSQL tries the keys $1 shared without waiting: true when every one was taken.
// pg_try_advisory_xact_lock_shared never waits, so taking these out of the sorted order cannot
// deadlock; bool_and still tries every key.
const tryLockSharedSQL = `SELECT bool_and(pg_try_advisory_xact_lock_shared(k)) FROM unnest($1::bigint[]) AS k`

// lockChanged is round trip 2, only when needed: shared try-locks on the keys of the stored
// leads the plan changes that the transaction does not hold yet in either mode. A busy one
// (looked up by another transaction) is a busyKeysError: the attempt rolls back and the next
// takes those keys up front, sorted with the rest.
func lockChanged(ctx context.Context, conn *pgx.Conn, p *planner, held keySet) error {
	missing := held.missing(p.lockKeys())
	if len(missing) == 0 {
		return nil
	}
	var got bool
	if err := conn.QueryRow(ctx, tryLockSharedSQL, missing).Scan(&got); err != nil {
		return fmt.Errorf("lock lead keys: %w", err)
	}
	if !got {
		return &busyKeysError{keys: missing}
	}
	for _, k := range missing {
		held[k] = lockShared
	}
	return nil
}

// busyKeysError is an attempt that found keys of leads it must change held by another
// transaction: it rolled back, and the next attempt takes them up front.
type busyKeysError struct{ keys []int64 }

func (e *busyKeysError) Error() string {
	return fmt.Sprintf("%d lead keys held by another writer", len(e.keys))
}
