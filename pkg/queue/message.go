package queue

import (
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/saleassist-pipeline/pipeline/pkg/event"
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

// Subject is the subject an event of the given type is published on.
func (c Config) Subject(eventType string) string {
	return c.SubjectPrefix + "." + SubjectToken(eventType)
}

// NewMsg builds the message for an event: body as data, id, type and arrival time as headers, and
// Nats-Msg-Id set to the event id so JetStream drops re-sends inside its duplicate window. Id and
// type are escaped with EncodeHeaderValue, so that NATS carries them byte for byte and two ids
// that differ only in white space are two events to JetStream's dedupe too.
func (c Config) NewMsg(ev *event.Event) *nats.Msg {
	id := EncodeHeaderValue(ev.ID)
	h := make(nats.Header, 4)
	h[jetstream.MsgIDHeader] = []string{id}
	h[HeaderEventID] = []string{id}
	h[HeaderEventType] = []string{EncodeHeaderValue(ev.Type)}
	h[HeaderReceivedAt] = []string{ev.ReceivedAt.UTC().Format(time.RFC3339Nano)}
	return &nats.Msg{Subject: c.Subject(ev.Type), Header: h, Data: ev.Body}
}

// EventFromMsg rebuilds the event a message carries, id and type decoded (DecodeHeaderValue) to
// exactly what the sender sent. Messages published by something other than the ingest (no
// headers) are read from their body, the way the ingest would have.
func EventFromMsg(m jetstream.Msg) (*event.Event, error) {
	h := m.Headers()
	ev := &event.Event{
		ID:   DecodeHeaderValue(h.Get(HeaderEventID)),
		Type: DecodeHeaderValue(h.Get(HeaderEventType)),
		Body: m.Data(),
	}
	if ev.ID == "" || ev.Type == "" {
		head, err := event.ParseHead(ev.Body)
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
