package queue

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/saleassist-pipeline/pipeline"
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
	nc      *nats.Conn
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
	return &Publisher{nc: nc, js: js, cfg: cfg, timeout: timeout}, nil
}

// JetStream returns the JetStream context the publisher uses.
func (p *Publisher) JetStream() jetstream.JetStream { return p.js }

// Publish stores ev and returns once JetStream has acknowledged it. Any error wraps
// ErrUnavailable; it returns within the publish timeout (or ctx, if sooner).
func (p *Publisher) Publish(ctx context.Context, ev *pipeline.Event) (Ack, error) {
	ack, err := p.await(ctx, p.cfg.NewMsg(ev), "store event "+ev.ID)
	if err != nil {
		return Ack{}, err
	}
	return Ack{Sequence: ack.Sequence, Duplicate: ack.Duplicate}, nil
}

// await publishes m and waits for its acknowledgement, within the publish timeout. When the
// connection is down or drops while the acknowledgement is outstanding (a node of the cluster went
// away), the message may or may not have been stored; once the client has reconnected — to another
// node — it publishes m again with the same Nats-Msg-Id, so JetStream either stores it now or
// answers that it already has it. Nothing is buffered while disconnected (no ghost publishes):
// only an acknowledged publish counts. Without an acknowledgement within the timeout it fails.
func (p *Publisher) await(ctx context.Context, m *nats.Msg, what string) (*jetstream.PubAck, error) {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	for retried := false; ; retried = true {
		ack, err := p.once(ctx, m)
		if err == nil {
			if retried && ack.Duplicate {
				// Most likely our own first attempt, stored before the connection dropped: to
				// the sender this request is not a re-send.
				a := *ack
				a.Duplicate = false
				return &a, nil
			}
			return ack, nil
		}
		if !p.reconnected(ctx, err) {
			return nil, fmt.Errorf("%w: %s: %v", ErrUnavailable, what, err)
		}
	}
}

// once publishes m and waits for its acknowledgement or ctx.
func (p *Publisher) once(ctx context.Context, m *nats.Msg) (*jetstream.PubAck, error) {
	fut, err := p.js.PublishMsgAsync(m)
	if err != nil {
		return nil, err
	}
	select {
	case ack := <-fut.Ok():
		return ack, nil
	case err := <-fut.Err():
		return nil, err
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, fmt.Errorf("no acknowledgement within %s", p.timeout)
		}
		return nil, ctx.Err()
	}
}

// reconnected reports whether err was the connection going away and the client is connected again
// before ctx ends, so that publishing once more is worth it.
func (p *Publisher) reconnected(ctx context.Context, err error) bool {
	switch {
	case errors.Is(err, nats.ErrDisconnected), errors.Is(err, nats.ErrConnectionReconnecting),
		errors.Is(err, nats.ErrNoResponders), errors.Is(err, jetstream.ErrNoStreamResponse),
		// Published while reconnecting: with ReconnectBufSize(-1) nothing was sent.
		errors.Is(err, nats.ErrReconnectBufExceeded):
	default:
		return false
	}
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if p.nc.Status() == nats.CONNECTED {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-tick.C:
		}
	}
}
