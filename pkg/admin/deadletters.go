package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/saleassist-pipeline/pipeline/pkg/accept"
	"github.com/saleassist-pipeline/pipeline/pkg/queue"
)

// DeadLetter is an event the workers gave up on: one line of `dlq list`, one row of the
// console's dead letters.
type DeadLetter struct {
	ID        uint64 `json:"id"`
	EventID   string `json:"event_id"`
	EventType string `json:"event_type"`
	// Account is the account the event was sent to (its Saleassist-Account header).
	Account      string    `json:"account"`
	Reason       string    `json:"reason"`
	Error        string    `json:"error"`
	Deliveries   int       `json:"deliveries"`
	FirstFailure time.Time `json:"first_failure"`
	Subject      string    `json:"subject"`
	StreamSeq    uint64    `json:"stream_seq"`
}

func deadLetterOf(m *jetstream.RawStreamMsg) DeadLetter {
	h := m.Header
	d := DeadLetter{ID: m.Sequence,
		EventID:   queue.DecodeHeaderValue(h.Get(queue.HeaderEventID)),
		EventType: queue.DecodeHeaderValue(h.Get(queue.HeaderEventType)), Account: queue.AccountOf(h),
		Reason: h.Get(queue.HeaderDLQReason), Error: h.Get(queue.HeaderDLQError), Subject: h.Get(queue.HeaderDLQSubject)}
	d.Deliveries, _ = strconv.Atoi(h.Get(queue.HeaderDLQDeliveries))
	d.StreamSeq, _ = strconv.ParseUint(h.Get(queue.HeaderDLQStreamSeq), 10, 64)
	d.FirstFailure, _ = time.Parse(time.RFC3339Nano, h.Get(queue.HeaderDLQFirstFailure))
	return d
}

// DeadLetters lists the dead letters, oldest first; none (and no error) when the stream does not
// exist yet.
func (o *Ops) DeadLetters(ctx context.Context) ([]DeadLetter, error) {
	return o.deadLetters().list(ctx)
}

// DeadLetterMsg returns dead letter id as stored: the event body and its headers.
func (o *Ops) DeadLetterMsg(ctx context.Context, id uint64) (*jetstream.RawStreamMsg, error) {
	return o.deadLetters().msg(ctx, id)
}

// DeadLetter returns dead letter id as listed, with its body as stored (for the console's edit
// page).
func (o *Ops) DeadLetter(ctx context.Context, id uint64) (DeadLetter, []byte, error) {
	m, err := o.DeadLetterMsg(ctx, id)
	if err != nil {
		return DeadLetter{}, nil, err
	}
	return deadLetterOf(m), m.Data, nil
}

// DeleteDeadLetter drops dead letter id for good.
func (o *Ops) DeleteDeadLetter(ctx context.Context, id uint64) error {
	return o.deadLetters().delete(ctx, id)
}

// ReplayOptions say how a dead letter is replayed.
type ReplayOptions struct {
	// Body, when not nil, replaces the event's body: a corrected event, UTF-8 JSON. It is checked
	// as the ingest checks a webhook (envelope, id, type) before it is published, and its
	// payload.id, if it has one, must be the dead letter's event id, so that replaying twice
	// cannot store twice.
	Body []byte
	// Unchanged replays a dead letter whose reason is permanent as it is: for after a fix to the
	// pipeline itself (a handler, a schema, the store). Without it such a replay is refused,
	// since it would only fail the same way again.
	Unchanged bool
}

// ErrNeedsChange is wrapped when a dead letter whose reason says the event itself is bad
// (invalid, permanent, undecodable, unstorable) is replayed unchanged: it would come straight
// back under a new id.
var ErrNeedsChange = errors.New("replaying it unchanged would fail the same way")

// ReplayDeadLetter republishes a dead letter to the events stream, as it is or with opts.Body
// instead of its body, and removes it only once that is acknowledged. It returns what the dead
// letter was. A dead letter whose reason is permanent is replayed only with a changed body or
// opts.Unchanged (ErrNeedsChange otherwise); one whose cause was transient (max_deliver, e.g.
// during an outage) goes through unchanged.
//
// The message gets a fresh Nats-Msg-Id (the original id may still sit in the broker's duplicate
// window, which would swallow it); the store's event-id dedupe still protects the leads, and the
// event id stays the original one. HeaderReplayOf marks it, for the workers' replay counts.
func (o *Ops) ReplayDeadLetter(ctx context.Context, id uint64, opts ReplayOptions) (DeadLetter, error) {
	var d DeadLetter
	err := o.deadLetters().move(ctx, id, func(m *jetstream.RawStreamMsg) (string, error) {
		d = deadLetterOf(m)
		msg, err := o.replayMsg(m, d, opts)
		if err != nil {
			return "", err
		}
		pctx, cancel := context.WithTimeout(ctx, publishTimeout)
		defer cancel()
		if _, err := o.js.PublishMsg(pctx, msg); err != nil {
			return "", fmt.Errorf("replay dead letter %d: %w; it stays in the dead-letter stream", id, err)
		}
		return "event " + d.EventID + " was republished", nil
	})
	if err != nil {
		return DeadLetter{}, err
	}
	return d, nil
}

// replayMsg is the event dead letter m (which is d) goes back to the events stream as: its
// headers without the dead-letter ones, and its body or opts.Body checked.
func (o *Ops) replayMsg(m *jetstream.RawStreamMsg, d DeadLetter, opts ReplayOptions) (*nats.Msg, error) {
	id := d.ID
	if opts.Body == nil && !opts.Unchanged && !queue.TransientReason(d.Reason) {
		return nil, fmt.Errorf("%w: dead letter %d (event %s) was dead-lettered as %s (%s); %s. Replay it with a corrected body "+
			"(`ingestctl dlq show %d > fixed.json`, edit, `ingestctl dlq replay %d --body fixed.json`, or Edit and replay in the console), "+
			"discard it with a reason (`ingestctl dlq discard %d --reason TEXT`), or, once the pipeline itself was fixed, replay it as it is with --unchanged",
			ErrNeedsChange, id, d.EventID, d.Reason, clip(d.Error, 300), ErrNeedsChange, id, id, id)
	}
	msg := &nats.Msg{Subject: d.Subject, Header: nats.Header{}, Data: m.Data}
	if msg.Subject == "" {
		msg.Subject = o.cfg.Subject(d.Account, d.EventType)
	}
	for k, v := range m.Header {
		if !strings.HasPrefix(k, "Saleassist-Dlq-") {
			msg.Header[k] = v
		}
	}
	if opts.Body != nil {
		if err := o.correct(msg, d, opts); err != nil {
			return nil, err
		}
	}
	msg.Header.Set(queue.HeaderReplayOf, "dlq/"+strconv.FormatUint(id, 10))
	// The id as it travels (escaped), so that NATS keeps this Nats-Msg-Id as written too.
	msg.Header.Set(jetstream.MsgIDHeader, fmt.Sprintf("%s/replay/dlq-%d/%d", m.Header.Get(queue.HeaderEventID), id, time.Now().UnixNano()))
	return msg, nil
}

// correct puts opts.Body in msg instead of dead letter d's body, once it is checked as the
// webhook checks a body, changed (unless opts.Unchanged), and of the same event id; a corrected
// event type moves it to that type's subject.
func (o *Ops) correct(msg *nats.Msg, d DeadLetter, opts ReplayOptions) error {
	a, rej := accept.Body(accept.Request{ContentType: "application/json; charset=utf-8", Raw: opts.Body}, o.maxBody)
	if rej != nil {
		return fmt.Errorf("%w: the corrected body for dead letter %d is not an acceptable event (%s: %s); it stays a dead letter",
			ErrNotReplayable, d.ID, rej.Code, rej.Message)
	}
	if !opts.Unchanged && !queue.TransientReason(d.Reason) && sameBody(a.Body, msg.Data) {
		return fmt.Errorf("%w: the corrected body for dead letter %d is the body it has (spaces aside), so it would be dead-lettered as %s again; "+
			"change what made it fail (%s), or, once the pipeline itself was fixed, replay it as it is (--unchanged; Replay unchanged in the console)",
			ErrNeedsChange, d.ID, d.Reason, clip(d.Error, 300))
	}
	if !a.Head.IDFromBody && a.Head.ID != d.EventID {
		return fmt.Errorf("%w: the corrected body's payload.id is %q, the dead letter's event is %q: keep the event id "+
			"(or leave payload.id out), so that a second replay cannot store it twice; it stays a dead letter", ErrNotReplayable, a.Head.ID, d.EventID)
	}
	msg.Data = a.Body
	if a.Head.Type != d.EventType {
		msg.Header.Set(queue.HeaderEventType, queue.EncodeHeaderValue(a.Head.Type))
		msg.Subject = o.cfg.Subject(d.Account, a.Head.Type)
	}
	return nil
}

// sameBody reports whether two bodies are the same JSON, insignificant spaces aside (or the same
// bytes, when either is not JSON): a "corrected" body that only re-indents the event is not a
// change.
func sameBody(a, b []byte) bool {
	var ca, cb bytes.Buffer
	if json.Compact(&ca, a) != nil || json.Compact(&cb, b) != nil {
		return bytes.Equal(a, b)
	}
	return bytes.Equal(ca.Bytes(), cb.Bytes())
}

// clip shortens s to n bytes for a message.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
