package queue

import (
	"context"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Defaults of the dead-letter stream, where workers put events they will not store: permanent
// failures at once, anything else once it was delivered MaxDeliver times.
const (
	DefaultDeadLetterStream   = "SALEASSIST_DEADLETTER"
	DefaultDeadLetterSubject  = "saleassist.deadletter"
	DefaultDeadLetterMaxBytes = 1 << 30
	DefaultMaxDeliver         = 20
)

// Headers a dead letter carries on top of the original message's own headers.
const (
	// HeaderDLQReason is why: invalid (failed its schema), permanent (a handler said retrying
	// cannot help), undecodable (not an envelope), unstorable (the store refused its data),
	// max_deliver (failed too often: transient, e.g. during an outage). TransientReason tells
	// them apart.
	HeaderDLQReason = "Saleassist-Dlq-Reason"
	// HeaderDLQError is the last error.
	HeaderDLQError = "Saleassist-Dlq-Error"
	// HeaderDLQSubject is the subject the event was published on.
	HeaderDLQSubject = "Saleassist-Dlq-Subject"
	// HeaderDLQStreamSeq is the event's sequence in the events stream.
	HeaderDLQStreamSeq = "Saleassist-Dlq-Stream-Seq"
	// HeaderDLQDeliveries is how many times it was delivered.
	HeaderDLQDeliveries = "Saleassist-Dlq-Deliveries"
	// HeaderDLQFirstFailure is when a worker first failed on it (RFC 3339).
	HeaderDLQFirstFailure = "Saleassist-Dlq-First-Failure"
)

// DeadLetterStreamConfig keeps dead letters until they are replayed or deleted; when it is full,
// the worker retries the event instead of dead-lettering it.
func (c Config) DeadLetterStreamConfig() jetstream.StreamConfig {
	return c.keepStream(c.DeadLetterStream, c.DeadLetterSubject, c.DeadLetterMaxBytes,
		"SaleAssist events the workers could not store, kept for inspection and replay")
}

// TransientReason reports whether a dead letter's reason says its cause may have passed (the
// delivery limit reached, or a reason this version does not know), so that replaying it
// unchanged can succeed; the other reasons say the event itself cannot be stored as it is.
func TransientReason(reason string) bool {
	switch reason {
	case "invalid", "permanent", "undecodable", "unstorable":
		return false
	}
	return true
}

// DeadLetter describes why an event is being dead-lettered.
type DeadLetter struct {
	Reason       string
	Err          error
	FirstFailure time.Time
}

// DeadLetterer moves messages from the events stream to the dead-letter stream.
type DeadLetterer struct {
	js  jetstream.JetStream
	cfg Config
}

// NewDeadLetterer makes sure the dead-letter stream exists and returns a DeadLetterer.
func NewDeadLetterer(ctx context.Context, js jetstream.JetStream, cfg Config) (*DeadLetterer, error) {
	if _, err := js.Stream(ctx, cfg.DeadLetterStream); err != nil {
		if _, err := js.CreateOrUpdateStream(ctx, cfg.DeadLetterStreamConfig()); err != nil {
			return nil, fmt.Errorf("create stream %s: %w", cfg.DeadLetterStream, err)
		}
	}
	return &DeadLetterer{js: js, cfg: cfg}, nil
}

// Move publishes m, with its headers and the reason, to the dead-letter stream and, once that is
// acknowledged, terminates m so it is never redelivered. On error m is left as it was (the caller
// retries later): nothing is dropped.
func (d *DeadLetterer) Move(ctx context.Context, m jetstream.Msg, dl DeadLetter) error {
	h := make(nats.Header, len(m.Headers())+6)
	for k, v := range m.Headers() {
		if k != jetstream.MsgIDHeader { // the dead letter must not be deduplicated away
			h[k] = v
		}
	}
	h.Set(HeaderDLQReason, dl.Reason)
	if dl.Err != nil {
		h.Set(HeaderDLQError, oneLine(clip(dl.Err.Error(), 2048)))
	}
	h.Set(HeaderDLQSubject, m.Subject())
	if md, err := m.Metadata(); err == nil {
		h.Set(HeaderDLQStreamSeq, strconv.FormatUint(md.Sequence.Stream, 10))
		h.Set(HeaderDLQDeliveries, strconv.FormatUint(md.NumDelivered, 10))
	}
	if dl.FirstFailure.IsZero() {
		dl.FirstFailure = time.Now()
	}
	h.Set(HeaderDLQFirstFailure, dl.FirstFailure.UTC().Format(time.RFC3339Nano))
	if _, err := d.js.PublishMsg(ctx, &nats.Msg{Subject: d.cfg.DeadLetterSubject, Header: h, Data: m.Data()}); err != nil {
		return fmt.Errorf("dead-letter %s: %w", m.Subject(), err)
	}
	if err := m.TermWithReason("dead-lettered: " + dl.Reason); err != nil {
		// The dead letter is kept; a redelivery would be dead-lettered again or stored once.
		return fmt.Errorf("terminate dead-lettered message: %w", err)
	}
	return nil
}

// clip shortens s to at most n bytes (cut at a character boundary) plus an ellipsis.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
