// Package store defines where events and leads end up. Store is the contract; store/sqlite is the
// default implementation, store/postgres the one for workers on several hosts, store/storeurl
// picks one from a DATABASE_URL, store/leadrules holds the lead rules both apply, and
// store/storetest is the conformance suite every implementation passes. What a store writes, a
// pipeline.Record per event, and what it answers, a pipeline.Result, are the domain's (the
// module root).
package store

import (
	"context"
	"errors"
	"time"

	"github.com/saleassist-pipeline/pipeline"
	"github.com/saleassist-pipeline/pipeline/pkg/account"
)

// ErrNotFound is returned by the read methods when nothing matches.
var ErrNotFound = errors.New("not found")

// Account returns acct, or account.Default when it is empty: what every read and write means by
// an empty account, so callers from before accounts (and events without one) keep working.
func Account(acct string) string {
	if acct == "" {
		return account.Default
	}
	return acct
}

// Store keeps events and leads. Implementations are safe for concurrent use.
type Store interface {
	// Apply writes a batch of records in one transaction, each record atomically on its own: a
	// record whose EventID is already stored yields pipeline.Duplicate and changes nothing; a
	// record that fails yields a Result with Err and leaves no trace, while the other records
	// still commit. results[i] belongs to records[i]. The error is non-nil only when the batch as a whole could
	// not be committed; then nothing was written, and results is nil.
	Apply(ctx context.Context, records []pipeline.Record) (results []pipeline.Result, err error)

	// Every read takes the account (acct; "" means account.Default) right after ctx and sees
	// that account's rows only: a lead or event of another account is ErrNotFound, exactly as
	// one that does not exist, so a caller cannot learn that it exists.

	// Lead returns the account's lead with the given id, or ErrNotFound.
	Lead(ctx context.Context, acct string, id int64) (*StoredLead, error)
	// LeadByEmail returns the account's lead with the given (normalized) email, or ErrNotFound.
	LeadByEmail(ctx context.Context, acct, email string) (*StoredLead, error)
	// Event returns the account's stored event with the given id, or ErrNotFound.
	Event(ctx context.Context, acct, eventID string) (*StoredEvent, error)
	// Counts returns how many leads, events and meetings the account has stored.
	Counts(ctx context.Context, acct string) (Counts, error)
	// InvalidEvents returns up to limit of the account's stored events whose Invalid is not
	// empty, newest first (by ReceivedAt, then by EventID descending), Payload included; none is
	// an empty slice, not an error. limit < 1 returns none.
	InvalidEvents(ctx context.Context, acct string, limit int) ([]StoredEvent, error)

	// Close releases the store's resources.
	Close() error
}

// StoredLead is a lead as kept in the store.
type StoredLead struct {
	ID int64
	// Account is the account the lead belongs to (never empty once stored).
	Account string
	pipeline.Lead
	CreatedAt time.Time
	UpdatedAt time.Time
}

// StoredEvent is an event as kept in the store.
type StoredEvent struct {
	// Account is the account the event was sent to (never empty once stored).
	Account    string
	EventID    string
	EventType  string
	LeadID     int64 // 0 when the event is linked to no lead
	ReceivedAt time.Time
	Payload    []byte
	Invalid    string
}

// Counts is the size of the store.
type Counts struct {
	Leads, Events, Meetings int64
}
