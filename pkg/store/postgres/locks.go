package postgres

import (
	"hash/fnv"
	"slices"

	"github.com/saleassist-pipeline/pipeline/pkg/store"
)

// Concurrency: how N workers on N hosts keep one lead per person.
//
// The hazard is a read-decide-write race: two transactions both look up "a lead with this email
// (or phone)", both find none, and both insert one; or both read the same lead, merge different
// events into their copies and write them back, and the second write loses the first's merge.
// Unique indexes catch only the first form and only for emails (phones are shared by design), so
// Apply serializes the transactions that could disturb each other, and only those, with
// transaction-scoped advisory locks on identity keys:
//
//   - Every record's keys: its event id, its meeting id, its lead's email, mobile number and
//     alternative phone. Each is hashed (FNV-64a, with a prefix per kind so an email never
//     shares a lock with an equal phone string) to a bigint and locked with
//     pg_advisory_xact_lock, all of a batch's keys up front, sorted, before the transaction reads
//     anything. The reads that follow (READ COMMITTED: each statement sees everything committed
//     before it started) therefore see every earlier transaction on these keys complete, and no
//     later one can change what they read until this one commits.
//
//   - A lead is only ever changed by a transaction that holds the locks on all of its keys, the
//     ones it had (read from the row) and the ones it gains (the record's, already held). The
//     record's keys cover how the lead was found, but a lead found by email may also hold a phone
//     that another worker is matching on right now. So once the batch is planned, the keys of
//     the stored leads it will change that it does not hold yet are taken with
//     pg_try_advisory_xact_lock, which never waits. If one is busy, the transaction rolls back
//     and the batch starts over, this time taking those keys up front with the others, sorted.
//
// Why that is correct: a transaction changes a lead only while holding all of the lead's keys,
// and a transaction reads a lead only through one of its keys, which it holds. So a lead cannot
// change between being read and being written, and a lead another transaction is changing
// cannot be read by this one until that one commits (it holds the key this one needs). A key
// gained by a lead is held by whoever adds it, so a lookup by that key waits for the commit and
// then sees it: two workers creating the same person both lock its email (or, without one, its
// phone), and the second finds the first's lead. Event ids are locked too, so the same event
// applied by two writers at once is seen by the second as already stored: Duplicate.
//
// Why it cannot deadlock: every lock that waits (pg_advisory_xact_lock) is taken in one global
// order, ascending key, all of them before any other lock; locks taken out of order are only
// tried, never waited for. The rows a transaction then writes are all covered by keys it holds,
// so no row lock or unique-index check waits for another writer: another transaction inserting
// the same event id, meeting id or email, or updating the same lead, would hold the same key.
// A cycle of waits therefore cannot form. (Serializable isolation would also be correct, but
// under contention on popular keys it aborts and retries whole batches; the locks queue them.)
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

// lockKey is the advisory lock key of one identity value.
func lockKey(kind, value string) int64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(kind))
	_, _ = h.Write([]byte(value))
	return int64(h.Sum64())
}

// keySet is a set of lock keys.
type keySet map[int64]struct{}

func (ks keySet) add(kind, value string) {
	if value != "" {
		ks[lockKey(kind, value)] = struct{}{}
	}
}

// addRecord adds every key of rec.
func (ks keySet) addRecord(rec *store.Record) {
	ks.add(kindEvent, rec.EventID)
	if rec.Meeting != nil {
		ks.add(kindMeeting, rec.Meeting.ID)
	}
	if l := rec.Lead; l != nil {
		ks.add(kindEmail, l.Email)
		ks.add(kindPhone, l.MobileNumber)
		ks.add(kindPhone, l.AltPhone)
	}
}

// addLead adds the identity keys of a stored lead.
func (ks keySet) addLead(l *store.StoredLead) {
	ks.add(kindEmail, l.Email)
	ks.add(kindPhone, l.MobileNumber)
	ks.add(kindPhone, l.AltPhone)
}

// sorted returns the keys in ascending order: the one order every transaction waits in.
func (ks keySet) sorted() []int64 {
	out := make([]int64, 0, len(ks))
	for k := range ks {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// missing returns the keys of other that ks lacks, sorted.
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
