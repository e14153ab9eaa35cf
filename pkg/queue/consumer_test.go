package queue_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/pkg/queue"
)

// publishN stores n events ev-0 … ev-(n-1), at most 64 in flight and with a generous
// acknowledgement timeout: thousands of concurrent publishes on a loaded machine running -race
// took longer than the default 2 s to be acknowledged, failing set-up rather than the test.
func (b *testBundle) publishN(t *testing.T, n int) {
	t.Helper()
	p := b.publisher(t, b.cfg, 30*time.Second)
	type result struct {
		ack queue.Ack
		err error
	}
	results := make(chan result, n)
	slots := make(chan struct{}, 64)
	for i := range n {
		ev := newEvent(t, "widget_new_conversation", fmt.Sprintf("ev-%d", i), 0)
		slots <- struct{}{}
		go func() {
			defer func() { <-slots }()
			ack, err := p.Publish(t.Context(), ev)
			results <- result{ack, err}
		}()
	}
	for range n {
		r := <-results
		require.NoError(t, r.err)
		require.False(t, r.ack.Duplicate)
	}
}

// recorder is a BatchFunc that acks every message (waiting for JetStream to confirm, so the
// consumer's state is final once it returns) and records what it saw.
type recorder struct {
	t        *testing.T
	size     int
	inFlight atomic.Int32

	mu       sync.Mutex
	seen     map[string]int
	handed   int
	acked    int
	batches  int
	maxBatch int
	// onBatch, if set, runs after each batch with the number of messages handled so far.
	onBatch func(handled int)
}

func newRecorder(t *testing.T, size int) *recorder {
	return &recorder{t: t, size: size, seen: make(map[string]int)}
}

func (r *recorder) handle(msgs []jetstream.Msg) {
	if r.inFlight.Add(1) != 1 {
		r.t.Errorf("BatchFunc called concurrently")
	}
	defer r.inFlight.Add(-1)
	if len(msgs) == 0 || len(msgs) > r.size {
		r.t.Errorf("batch of %d messages, want 1 to %d", len(msgs), r.size)
	}
	acked := 0
	ids := make([]string, 0, len(msgs))
	for _, m := range msgs {
		ev, err := queue.EventFromMsg(m)
		if err != nil {
			r.t.Errorf("event from message: %v", err)
			continue
		}
		ids = append(ids, ev.ID)
		// Not the Run context: it may be canceled, and settling must still happen.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := m.DoubleAck(ctx); err != nil {
			r.t.Errorf("ack %s: %v", ev.ID, err)
		} else {
			acked++
		}
		cancel()
	}
	r.mu.Lock()
	for _, id := range ids {
		r.seen[id]++
	}
	r.handed += len(msgs)
	r.acked += acked
	r.batches++
	r.maxBatch = max(r.maxBatch, len(msgs))
	handled := r.handed
	r.mu.Unlock()
	if r.onBatch != nil {
		r.onBatch(handled)
	}
}

func (b *testBundle) consumerInfo(t *testing.T, c *queue.Consumer) *jetstream.ConsumerInfo {
	t.Helper()
	info, err := c.Info(t.Context())
	require.NoError(t, err)
	return info
}

// runConsumer runs c.Run in a goroutine and returns a channel with its result.
func runConsumer(ctx context.Context, c *queue.Consumer, size int, r *recorder) <-chan error {
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, size, r.handle) }()
	return done
}

func waitRun(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context ended")
		return nil
	}
}

func TestConsumer_RunDeliversEverything(t *testing.T) {
	t.Parallel()
	b := setup(t)
	const n, size = 500, 50
	b.publishN(t, n)

	c, err := queue.NewConsumer(t.Context(), b.js, b.cfg, b.log)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return b.consumerInfo(t, c).NumPending == uint64(n) }, 10*time.Second, 5*time.Millisecond)

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	all := make(chan struct{})
	var once sync.Once
	r := newRecorder(t, size)
	r.onBatch = func(handled int) {
		if handled >= n {
			once.Do(func() { close(all) })
		}
	}
	done := runConsumer(ctx, c, size, r)

	select {
	case <-all:
	case err := <-done:
		t.Fatalf("Run returned early: %v", err)
	case <-time.After(15 * time.Second):
		r.mu.Lock()
		t.Fatalf("only %d of %d events delivered", r.handed, n)
	}
	cancel()
	require.NoError(t, waitRun(t, done))

	r.mu.Lock()
	defer r.mu.Unlock()
	require.Equal(t, n, r.handed)
	require.Equal(t, n, r.acked)
	require.Len(t, r.seen, n)
	for id, times := range r.seen {
		require.Equal(t, 1, times, "event %s delivered %d times", id, times)
	}
	require.LessOrEqual(t, r.maxBatch, size)
	require.GreaterOrEqual(t, r.batches, n/size)

	info := b.consumerInfo(t, c)
	require.Zero(t, info.NumAckPending)
	require.Zero(t, info.NumPending)
	require.Zero(t, info.NumRedelivered)
}

// TestConsumer_RunDrainsOnCancel cancels while messages are flowing: every message Run received
// must reach the BatchFunc (and so be acked), none may be left delivered-but-unsettled to be
// redelivered after AckWait, and the rest stay pending for the next worker.
func TestConsumer_RunDrainsOnCancel(t *testing.T) {
	t.Parallel()
	b := setup(t)
	const n, size = 500, 10
	b.publishN(t, n)

	c, err := queue.NewConsumer(t.Context(), b.js, b.cfg, b.log)
	require.NoError(t, err)

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	r := newRecorder(t, size)
	r.onBatch = func(handled int) {
		if handled >= 3*size {
			cancel() // from inside a batch: more messages are buffered and in flight
		}
	}
	done := runConsumer(ctx, c, size, r)
	require.NoError(t, waitRun(t, done))

	r.mu.Lock()
	handed, acked, maxBatch := r.handed, r.acked, r.maxBatch
	r.mu.Unlock()
	require.GreaterOrEqual(t, handed, 3*size)
	require.Less(t, handed, n, "Run kept pulling after its context ended")
	require.Equal(t, handed, acked)
	require.LessOrEqual(t, maxBatch, size)

	info := b.consumerInfo(t, c)
	require.Zero(t, info.NumAckPending, "messages received but never handed to the BatchFunc")
	require.Equal(t, uint64(n-handed), info.NumPending, "messages lost")
	require.Equal(t, uint64(handed), info.AckFloor.Consumer)

	// A second worker picks up exactly the rest.
	ctx2, cancel2 := context.WithCancel(t.Context())
	defer cancel2()
	r2 := newRecorder(t, size)
	rest := n - handed
	r2.onBatch = func(h int) {
		if h >= rest {
			cancel2()
		}
	}
	require.NoError(t, waitRun(t, runConsumer(ctx2, c, size, r2)))
	r2.mu.Lock()
	defer r2.mu.Unlock()
	require.Equal(t, rest, r2.handed)
	r.mu.Lock()
	defer r.mu.Unlock()
	for id := range r2.seen {
		require.NotContains(t, r.seen, id, "event %s delivered to both workers", id)
	}
}

func TestConsumer_RunStopsWhenConsumerDeleted(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.publishN(t, 1)

	c, err := queue.NewConsumer(t.Context(), b.js, b.cfg, b.log)
	require.NoError(t, err)
	got := make(chan struct{})
	var once sync.Once
	r := newRecorder(t, 10)
	r.onBatch = func(int) { once.Do(func() { close(got) }) }
	done := runConsumer(t.Context(), c, 10, r)
	<-got

	s, err := b.js.Stream(t.Context(), b.cfg.Stream)
	require.NoError(t, err)
	require.NoError(t, s.DeleteConsumer(t.Context(), b.cfg.Consumer))

	select {
	case err := <-done:
		require.Error(t, err, "Run must report that consuming stopped on its own")
		require.True(t, errors.Is(err, jetstream.ErrConsumerDeleted) || errors.Is(err, jetstream.ErrConsumerNotFound),
			"Run returned %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its consumer was deleted")
	}
}

// TestConsumer_RunRestartsLeaveNothingAckPending stops and restarts a worker again and again
// while a backlog is flowing, acking without waiting (as a fast handler does). A stop that drops
// messages already on their way (Consume + Drain did, with batches of 100) leaves them
// ack-pending until AckWait; this catches it within a few cycles.
func TestConsumer_RunRestartsLeaveNothingAckPending(t *testing.T) {
	t.Parallel()
	b := setup(t)
	const n, size, cycles, perCycle = 3000, 100, 10, 150
	b.publishN(t, n)
	c, err := queue.NewConsumer(t.Context(), b.js, b.cfg, b.log)
	require.NoError(t, err)

	total := 0
	for cycle := range cycles {
		ctx, cancel := context.WithCancel(t.Context())
		handed := 0 // BatchFunc calls do not overlap, and Run has returned before it is read
		err := c.Run(ctx, size, func(msgs []jetstream.Msg) {
			for _, m := range msgs {
				if err := m.Ack(); err != nil {
					t.Errorf("ack: %v", err)
				}
			}
			if handed += len(msgs); handed >= perCycle {
				cancel()
			}
		})
		cancel()
		require.NoError(t, err)
		require.GreaterOrEqual(t, handed, perCycle)
		total += handed
		require.NoError(t, b.nc.Flush())
		require.Eventually(t, func() bool {
			info := b.consumerInfo(t, c)
			return info.NumAckPending == 0 && info.NumPending == uint64(n-total)
		}, 3*time.Second, 10*time.Millisecond, "cycle %d: messages left ack-pending or lost after a clean stop", cycle)
	}
}
