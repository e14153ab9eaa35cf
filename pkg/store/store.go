// Package store defines where events and leads end up. Store is the contract; store/sqlite is the
// default implementation, store/postgres the one for workers on several hosts, store/storeurl
// picks one from a DATABASE_URL, store/leadrules holds the lead rules both apply, and
// store/storetest is the conformance suite every implementation passes.
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

// Record is everything one event changes in the store: the event itself (always kept, for history
// and replay), and the lead and meeting its handler extracted, if any.
type Record struct {
	// Account is the id of the account the event was sent to (pkg/account); empty means
	// account.Default. Everything a record identifies is the account's own: the event id's
	// dedupe, the lead matched by email or phone, the meeting id.
	Account string
	// EventID is the event's unique id; a second Record with the same EventID (in the same
	// account) is a duplicate.
	EventID    string
	EventType  string
	ReceivedAt time.Time
	// Payload is the envelope as received (JSON), stored unchanged.
	Payload []byte
	// Lead, when not nil, is merged into the lead for the same person (or creates one) and the
	// event is linked to it.
	Lead *pipeline.Lead
	// Meeting, when not nil, is upserted by its ID and linked to the lead.
	Meeting *pipeline.Meeting
	// Invalid, when not empty, says what was wrong with the event as sent although it could be
	// stored: its schema violations, a SaleAssist time too far in the future (see
	// route.AddInvalid). It is stored with the event (events.invalid).
	Invalid string
}

// Outcome is what Apply did with one Record.
type Outcome int

const (
	// Stored means the event (and its lead and meeting) was written.
	Stored Outcome = iota
	// Duplicate means an event with the same EventID was already stored; nothing changed.
	Duplicate
)

func (o Outcome) String() string {
	if o == Duplicate {
		return "duplicate"
	}
	return "stored"
}

// Result is the fate of one Record in a batch.
type Result struct {
	Outcome Outcome
	// LeadID is the lead the event was linked to; 0 when none.
	LeadID int64
	// Err is set when this Record could not be written; its batch-mates are unaffected.
	Err error
}

// Store keeps events and leads. Implementations are safe for concurrent use.
type Store interface {
	// Apply writes a batch of records in one transaction, each record atomically on its own: a
	// record whose EventID is already stored yields Duplicate and changes nothing; a record that
	// fails yields a Result with Err and leaves no trace, while the other records still commit.
	// results[i] belongs to records[i]. The error is non-nil only when the batch as a whole could
	// not be committed; then nothing was written, and results is nil.
	Apply(ctx context.Context, records []Record) (results []Result, err error)

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
