package queue

import (
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/saleassist-pipeline/pipeline"
	"github.com/saleassist-pipeline/pipeline/pkg/account"
)

// Headers every event message carries. The body is the envelope exactly as received.
const (
	// HeaderEventType is event_type exactly as sent, in EncodeHeaderValue's form (the subject
	// carries a sanitized copy).
	HeaderEventType = "Saleassist-Event-Type"
	// HeaderEventID is the event id, in EncodeHeaderValue's form; Nats-Msg-Id carries the same
	// value, but a replayed message gets a fresh Nats-Msg-Id and keeps this one.
	HeaderEventID = "Saleassist-Event-Id"
	// HeaderReceivedAt is when the ingest accepted the request (RFC 3339, UTC).
	HeaderReceivedAt = "Saleassist-Received-At"
	// HeaderAccount is the id of the account whose webhook URL the request came to. Messages
	// from before accounts existed have none and belong to account.Default.
	HeaderAccount = "Saleassist-Account"
)

// SubjectToken turns an event type into one NATS subject token: characters NATS reserves ('.',
// '*', '>', white space) and anything outside [A-Za-z0-9_-] become '_'. The original type travels
// in HeaderEventType, so the mapping need not be reversible.
func SubjectToken(eventType string) string {
	safe := true
	for i := 0; i < len(eventType); i++ {
		if !tokenByte(eventType[i]) {
			safe = false
			break
		}
	}
	if safe && eventType != "" {
		return eventType
	}
	var b strings.Builder
	b.Grow(len(eventType))
	for i := 0; i < len(eventType); i++ {
		if c := eventType[i]; tokenByte(c) {
			b.WriteByte(c)
		} else {
			b.WriteByte('_')
		}
	}
	if b.Len() == 0 {
		return "_"
	}
	return b.String()
}

func tokenByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// Subject is the subject an event of the given type is published on for the account:
// saleassist.events.<account>.<event_type>, so that each account has a consumer of its own and
// workers can take accounts in turn. An empty account is account.Default. Before accounts,
// events were published on saleassist.events.<event_type> (one token after the prefix); those
// belong to the default account (AccountFilter).
func (c Config) Subject(accountID, eventType string) string {
	return c.SubjectPrefix + "." + accountOrDefault(accountID) + "." + SubjectToken(eventType)
}

func accountOrDefault(id string) string {
	if id == "" {
		return account.Default
	}
	return id
}

// MsgID is the Nats-Msg-Id of an event: its id for the default account (as before accounts, so
// a retry across the upgrade is still caught), "<account>/<id>" for the others, so that the same
// event id sent to two accounts is two events to JetStream's duplicate window too.
func MsgID(accountID, eventID string) string {
	if accountID == "" || accountID == account.Default {
		return eventID
	}
	return accountID + "/" + eventID
}

// NewMsg builds the message for an event: body as data, id, type and arrival time as headers, and
// Nats-Msg-Id set to the event id so JetStream drops re-sends inside its duplicate window. Id and
// type are escaped with EncodeHeaderValue, so that NATS carries them byte for byte and two ids
// that differ only in white space are two events to JetStream's dedupe too.
func (c Config) NewMsg(ev *pipeline.Event) *nats.Msg {
	id := EncodeHeaderValue(ev.ID)
	acct := accountOrDefault(ev.Account)
	h := make(nats.Header, 5)
	h[jetstream.MsgIDHeader] = []string{MsgID(acct, id)}
	h[HeaderEventID] = []string{id}
	h[HeaderEventType] = []string{EncodeHeaderValue(ev.Type)}
	h[HeaderReceivedAt] = []string{ev.ReceivedAt.UTC().Format(time.RFC3339Nano)}
	h[HeaderAccount] = []string{acct}
	return &nats.Msg{Subject: c.Subject(acct, ev.Type), Header: h, Data: ev.Body}
}

// AccountOf returns the account a message's headers name, account.Default when none (a message
// from before accounts, or published by something other than the ingest).
func AccountOf(h nats.Header) string {
	return accountOrDefault(h.Get(HeaderAccount))
}

// EventFromMsg rebuilds the event a message carries, id and type decoded (DecodeHeaderValue) to
// exactly what the sender sent. Messages published by something other than the ingest (no
// headers) are read from their body, the way the ingest would have.
func EventFromMsg(m jetstream.Msg) (*pipeline.Event, error) {
	h := m.Headers()
	ev := &pipeline.Event{
		ID:      DecodeHeaderValue(h.Get(HeaderEventID)),
		Type:    DecodeHeaderValue(h.Get(HeaderEventType)),
		Body:    m.Data(),
		Account: AccountOf(h),
	}
	if ev.ID == "" || ev.Type == "" {
		head, err := pipeline.ParseHead(ev.Body)
		if err != nil {
			return nil, fmt.Errorf("message on %s: %w", m.Subject(), err)
		}
		ev.ID, ev.Type = head.ID, head.Type
	}
	if ts := h.Get(HeaderReceivedAt); ts != "" {
		if t, err := time.Parse(time.RFC3339Nano, ts); err == nil {
			ev.ReceivedAt = t
		}
	}
	if ev.ReceivedAt.IsZero() {
		if md, err := m.Metadata(); err == nil {
			ev.ReceivedAt = md.Timestamp.UTC()
		} else {
			ev.ReceivedAt = time.Now().UTC()
		}
	}
	return ev, nil
}
