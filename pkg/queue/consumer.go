package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/nats-io/nats.go/jetstream"
)

// Consumer is one worker's handle on the durable pull consumer all workers share. JetStream
// spreads messages across every process consuming it; none sees a message another holds.
type Consumer struct {
	cons jetstream.Consumer
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
	return &Consumer{cons: cons, log: log}, nil
}

// Info returns the consumer's state as JetStream sees it (pending, ack pending, redelivered).
func (c *Consumer) Info(ctx context.Context) (*jetstream.ConsumerInfo, error) {
	return c.cons.Info(ctx)
}

// BatchFunc handles a batch of messages and settles each one (ack, nak or term). It is called
// from one goroutine at a time.
type BatchFunc func(msgs []jetstream.Msg)

// Run delivers messages to handle in batches of up to size, as fast as they arrive: a batch is
// whatever is waiting when the previous one is done, never a wait to fill one. When ctx ends, Run
// stops pulling, hands the messages already received to handle (so they are settled, not left to
// redeliver after AckWait), and returns nil. It returns an error if consuming stops on its own.
func (c *Consumer) Run(ctx context.Context, size int, handle BatchFunc) error {
	if size < 1 {
		size = 1
	}
	ch := make(chan jetstream.Msg, size)
	cc, err := c.cons.Consume(func(m jetstream.Msg) { ch <- m },
		jetstream.PullMaxMessages(2*size),
		jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
			c.log.Warn("consuming events", "err", err)
		}),
	)
	if err != nil {
		return fmt.Errorf("consume: %w", err)
	}
	var stoppedByItself bool
	go func() {
		select {
		case <-ctx.Done():
			cc.Drain()
			<-cc.Closed()
		case <-cc.Closed():
			stoppedByItself = ctx.Err() == nil
		}
		close(ch)
	}()
	batch := make([]jetstream.Msg, 0, size)
	for m := range ch {
		batch = append(batch[:0], m)
	fill:
		for len(batch) < size {
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
	if stoppedByItself {
		return errors.New("consume: the consumer stopped (deleted, or the connection closed)")
	}
	return nil
}
