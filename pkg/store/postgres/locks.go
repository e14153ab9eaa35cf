package postgres

import (
	"hash/fnv"
	"slices"

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

// keySet is a set of lock keys, each with its mode: true for exclusive (looked up), false for
// shared (only written).
type keySet map[int64]bool

// add adds one key; exclusive wins over shared.
func (ks keySet) add(kind, acct, value string, exclusive bool) {
	if value != "" {
		k := lockKey(kind, acct, value)
		ks[k] = ks[k] || exclusive
	}
}

// addRecord adds every key of rec, in the mode its lookups need.
func (ks keySet) addRecord(rec *pipeline.Record) {
	acct := store.Account(rec.Account)
	ks.add(kindEvent, acct, rec.EventID, true)
	if rec.Meeting != nil {
		ks.add(kindMeeting, acct, rec.Meeting.ID, true)
	}
	if l := rec.Lead; l != nil {
		ks.add(kindEmail, acct, l.Email, true)
		// Match looks up only the phone key (the mobile number, else the alternative phone);
		// begin fetches by nothing else. The other number is only written.
		ks.add(kindPhone, acct, l.MobileNumber, true)
		ks.add(kindPhone, acct, l.AltPhone, l.PhoneKey() == l.AltPhone)
	}
}

// addLead adds the identity keys of a stored lead the batch changes: shared, as they are only
// written (the key the lead was found by is already held exclusive).
func (ks keySet) addLead(l *store.StoredLead) {
	acct := store.Account(l.Account)
	ks.add(kindEmail, acct, l.Email, false)
	ks.add(kindPhone, acct, l.MobileNumber, false)
	ks.add(kindPhone, acct, l.AltPhone, false)
}

// sorted returns the keys in ascending order, the one order every transaction waits in, and
// their modes.
func (ks keySet) sorted() (keys []int64, exclusive []bool) {
	keys = make([]int64, 0, len(ks))
	for k := range ks {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	exclusive = make([]bool, len(keys))
	for i, k := range keys {
		exclusive[i] = ks[k]
	}
	return keys, exclusive
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
