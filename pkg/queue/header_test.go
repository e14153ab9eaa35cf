package queue_test

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/pkg/queue"
)

// headerCases are ids and types NATS would alter if they travelled as header values unchanged
// (it trims white space at both ends), and neighbours of them that must stay distinct.
var headerCases = []string{
	"abc", "abc ", " abc", "  abc  ", "a b", " ", "a%20b", "a%2", "%", "%%", "%20abc",
	"100%25", "ünïcødé 😀", "\ufffd", "a\tb", "tab\t", "\r\nx", "x\x00y\x7f",
	" widget_new_conversation", "widget_new_conversation", " other ", "other",
}

func TestHeaderValue_Bijection(t *testing.T) {
	t.Parallel()
	seen := map[string]string{}
	for _, s := range headerCases {
		enc := queue.EncodeHeaderValue(s)
		require.Equal(t, s, queue.DecodeHeaderValue(enc), "round trip of %q via %q", s, enc)
		if prev, dup := seen[enc]; dup {
			t.Fatalf("%q and %q both encode to %q", prev, s, enc)
		}
		seen[enc] = s
		for i := 0; i < len(enc); i++ {
			c := enc[i]
			require.False(t, c < 0x20 || c == 0x7f, "%q encodes to %q, holding a control byte", s, enc)
		}
		require.NotRegexp(t, `^[ \t]|[ \t]$`, enc, "%q encodes to %q, which NATS would trim", s, enc)
	}
	// What needs no escape is carried as it is: the common case costs a check, not a copy.
	for _, s := range []string{"dc60de93-d726-43cc-ad06-9cc7544cb8e5", "widget_new_conversation", "a b", "ünï"} {
		require.Equal(t, s, queue.EncodeHeaderValue(s))
	}
	// A value published before escaping existed ("50%off", "a%20b" as sent) is not in the
	// canonical form, so it is read as it is.
	require.Equal(t, "50%off", queue.DecodeHeaderValue("50%off"))
	require.Equal(t, "a%20b", queue.DecodeHeaderValue("a%20b"))
}

// TestEventHeaders_ExactThroughNATS publishes events whose ids and types differ only in white
// space at their ends (or in how they spell a '%') through a real embedded server: each must
// come back from the consumer byte for byte as published, and none may be taken for a duplicate
// of another (Nats-Msg-Id is exact too).
func TestEventHeaders_ExactThroughNATS(t *testing.T) {
	t.Parallel()
	b := setup(t)
	p := b.publisher(t, b.cfg, 0)
	ctx := t.Context()

	for i, s := range headerCases {
		if s == "" {
			continue
		}
		ev := newEvent(t, s, s, 0)
		ack, err := p.Publish(ctx, ev)
		require.NoError(t, err, "case %d %q", i, s)
		require.False(t, ack.Duplicate, "%q was taken for a duplicate of an earlier id", s)
	}
	s, err := queue.LookupStream(ctx, b.js, b.cfg)
	require.NoError(t, err)
	cons, err := s.CreateOrUpdateConsumer(ctx, b.cfg.ConsumerConfig())
	require.NoError(t, err)
	batch, err := cons.Fetch(len(headerCases), jetstream.FetchMaxWait(5*time.Second))
	require.NoError(t, err)
	var got []string
	for m := range batch.Messages() {
		ev, err := queue.EventFromMsg(m)
		require.NoError(t, err)
		require.Equal(t, ev.ID, ev.Type, "this test publishes each value as both id and type")
		got = append(got, ev.ID)
	}
	require.NoError(t, batch.Error())
	require.Equal(t, headerCases, got)
}

// BenchmarkEncodeHeaderValue is what escaping costs a typical id and type, which need none: a
// check, no copy.
func BenchmarkEncodeHeaderValue(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if queue.EncodeHeaderValue("dc60de93-d726-43cc-ad06-9cc7544cb8e5") == "" || queue.EncodeHeaderValue("widget_new_conversation") == "" {
			b.Fatal("empty")
		}
	}
}
