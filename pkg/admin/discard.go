package admin

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/saleassist-pipeline/pipeline/pkg/queue"
)

// Discarded is a dead letter an operator gave up on, with the reason they gave.
type Discarded struct {
	DeadLetter
	// DiscardReason is the operator's reason; DiscardedAt when.
	DiscardReason string    `json:"discard_reason"`
	DiscardedAt   time.Time `json:"discarded_at"`
	// Seq is the record's id in the discarded stream.
	Seq uint64 `json:"seq"`
}

func discardedOf(m *jetstream.RawStreamMsg) Discarded {
	d := Discarded{DeadLetter: deadLetterOf(m), DiscardReason: m.Header.Get(queue.HeaderDiscardReason), Seq: m.Sequence}
	d.ID, _ = strconv.ParseUint(m.Header.Get(queue.HeaderDiscardedFrom), 10, 64)
	d.DiscardedAt, _ = time.Parse(time.RFC3339Nano, m.Header.Get(queue.HeaderDiscardedAt))
	return d
}

// maxDiscardReason bounds the reason kept with a discarded dead letter.
const maxDiscardReason = 500

// DiscardDeadLetter moves dead letter id, with reason, to the discarded stream (a record of what
// was given up on and why, shown in the console and by `ingestctl dlq discarded`), then removes
// it from the dead letters. The reason is required.
func (o *Ops) DiscardDeadLetter(ctx context.Context, id uint64, reason string) (Discarded, error) {
	reason = strings.Join(strings.Fields(reason), " ")
	switch {
	case reason == "":
		return Discarded{}, fmt.Errorf("%w: discarding dead letter %d needs a reason (--reason TEXT): it is recorded, and shown with the discarded event", ErrNotReplayable, id)
	case !utf8.ValidString(reason):
		return Discarded{}, fmt.Errorf("%w: the reason is not valid UTF-8", ErrNotReplayable)
	case len(reason) > maxDiscardReason:
		return Discarded{}, fmt.Errorf("%w: the reason is %d bytes; at most %d are kept: shorten it", ErrNotReplayable, len(reason), maxDiscardReason)
	}
	var d Discarded
	err := o.deadLetters().move(ctx, id, func(m *jetstream.RawStreamMsg) (string, error) {
		var err error
		d, err = o.record(ctx, m, reason)
		return fmt.Sprintf("dead letter %d was recorded as discarded", id), err
	})
	return d, err
}

// record keeps dead letter m, with reason, in the discarded stream (made if need be).
func (o *Ops) record(ctx context.Context, m *jetstream.RawStreamMsg, reason string) (Discarded, error) {
	if _, err := o.js.Stream(ctx, queue.DefaultDiscardedStream); err != nil {
		cfg := o.cfg.DiscardedStreamConfig()
		if _, err := o.js.CreateOrUpdateStream(ctx, cfg); err != nil {
			return Discarded{}, fmt.Errorf("create stream %s: %w", cfg.Name, err)
		}
	}
	h := nats.Header{}
	for k, v := range m.Header {
		if k != jetstream.MsgIDHeader {
			h[k] = v
		}
	}
	now := time.Now().UTC()
	h.Set(queue.HeaderDiscardReason, reason)
	h.Set(queue.HeaderDiscardedAt, now.Format(time.RFC3339Nano))
	h.Set(queue.HeaderDiscardedFrom, strconv.FormatUint(m.Sequence, 10))
	// Deduplicated by the dead letter's id, so a discard retried after a failed delete is kept once.
	h.Set(jetstream.MsgIDHeader, fmt.Sprintf("discard/%s/%d", o.cfg.DeadLetterStream, m.Sequence))
	pctx, cancel := context.WithTimeout(ctx, publishTimeout)
	defer cancel()
	ack, err := o.js.PublishMsg(pctx, &nats.Msg{Subject: queue.DefaultDiscardedSubject, Header: h, Data: m.Data})
	if err != nil {
		return Discarded{}, fmt.Errorf("discard dead letter %d: %w; it stays a dead letter", m.Sequence, err)
	}
	return Discarded{DeadLetter: deadLetterOf(m), DiscardReason: reason, DiscardedAt: now, Seq: ack.Sequence}, nil
}

// DiscardedDeadLetters lists the discarded dead letters, oldest first; none when nothing was ever
// discarded.
func (o *Ops) DiscardedDeadLetters(ctx context.Context) ([]Discarded, error) {
	return o.discarded().list(ctx)
}
