package queue_test

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline"
	"github.com/saleassist-pipeline/pipeline/pkg/queue"
)

// fetchOne pulls the next message of the stream through the workers' durable consumer.
func (b *testBundle) fetchOne(t *testing.T) jetstream.Msg {
	t.Helper()
	ctx := t.Context()
	s, err := queue.LookupStream(ctx, b.js, b.cfg)
	require.NoError(t, err)
	cons, err := s.CreateOrUpdateConsumer(ctx, b.cfg.ConsumerConfig())
	require.NoError(t, err)
	batch, err := cons.Fetch(1, jetstream.FetchMaxWait(5*time.Second))
	require.NoError(t, err)
	var msgs []jetstream.Msg
	for m := range batch.Messages() {
		msgs = append(msgs, m)
	}
	require.NoError(t, batch.Error())
	require.Len(t, msgs, 1)
	return msgs[0]
}

func TestNewMsg(t *testing.T) {
	t.Parallel()
	cfg := queue.DefaultConfig()
	ev := newEvent(t, "weird.type *>", "ev-1", 0)

	m := cfg.NewMsg(ev)
	require.Equal(t, "saleassist.events.default.weird_type___", m.Subject)
	require.Equal(t, ev.Body, m.Data)
	require.Equal(t, "ev-1", m.Header.Get(jetstream.MsgIDHeader))
	require.Equal(t, "ev-1", m.Header.Get(queue.HeaderEventID))
	require.Equal(t, "weird.type *>", m.Header.Get(queue.HeaderEventType))
	require.Equal(t, "2024-07-11T10:32:38.123456789Z", m.Header.Get(queue.HeaderReceivedAt))
	require.Equal(t, "default", m.Header.Get(queue.HeaderAccount))

	// Another account: its own subject, and a Nats-Msg-Id of its own, so the same event id sent
	// to two accounts is not dropped as a duplicate by JetStream.
	ev.Account = "acme"
	m = cfg.NewMsg(ev)
	require.Equal(t, "saleassist.events.acme.weird_type___", m.Subject)
	require.Equal(t, "acme/ev-1", m.Header.Get(jetstream.MsgIDHeader))
	require.Equal(t, "ev-1", m.Header.Get(queue.HeaderEventID))
	require.Equal(t, "acme", m.Header.Get(queue.HeaderAccount))
}

func TestEventFromMsg_RoundTrip(t *testing.T) {
	t.Parallel()
	b := setup(t)
	p := b.publisher(t, b.cfg, 0)

	// Headers win over the body: give the event a type and id its body does not carry, so a
	// fallback to ParseHead would show.
	ev := newEvent(t, "widget_new_conversation", "body-id", 0)
	ev.ID, ev.Type = "ev-7", "weird.type *>"
	_, err := p.Publish(t.Context(), ev)
	require.NoError(t, err)

	got, err := queue.EventFromMsg(b.fetchOne(t))
	require.NoError(t, err)
	require.Equal(t, ev.ID, got.ID)
	require.Equal(t, ev.Type, got.Type)
	require.Equal(t, ev.Body, got.Body)
	require.True(t, ev.ReceivedAt.Equal(got.ReceivedAt), "received at %s, want %s", got.ReceivedAt, ev.ReceivedAt)
	require.Equal(t, time.UTC, got.ReceivedAt.Location())
}

func TestEventFromMsg_WithoutHeaders(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	_, err := queue.EnsureStream(ctx, b.js, b.cfg)
	require.NoError(t, err)

	// Someone published an envelope by hand (nats pub, a replay script): no headers at all.
	body := []byte(`{"event_type":"widget_new_conversation","payload":{"id":12345}}`)
	before := time.Now()
	_, err = b.js.Publish(ctx, b.cfg.Subject("", "widget_new_conversation"), body)
	require.NoError(t, err)
	after := time.Now()

	got, err := queue.EventFromMsg(b.fetchOne(t))
	require.NoError(t, err)
	require.Equal(t, "12345", got.ID)
	require.Equal(t, "widget_new_conversation", got.Type)
	require.Equal(t, body, got.Body)
	// The arrival time falls back to when JetStream stored the message.
	require.False(t, got.ReceivedAt.Before(before.Add(-time.Second)), "received at %s, published after %s", got.ReceivedAt, before)
	require.False(t, got.ReceivedAt.After(after.Add(time.Second)), "received at %s, published before %s", got.ReceivedAt, after)
	require.Equal(t, time.UTC, got.ReceivedAt.Location())
}

func TestEventFromMsg_BadBody(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		body string
		as   any
	}{
		{"not JSON", `this is not json`, new(*pipeline.SyntaxError)},
		{"not an envelope", `[1,2,3]`, new(*pipeline.EnvelopeError)},
		{"no event_type", `{"payload":{"id":1}}`, new(*pipeline.EnvelopeError)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			ctx := t.Context()
			_, err := queue.EnsureStream(ctx, b.js, b.cfg)
			require.NoError(t, err)
			subject := b.cfg.Subject("", "x")
			_, err = b.js.Publish(ctx, subject, []byte(tt.body))
			require.NoError(t, err)

			ev, err := queue.EventFromMsg(b.fetchOne(t))
			require.Nil(t, ev)
			require.ErrorAs(t, err, tt.as)
			require.ErrorContains(t, err, subject, "the error names the subject")
		})
	}
}
