package queue

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/saleassist-pipeline/pipeline/pkg/event"
)

// DefaultPublishTimeout bounds how long a request waits for JetStream to store its event before
// the ingest gives up and answers 503.
const DefaultPublishTimeout = 2 * time.Second

// HeaderRoom is what a message needs beyond its body: our headers, Nats-Msg-Id and the protocol
// line. A NATS server's max_payload must be at least the largest body plus HeaderRoom.
const HeaderRoom = 4 << 10

// ErrUnavailable wraps every publish failure: JetStream is unreachable, too slow, or full. The
// event was not acknowledged, so the sender must retry.
var ErrUnavailable = errors.New("jetstream unavailable")

// Ack is JetStream's acknowledgement of a stored event.
type Ack struct {
	// Sequence is the event's position in the stream.
	Sequence uint64
	// Duplicate says JetStream had already stored an event with the same id inside its
	// duplicate window, and kept the first.
	Duplicate bool
}

// Publisher stores events in the events stream. It pipelines: many requests' publishes are in
// flight on one connection at once, and each caller waits only for its own acknowledgement. Safe
// for concurrent use.
type Publisher struct {
	js      jetstream.JetStream
	cfg     Config
	timeout time.Duration
}

// NewPublisher returns a Publisher on nc. The connection should be made with
// nats.ReconnectBufSize(-1): otherwise a publish during a disconnect is buffered and may be stored
// later although the caller was told it failed.
func NewPublisher(nc *nats.Conn, cfg Config, timeout time.Duration) (*Publisher, error) {
	if timeout <= 0 {
		timeout = DefaultPublishTimeout
	}
	js, err := jetstream.New(nc,
		jetstream.WithPublishAsyncTimeout(timeout),
		jetstream.WithPublishAsyncMaxPending(8192),
	)
	if err != nil {
		return nil, fmt.Errorf("jetstream context: %w", err)
	}
	return &Publisher{js: js, cfg: cfg, timeout: timeout}, nil
}

// JetStream returns the JetStream context the publisher uses.
func (p *Publisher) JetStream() jetstream.JetStream { return p.js }

// Publish stores ev and returns once JetStream has acknowledged it. Any error wraps
// ErrUnavailable; it returns within the publish timeout (or ctx, if sooner).
func (p *Publisher) Publish(ctx context.Context, ev *event.Event) (Ack, error) {
	ack, err := p.await(ctx, p.cfg.NewMsg(ev), "store event "+ev.ID)
	if err != nil {
		return Ack{}, err
	}
	return Ack{Sequence: ack.Sequence, Duplicate: ack.Duplicate}, nil
}

// await publishes m and waits for its acknowledgement, within the publish timeout.
func (p *Publisher) await(ctx context.Context, m *nats.Msg, what string) (*jetstream.PubAck, error) {
	fut, err := p.js.PublishMsgAsync(m)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrUnavailable, what, err)
	}
	timer := time.NewTimer(p.timeout)
	defer timer.Stop()
	select {
	case ack := <-fut.Ok():
		return ack, nil
	case err := <-fut.Err():
		return nil, fmt.Errorf("%w: %s: %v", ErrUnavailable, what, err)
	case <-timer.C:
		return nil, fmt.Errorf("%w: %s: no acknowledgement within %s", ErrUnavailable, what, p.timeout)
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: %s: %v", ErrUnavailable, what, ctx.Err())
	}
}
