// Package leadrules holds the rules every store applies to leads, so that SQLite and PostgreSQL
// cannot drift apart: which stored lead an incoming one belongs to (Match), how the two are
// merged (Merge), and how attributes are written (EncodeAttributes). Each store keeps only its
// SQL: it answers Match's lookups (Finder) from its own tables, or from rows it fetched for a
// whole batch, and writes what Merge returns.
//
// The rules live beside package store rather than in it: store is the contract its callers (the
// worker, the console) program against, and these helpers are for implementations only. They
// import store and lead and nothing else of ours.
package leadrules

import (
	"github.com/saleassist-pipeline/pipeline"
	"github.com/saleassist-pipeline/pipeline/pkg/store"
)

// PhoneColumn names one of a lead's two phone columns.
type PhoneColumn int

// The phone columns a phone key is looked up in.
const (
	Mobile PhoneColumn = iota // leads.mobile_number
	Alt                       // leads.alt_phone
)

// PhoneColumns lists both, in the order Match asks them.
var PhoneColumns = [...]PhoneColumn{Mobile, Alt}

// Finder answers Match's lookups from one store's point of view (inside the transaction that
// will write the result). A nil lead with a nil error means none. Every lookup is within one
// account (never empty: store.Account already applied): a person is one lead per account, and
// the same email or phone in another account is another lead.
type Finder interface {
	// ByEmail returns the account's lead whose email is email.
	ByEmail(acct, email string) (*store.StoredLead, error)
	// ByPhone returns the account's most recently updated lead (by Newer) whose column col is
	// phone; with noEmail, only among leads without an email.
	ByPhone(acct string, col PhoneColumn, phone string, noEmail bool) (*store.StoredLead, error)
}

// Match returns the stored lead of account acct that l belongs to, or nil when l is a new person
// there; it never looks in another account. In order:
//   - the lead with l's email;
//   - else a lead whose mobile_number or alt_phone is l.PhoneKey(), most recently updated
//     first, provided the two cannot be different people: l has no email, or the lead has none
//     (it then gains l's email). A lead with a different email is someone sharing the phone;
//   - else none. A lead with neither email nor phone never matches anything.
func Match(f Finder, acct string, l *pipeline.Lead) (*store.StoredLead, error) {
	acct = store.Account(acct)
	if l.Email != "" {
		found, err := f.ByEmail(acct, l.Email)
		if err != nil || found != nil {
			return found, err
		}
	}
	key := l.PhoneKey()
	if key == "" {
		return nil, nil
	}
	// The newer of the newest lead with the number as mobile_number and the newest with it as
	// alt_phone.
	var found *store.StoredLead
	for _, col := range PhoneColumns {
		c, err := f.ByPhone(acct, col, key, l.Email != "")
		if err != nil {
			return nil, err
		}
		if c != nil && (found == nil || Newer(c, found)) {
			found = c
		}
	}
	return found, nil
}

// Newer reports whether a sorts after b by (updated_at, id): the order of the phone lookups.
func Newer(a, b *store.StoredLead) bool {
	if !a.UpdatedAt.Equal(b.UpdatedAt) {
		return a.UpdatedAt.After(b.UpdatedAt)
	}
	return a.ID > b.ID
}
