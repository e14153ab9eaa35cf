package admin_test

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/internal/testkit"
	"github.com/saleassist-pipeline/pipeline/pkg/admin"
	"github.com/saleassist-pipeline/pipeline/pkg/queue"
)

// deadLetter publishes an event as the ingest would, takes it as a worker would, and moves it to
// the dead-letter stream the way the worker does; it returns the dead letter's id.
func (b *testBundle) deadLetter(t *testing.T, cons jetstream.Consumer, id, reason string) uint64 {
	t.Helper()
	ctx := context.Background()
	_, err := b.pub.Publish(ctx, testkit.FixtureEvent(t, id))
	require.NoError(t, err)
	batch, err := cons.Fetch(1, jetstream.FetchMaxWait(5*time.Second))
	require.NoError(t, err)
	m := <-batch.Messages()
	require.NotNil(t, m)
	dlq, err := queue.NewDeadLetterer(ctx, b.js.JS, b.js.Config)
	require.NoError(t, err)
	require.NoError(t, dlq.Move(ctx, m, queue.DeadLetter{Reason: reason, Err: errTest}))
	s, err := b.js.JS.Stream(ctx, queue.DefaultDeadLetterStream)
	require.NoError(t, err)
	info, err := s.Info(ctx)
	require.NoError(t, err)
	return info.State.LastSeq
}

type testError string

func (e testError) Error() string { return string(e) }

const errTest = testError("schema validation failed: /payload/people_detail: got string, want object")

func (b *testBundle) consumer(t *testing.T) jetstream.Consumer {
	t.Helper()
	s, err := b.js.JS.Stream(context.Background(), queue.DefaultStream)
	require.NoError(t, err)
	cons, err := s.CreateOrUpdateConsumer(context.Background(), b.js.Config.ConsumerConfig())
	require.NoError(t, err)
	return cons
}

// dlq list, show and replay: the replayed event is back in the events stream even inside the
// broker's duplicate window (fresh Nats-Msg-Id, same event id), and the dead letter is gone.
func TestDeadLetterListShowReplay(t *testing.T) {
	t.Parallel()
	b := setup(t)
	cons := b.consumer(t)
	id := b.deadLetter(t, cons, "dl-1", "invalid")
	require.Zero(t, b.eventsInStream(t), "terminated: gone from the events stream")

	code, out, errOut := b.run(t, "dlq", "list")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "dl-1")
	require.Contains(t, out, "invalid")
	require.Contains(t, out, "1 dead letters")

	code, out, _ = b.run(t, "dlq", "list", "--json")
	require.Equal(t, 0, code)
	var listed []map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &listed))
	require.Len(t, listed, 1)
	require.Equal(t, "dl-1", listed[0]["event_id"])
	require.EqualValues(t, 1, listed[0]["deliveries"])
	require.EqualValues(t, 1, listed[0]["stream_seq"])
	require.Equal(t, string(errTest), listed[0]["error"])

	code, out, errOut = b.run(t, "dlq", "show", strconv.FormatUint(id, 10))
	require.Equal(t, 0, code)
	require.Equal(t, string(testkit.WithID(testkit.Fixture(t), "dl-1")), out)
	require.Contains(t, errOut, queue.HeaderDLQReason+": invalid")

	code, out, errOut = b.run(t, "dlq", "replay", strconv.FormatUint(id, 10))
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "replayed dead letter")
	require.EqualValues(t, 1, b.eventsInStream(t), "republished despite the duplicate window")
	batch, err := cons.Fetch(1, jetstream.FetchMaxWait(5*time.Second))
	require.NoError(t, err)
	m := <-batch.Messages()
	require.NotNil(t, m)
	require.Equal(t, "dl-1", m.Headers().Get(queue.HeaderEventID), "the event id the store dedupes on is kept")
	require.Empty(t, m.Headers().Get(queue.HeaderDLQReason))
	require.NoError(t, m.Ack())

	code, out, _ = b.run(t, "dlq", "list")
	require.Equal(t, 0, code)
	require.Contains(t, out, "0 dead letters")
}

// dlq replay --all republishes every dead letter; status reports streams, backlog and counts.
func TestDeadLetterReplayAllAndStatus(t *testing.T) {
	t.Parallel()
	b := setup(t)
	cons := b.consumer(t)
	b.deadLetter(t, cons, "dl-a", "max_deliver")
	b.deadLetter(t, cons, "dl-b", "permanent")
	b.quarantine(t, "invalid_json", []byte("{"), nil)

	code, out, errOut := b.run(t, "status", "--json")
	require.Equal(t, 0, code, errOut)
	var st admin.Status
	require.NoError(t, json.Unmarshal([]byte(out), &st))
	require.EqualValues(t, 2, st.DeadLetters)
	require.EqualValues(t, 1, st.Quarantined)
	require.NotNil(t, st.Consumer)
	require.Zero(t, st.Consumer.Pending)
	require.Len(t, st.Streams, 3)
	require.Equal(t, queue.DefaultStream, st.Streams[0].Name)

	code, out, errOut = b.run(t, "dlq", "replay", "--all")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "replayed 2 dead letters")
	require.EqualValues(t, 2, b.eventsInStream(t))

	// The consumer's pending count trails the PubAcks by a moment.
	require.Eventually(t, func() bool {
		code, out, _ = b.run(t, "status")
		return code == 0 && strings.Contains(out, "pending 2,")
	}, 5*time.Second, 10*time.Millisecond, out)
	require.Contains(t, out, "dead letters: 0")
	require.Contains(t, out, "quarantined: 1")
}

// An id and a type with white space at their ends are listed, and replayed, exactly as sent: they
// travel escaped (NATS would trim them), and every listing shows them decoded.
func TestDeadLetterExactIDAndType(t *testing.T) {
	t.Parallel()
	b := setup(t)
	cons := b.consumer(t)
	ctx := context.Background()
	const id, typ = " dl-2 ", " other "
	_, err := b.pub.Publish(ctx, testkit.NewEvent(id, typ, testkit.WithID(testkit.Fixture(t), id)))
	require.NoError(t, err)
	batch, err := cons.Fetch(1, jetstream.FetchMaxWait(5*time.Second))
	require.NoError(t, err)
	m := <-batch.Messages()
	require.NotNil(t, m)
	dlq, err := queue.NewDeadLetterer(ctx, b.js.JS, b.js.Config)
	require.NoError(t, err)
	require.NoError(t, dlq.Move(ctx, m, queue.DeadLetter{Reason: "permanent", Err: errTest}))

	code, out, errOut := b.run(t, "dlq", "list", "--json")
	require.Equal(t, 0, code, errOut)
	var listed []map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &listed))
	require.Len(t, listed, 1)
	require.Equal(t, id, listed[0]["event_id"])
	require.Equal(t, typ, listed[0]["event_type"])

	code, _, errOut = b.run(t, "dlq", "replay", strconv.FormatFloat(listed[0]["id"].(float64), 'f', -1, 64))
	require.Equal(t, 0, code, errOut)
	batch, err = cons.Fetch(1, jetstream.FetchMaxWait(5*time.Second))
	require.NoError(t, err)
	m = <-batch.Messages()
	require.NotNil(t, m)
	ev, err := queue.EventFromMsg(m)
	require.NoError(t, err)
	require.Equal(t, id, ev.ID)
	require.Equal(t, typ, ev.Type)
	require.NoError(t, m.Ack())
}
