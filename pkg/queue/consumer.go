package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/saleassist-pipeline/pipeline/internal/ratelog"
)

// Consumer is one worker's handle on the durable pull consumer all workers share. JetStream
// spreads messages across every process consuming it; none sees a message another holds.
type Consumer struct {
	cons jetstream.Consumer
	conn *nats.Conn
	name string
	log  *slog.Logger
	// pulling turns failed pulls (NATS down, a leader election) into a line per state change and
	// a summary per interval, not a warning per attempt: an outage of any length stays readable.
	pulling ratelog.Failing
	// pause is the wait between a failed pull and the next; failures counts them (tests).
	pause    time.Duration
	failures atomic.Int64
}

// NewConsumer makes sure the events stream and the shared durable consumer exist, and returns a
// handle on the consumer.
func NewConsumer(ctx context.Context, js jetstream.JetStream, cfg Config, log *slog.Logger) (*Consumer, error) {
	s, err := LookupStream(ctx, js, cfg)
	if err != nil {
		return nil, err
	}
	cons, err := s.CreateOrUpdateConsumer(ctx, cfg.ConsumerConfig())
	if err != nil {
		return nil, fmt.Errorf("create or update consumer %s on %s: %w", cfg.Consumer, cfg.Stream, err)
	}
	return &Consumer{cons: cons, conn: js.Conn(), name: cfg.Consumer, log: log, pulling: ratelog.Failing{Log: log}, pause: RetryPause}, nil
}

// Info returns the consumer's state as JetStream sees it (pending, ack pending, redelivered).
func (c *Consumer) Info(ctx context.Context) (*jetstream.ConsumerInfo, error) {
	return c.cons.Info(ctx)
}

// BatchFunc handles a batch of messages and settles each one (ack, nak or term). It is called
// from one goroutine at a time.
type BatchFunc func(msgs []jetstream.Msg)

// FetchWait is how long one pull request stays open on the server. It bounds how long Run takes to
// return after its context ends.
const FetchWait = time.Second

// RetryPause is how long Run waits after a failed pull before it pulls again.
const RetryPause = 500 * time.Millisecond

// Run delivers messages to handle in batches of up to size, as fast as they arrive: a batch is
// whatever is waiting when the previous one is done, never a wait to fill one.
//
// Run pulls with explicit, expiring pull requests (Fetch) rather than a standing subscription:
// when ctx ends it issues no new request and handles everything the open one delivers until it
// expires, so every message handed to this process is settled. (A subscription's Drain drops
// messages that are already on their way, leaving them to redeliver after AckWait.) Run returns
// nil after ctx ends, or an error if the consumer or the connection is gone for good.
func (c *Consumer) Run(ctx context.Context, size int, handle BatchFunc) error {
	return c.RunGated(ctx, size, nil, handle)
}

// RunGated is Run with a gate: before each pull request it calls gate, which returns once
// fetching may go on (the worker's store is available). While gate waits no message is
// delivered to this process, so none spends a delivery (JetStream counts every one). A nil gate
// never waits.
func (c *Consumer) RunGated(ctx context.Context, size int, gate func(context.Context), handle BatchFunc) error {
	if size < 1 {
		size = 1
	}
	batch := make([]jetstream.Msg, 0, size)
	for ctx.Err() == nil {
		if gate != nil {
			if gate(ctx); ctx.Err() != nil {
				break
			}
		}
		reconnects := c.conn.Stats().Reconnects
		fetch, err := c.cons.Fetch(2*size, jetstream.FetchMaxWait(FetchWait))
		if err == nil {
			batch = deliver(fetch.Messages(), batch, handle)
			err = fetch.Error()
		}
		if err == nil || errors.Is(err, nats.ErrTimeout) {
			// While disconnected a pull request waits in the connection's buffer and expires
			// without an error: only a pull made and ended on one live connection shows that
			// JetStream answers.
			st := c.conn.Status()
			switch {
			case st == nats.CLOSED:
				err = nats.ErrConnectionClosed
			case st != nats.CONNECTED:
				err = fmt.Errorf("NATS connection is %s", st)
			case c.conn.Stats().Reconnects != reconnects:
				continue // reconnected meanwhile: the next pull tells
			default:
				c.pulling.OK("pulling events again", "consumer", c.name)
				continue
			}
		}
		if fatal(err) {
			return fmt.Errorf("consume %s: %w", c.name, err)
		}
		// Disconnected, a leader election, a server restart: wait a little and pull again, for
		// as long as it takes. The connection reconnects on its own and logs when it does.
		c.failures.Add(1)
		c.pulling.Fail("pulling events failed; retrying until NATS answers", err, "consumer", c.name)
		select {
		case <-ctx.Done():
		case <-time.After(c.pause):
		}
	}
	return nil
}

// deliver hands the messages of one pull request to handle in batches until the request ends.
func deliver(ch <-chan jetstream.Msg, batch []jetstream.Msg, handle BatchFunc) []jetstream.Msg {
	for m := range ch {
		batch = append(batch[:0], m)
	fill:
		for len(batch) < cap(batch) {
			select {
			case m, ok := <-ch:
				if !ok {
					break fill
				}
				batch = append(batch, m)
			default:
				break fill
			}
		}
		handle(batch)
	}
	return batch
}

// fatal reports errors after which pulling again cannot succeed.
func fatal(err error) bool {
	return errors.Is(err, jetstream.ErrConsumerDeleted) || errors.Is(err, jetstream.ErrConsumerNotFound) ||
		errors.Is(err, nats.ErrConnectionClosed) || errors.Is(err, nats.ErrBadSubscription)
}
