package queue_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/pkg/queue"
)

func TestPublisher_PublishAndDuplicate(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	p := b.publisher(t, b.cfg, 0)

	ev := newEvent(t, "widget_new_conversation", "dc60de93-d726-43cc-ad06-9cc7544cb8e5", 0)
	ack, err := p.Publish(ctx, ev)
	require.NoError(t, err)
	require.Equal(t, queue.Ack{Sequence: 1, Duplicate: false}, ack)

	// The sender retries: same event id, so JetStream keeps only the first.
	retry := newEvent(t, "widget_new_conversation", ev.ID, 0)
	ack, err = p.Publish(ctx, retry)
	require.NoError(t, err)
	require.True(t, ack.Duplicate)
	require.Equal(t, uint64(1), ack.Sequence)

	// Another event is stored next.
	ack, err = p.Publish(ctx, newEvent(t, "widget_new_conversation", "other", 0))
	require.NoError(t, err)
	require.Equal(t, queue.Ack{Sequence: 2}, ack)

	s, err := b.js.Stream(ctx, b.cfg.Stream)
	require.NoError(t, err)
	info, err := s.Info(ctx)
	require.NoError(t, err)
	require.Equal(t, uint64(2), info.State.Msgs)
}

func TestPublisher_MessageHeadersAndBody(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	p := b.publisher(t, b.cfg, 0)

	ev := newEvent(t, "weird.type *>", "ev-42", 0)
	body := append([]byte(nil), ev.Body...)
	ack, err := p.Publish(ctx, ev)
	require.NoError(t, err)

	s, err := b.js.Stream(ctx, b.cfg.Stream)
	require.NoError(t, err)
	m, err := s.GetMsg(ctx, ack.Sequence)
	require.NoError(t, err)
	require.Equal(t, "saleassist.events.default.weird_type___", m.Subject)
	require.Equal(t, "ev-42", m.Header.Get(jetstream.MsgIDHeader))
	require.Equal(t, "ev-42", m.Header.Get(queue.HeaderEventID))
	require.Equal(t, "weird.type *>", m.Header.Get(queue.HeaderEventType))
	require.Equal(t, "2024-07-11T10:32:38.123456789Z", m.Header.Get(queue.HeaderReceivedAt))
	require.Equal(t, body, m.Data)
}

func TestPublisher_ServerDown(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	const timeout = 300 * time.Millisecond
	p := b.publisher(t, b.cfg, timeout)

	_, err := p.Publish(ctx, newEvent(t, "x", "before", 0))
	require.NoError(t, err)

	b.srv.Shutdown()

	start := time.Now()
	_, err = p.Publish(ctx, newEvent(t, "x", "after", 0))
	elapsed := time.Since(start)
	require.ErrorIs(t, err, queue.ErrUnavailable)
	require.Contains(t, err.Error(), "after", "the error names the event")
	require.Less(t, elapsed, 2*time.Second, "Publish must give up within its timeout")
}

func TestPublisher_StreamFull(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	cfg := b.cfg
	cfg.MaxBytes = 4096
	p := b.publisher(t, cfg, 0)

	var stored int
	var err error
	for i := range 20 {
		_, err = p.Publish(ctx, newEvent(t, "x", fmt.Sprintf("ev-%d", i), 1024))
		if err != nil {
			break
		}
		stored++
	}
	require.ErrorIs(t, err, queue.ErrUnavailable, "4 KiB cannot hold 20 events of 1 KiB")
	require.ErrorContains(t, err, "maximum bytes")
	require.GreaterOrEqual(t, stored, 1)
	require.Less(t, stored, 4)

	// DiscardNew: what was stored is kept, and the next publish fails too.
	_, err = p.Publish(ctx, newEvent(t, "x", "one-more", 1024))
	require.ErrorIs(t, err, queue.ErrUnavailable)
	s, err := b.js.Stream(ctx, cfg.Stream)
	require.NoError(t, err)
	info, err := s.Info(ctx)
	require.NoError(t, err)
	require.Equal(t, uint64(stored), info.State.Msgs)
	require.Equal(t, uint64(1), info.State.FirstSeq)
	first, err := s.GetMsg(ctx, 1)
	require.NoError(t, err)
	require.Equal(t, "ev-0", first.Header.Get(queue.HeaderEventID))
}

func TestPublisher_Concurrent(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	p := b.publisher(t, b.cfg, 0)

	const n = 200
	type result struct {
		seq uint64
		err error
	}
	results := make(chan result, n)
	for i := range n {
		ev := newEvent(t, "x", fmt.Sprintf("ev-%d", i), 0)
		go func() {
			ack, err := p.Publish(ctx, ev)
			results <- result{ack.Sequence, err}
		}()
	}
	seen := make(map[uint64]bool, n)
	for range n {
		r := <-results
		require.NoError(t, r.err)
		require.False(t, seen[r.seq], "sequence %d acknowledged twice", r.seq)
		seen[r.seq] = true
	}
	for seq := uint64(1); seq <= n; seq++ {
		require.True(t, seen[seq], "sequence %d missing", seq)
	}
}
