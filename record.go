package pipeline

import "time"

// Record is everything one event changes in the store: the event itself (always kept, for history
// and replay), and the lead and meeting its handler extracted, if any. A handler builds it
// (NewRecord); the worker hands a batch of them to the store (store.Store.Apply) in one
// transaction with the events' dedupe keys.
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
	Lead *Lead
	// Meeting, when not nil, is upserted by its ID and linked to the lead.
	Meeting *Meeting
	// Invalid, when not empty, says what was wrong with the event as sent although it could be
	// stored: its schema violations, a SaleAssist time too far in the future (see AddInvalid).
	// It is stored with the event (events.invalid).
	Invalid string
}

// Outcome is what the store's Apply did with one Record.
type Outcome int

const (
	// Stored means the event (and its lead and meeting) was written.
	Stored Outcome = iota
	// Duplicate means an event with the same EventID was already stored; nothing changed.
	Duplicate
)

// String names the outcome as the worker's metrics and logs do.
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

// InvalidSep separates the problems recorded in Record.Invalid.
const InvalidSep = "; "

// AddInvalid records problem on r: something wrong with the event as sent that did not stop it
// from being stored (a schema violation outside the person's identity, a time from the future).
// It goes in r.Invalid, after any problem already there, joined by InvalidSep; the store keeps
// it with the event (events.invalid), the worker counts it
// (saleassist_worker_events_invalid_total) and `ingestctl events invalid` lists it. problem must
// not quote lead data (names, emails, phones, addresses).
func (r *Record) AddInvalid(problem string) {
	switch {
	case problem == "":
	case r.Invalid == "":
		r.Invalid = problem
	default:
		r.Invalid += InvalidSep + problem
	}
}

// NewRecord returns the record that stores ev itself, with no lead or meeting yet: where every
// handler starts.
func NewRecord(ev *Event) *Record {
	return &Record{
		EventID:    ev.ID,
		EventType:  ev.Type,
		ReceivedAt: ev.ReceivedAt,
		Payload:    ev.Body,
	}
}
