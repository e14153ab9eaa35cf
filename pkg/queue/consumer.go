package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/nats-io/nats.go/jetstream"
)

// Consumer is one worker's handle on the durable pull consumer all workers share. JetStream
// spreads messages across every process consuming it; none sees a message another holds.
type Consumer struct {
	cons jetstream.Consumer
	name string
	log  *slog.Logger
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
	return &Consumer{cons: cons, name: cfg.Consumer, log: log}, nil
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
		fetch, err := c.cons.Fetch(2*size, jetstream.FetchMaxWait(FetchWait))
		if err == nil {
			batch = deliver(fetch.Messages(), batch, handle)
			err = fetch.Error()
		}
		if err == nil || errors.Is(err, nats.ErrTimeout) {
			continue
		}
		if fatal(err) {
			return fmt.Errorf("consume %s: %w", c.name, err)
		}
		// Disconnected, a leader election, a server restart: wait a little and pull again.
		c.log.Warn("pulling events", "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(500 * time.Millisecond):
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
