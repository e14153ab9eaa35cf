package queue

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// BatchFunc handles a batch of messages and settles each one (ack, nak or term). It is called
// from one goroutine at a time.
type BatchFunc func(msgs []jetstream.Msg)

// AccountBatchFunc is a BatchFunc told which account's consumer the messages came from. msgs
// may be reused once it returns.
type AccountBatchFunc func(account string, msgs []jetstream.Msg)

// FetchWait is how long a pull request left waiting while every account is empty stays open on
// the server. It bounds how long Run takes to return after its context ends, and how long a
// redelivery (which no new publish announces) waits in an idle pipeline.
const FetchWait = time.Second

// RetryPause is how long Run waits after a failed pull before it pulls again.
const RetryPause = 500 * time.Millisecond

// RunOptions configures RunAccounts.
type RunOptions struct {
	// Size is the most messages one account's turn fetches: one batch.
	Size int
	// Gate, when set, is called before each round of turns and returns once fetching may go on
	// (the worker's store is available). While it waits no message is delivered to this
	// process, so none spends a delivery (JetStream counts every one).
	Gate func(context.Context)
	// Skip, when set, passes an account's turn: its events stay in the stream, spending nothing.
	Skip func(account string) bool
}

// Run delivers messages to handle in batches of up to size, taking the accounts in turn (see
// RunAccounts).
func (c *Consumer) Run(ctx context.Context, size int, handle BatchFunc) error {
	return c.RunGated(ctx, size, nil, handle)
}

// RunGated is Run with a gate (RunOptions.Gate).
func (c *Consumer) RunGated(ctx context.Context, size int, gate func(context.Context), handle BatchFunc) error {
	return c.RunAccounts(ctx, RunOptions{Size: size, Gate: gate}, func(_ string, msgs []jetstream.Msg) { handle(msgs) })
}

// RunAccounts delivers messages to handle until ctx ends, taking the accounts in turn: each turn
// asks one account's consumer for what is waiting, up to a batch, without waiting on the server
// (an empty account costs one round trip), so a backlog of one account delays another's events
// by one batch per round, however long it is. When a whole round found nothing, one pull per
// account is left waiting on the server (up to FetchWait) and Run sleeps until one of them
// delivers: no busy loop while the pipeline is idle, and no delay for the next event.
//
// Every pull is an explicit, expiring request rather than a standing subscription: when ctx
// ends, Run issues no new request and hands over everything the waiting ones deliver until they
// expire, so every message handed to this process is settled. (A subscription's Drain drops
// messages already on their way, leaving them to redeliver after AckWait.) Run returns nil after
// ctx ends, or an error if a consumer or the connection is gone for good. One Run at a time.
func (c *Consumer) RunAccounts(ctx context.Context, o RunOptions, handle AccountBatchFunc) error {
	r := &runner{c: c, size: max(o.Size, 1), skip: o.Skip, handle: handle,
		parks: map[*accountConsumer]*parkedPull{}, wake: make(chan struct{}, 1)}
	if r.skip == nil {
		r.skip = func(string) bool { return false }
	}
	defer r.settleParks()
	for ctx.Err() == nil {
		if o.Gate != nil {
			if o.Gate(ctx); ctx.Err() != nil {
				break
			}
		}
		reconnects := c.conn.Stats().Reconnects
		got, err := r.round()
		if err == nil {
			// While disconnected a pull request waits in the connection's buffer and expires
			// without an error: only pulls made and ended on one live connection show that
			// JetStream answers.
			switch st := c.conn.Status(); {
			case st == nats.CLOSED:
				err = nats.ErrConnectionClosed
			case st != nats.CONNECTED:
				err = fmt.Errorf("NATS connection is %s", st)
			case c.conn.Stats().Reconnects != reconnects:
				continue // reconnected meanwhile: the next round tells
			default:
				c.pulling.OK("pulling events again", "stream", c.cfg.Stream)
				if !got {
					r.park(ctx)
				}
				continue
			}
		}
		if fatal(err) {
			return fmt.Errorf("consume %s: %w", c.cfg.Stream, err)
		}
		// Disconnected, a leader election, a server restart: wait a little and pull again, for
		// as long as it takes. The connection reconnects on its own and logs when it does.
		c.failures.Add(1)
		c.pulling.Fail("pulling events failed; retrying until NATS answers", err, "stream", c.cfg.Stream)
		select {
		case <-ctx.Done():
		case <-time.After(c.pause):
		}
	}
	return nil
}

// runner is one RunAccounts' state.
type runner struct {
	c      *Consumer
	size   int
	skip   func(string) bool
	handle AccountBatchFunc
	batch  []jetstream.Msg
	// parks are the pulls left waiting on the server, by account; wake is signalled when one
	// delivers a message or ends.
	parks map[*accountConsumer]*parkedPull
	wake  chan struct{}
}

// round hands over what the waiting pulls delivered, then gives every other account one turn.
// It reports whether any message was handed over.
func (r *runner) round() (bool, error) {
	got := r.harvest()
	for _, a := range r.c.rotation() {
		if _, parked := r.parks[a]; parked || r.skip(a.id) {
			continue // a pull already waits for its events, or its turn is passed
		}
		if st := r.c.conn.Status(); st != nats.CONNECTED {
			if st == nats.CLOSED {
				return got, nats.ErrConnectionClosed
			}
			return got, fmt.Errorf("NATS connection is %s", st)
		}
		f, err := a.cons.FetchNoWait(r.size)
		if err != nil {
			return got, fmt.Errorf("pull from %s (account %s): %w", r.c.cfg.AccountConsumer(a.id), a.id, err)
		}
		r.batch = r.batch[:0]
		for m := range f.Messages() {
			r.batch = append(r.batch, m)
		}
		if len(r.batch) > 0 {
			got = true
			r.handle(a.id, r.batch)
		}
		if err := f.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) {
			if errors.Is(err, nats.ErrNoResponders) {
				err = r.gone(a, err)
			}
			if err != nil {
				return got, fmt.Errorf("pull from %s (account %s): %w", r.c.cfg.AccountConsumer(a.id), a.id, err)
			}
		}
	}
	return got, nil
}

// gone tells why nothing answered a pull: the consumer was deleted (ErrConsumerNotFound:
// consuming cannot go on; a retired account's consumer is simply dropped, returning nil), or
// JetStream is not answering (err, which passes).
func (r *runner) gone(a *accountConsumer, err error) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, ierr := a.cons.Info(ctx)
	if !errors.Is(ierr, jetstream.ErrConsumerNotFound) {
		return err
	}
	if a.retired.Load() {
		r.c.drop(a)
		return nil
	}
	return ierr
}

// park leaves one pull waiting on the server for every account that has none (up to a batch,
// for FetchWait), then sleeps until one delivers or ends, an account is added (Nudge), or ctx ends.
// With no pull possible (every turn passed) it sleeps FetchWait at most.
func (r *runner) park(ctx context.Context) {
	for _, a := range r.c.rotation() {
		if _, parked := r.parks[a]; parked || r.skip(a.id) {
			continue
		}
		f, err := a.cons.Fetch(r.size, jetstream.FetchMaxWait(FetchWait))
		if err != nil {
			break // the next round's pulls report it
		}
		r.parks[a] = startPark(f, r.wake)
	}
	var idle <-chan time.Time
	if len(r.parks) == 0 {
		idle = time.After(FetchWait)
	}
	select {
	case <-ctx.Done():
	case <-r.wake:
	case <-r.c.nudge:
	case <-idle:
	}
}

// harvest hands over what the waiting pulls delivered, and forgets those that ended. It reports
// whether any message was handed over.
func (r *runner) harvest() bool {
	got := false
	for a, p := range r.parks {
		msgs, done := p.take()
		if len(msgs) > 0 {
			got = true
			r.handle(a.id, msgs)
		}
		if done {
			delete(r.parks, a)
		}
	}
	return got
}

// settleParks waits for the waiting pulls to end and hands over what they deliver: when Run
// returns, every message delivered to it has been handed over.
func (r *runner) settleParks() {
	for r.harvest(); len(r.parks) > 0; r.harvest() {
		<-r.wake
	}
}

// parkedPull is a pull request waiting on the server, read on a goroutine of its own.
type parkedPull struct {
	mu   sync.Mutex
	msgs []jetstream.Msg
	done bool
}

func startPark(f jetstream.MessageBatch, wake chan struct{}) *parkedPull {
	p := &parkedPull{}
	signal := func() {
		select {
		case wake <- struct{}{}:
		default:
		}
	}
	go func() {
		for m := range f.Messages() {
			p.mu.Lock()
			p.msgs = append(p.msgs, m)
			p.mu.Unlock()
			signal()
		}
		p.mu.Lock()
		p.done = true
		p.mu.Unlock()
		signal()
	}()
	return p
}

// take returns the messages delivered since the last take, and whether the pull has ended.
func (p *parkedPull) take() ([]jetstream.Msg, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	msgs := p.msgs
	p.msgs = nil
	return msgs, p.done
}
