package ctl_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/internal/testkit"
	"github.com/saleassist-pipeline/pipeline/pkg/admin"
	"github.com/saleassist-pipeline/pipeline/pkg/admin/admintest"
	"github.com/saleassist-pipeline/pipeline/pkg/queue"
)

// dlq list, show and replay: the replayed event is back in the events stream even inside the
// broker's duplicate window (fresh Nats-Msg-Id, same event id), and the dead letter is gone.
func TestDeadLetterListShowReplay(t *testing.T) {
	t.Parallel()
	b := setup(t)
	cons := b.Consumer(t)
	id := b.DeadLetter(t, cons, "dl-1", "invalid")
	require.Zero(t, b.EventsInStream(t), "terminated: gone from the events stream")

	code, out, errOut := b.run(t, "dlq", "list")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "dl-1")
	require.Contains(t, out, "invalid")
	require.Contains(t, out, "1 dead letter\n")

	code, out, _ = b.run(t, "dlq", "list", "--json")
	require.Equal(t, 0, code)
	var listed []map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &listed))
	require.Len(t, listed, 1)
	require.Equal(t, "dl-1", listed[0]["event_id"])
	require.EqualValues(t, 1, listed[0]["deliveries"])
	require.EqualValues(t, 1, listed[0]["stream_seq"])
	require.Equal(t, string(admintest.ErrTest), listed[0]["error"])

	code, out, errOut = b.run(t, "dlq", "show", strconv.FormatUint(id, 10))
	require.Equal(t, 0, code)
	require.Equal(t, string(testkit.WithID(testkit.Fixture(t), "dl-1")), out)
	require.Contains(t, errOut, queue.HeaderDLQReason+": invalid")

	// Dead-lettered as invalid: replaying it unchanged would only bring it back (issue 21, item 5).
	code, _, errOut = b.run(t, "dlq", "replay", strconv.FormatUint(id, 10))
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "would fail the same way")
	require.Contains(t, errOut, "--body")
	require.Contains(t, errOut, "dlq discard")
	require.Zero(t, b.EventsInStream(t))

	// --unchanged (after a fix to the pipeline) replays it as it is.
	code, out, errOut = b.run(t, "dlq", "replay", strconv.FormatUint(id, 10), "--unchanged")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "replayed dead letter")
	require.EqualValues(t, 1, b.EventsInStream(t), "republished despite the duplicate window")
	batch, err := cons.Fetch(1, jetstream.FetchMaxWait(5*time.Second))
	require.NoError(t, err)
	m := <-batch.Messages()
	require.NotNil(t, m)
	require.Equal(t, "dl-1", m.Headers().Get(queue.HeaderEventID), "the event id the store dedupes on is kept")
	require.Empty(t, m.Headers().Get(queue.HeaderDLQReason))
	require.Equal(t, "dlq/"+strconv.FormatUint(id, 10), m.Headers().Get(queue.HeaderReplayOf))
	require.NoError(t, m.Ack())

	code, out, _ = b.run(t, "dlq", "list")
	require.Equal(t, 0, code)
	require.Contains(t, out, "0 dead letters")
}

// dlq replay --all republishes every dead letter whose cause was transient, and leaves (and
// counts) those whose reason says the event is bad; status reports streams, backlog and counts.
func TestDeadLetterReplayAllAndStatus(t *testing.T) {
	t.Parallel()
	b := setup(t)
	cons := b.Consumer(t)
	b.DeadLetter(t, cons, "dl-a", "max_deliver")
	b.DeadLetter(t, cons, "dl-b", "permanent")
	b.Quarantine(t, "invalid_json", []byte("{"), nil)

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
	require.Contains(t, out, "replayed 1 dead letter;")
	require.Contains(t, out, "left 1 dead letter whose reason says the event itself is bad")
	require.EqualValues(t, 1, b.EventsInStream(t))
	code, out, errOut = b.run(t, "dlq", "replay", "--all", "--unchanged")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "replayed 1 dead letter\n")
	require.EqualValues(t, 2, b.EventsInStream(t))

	// The consumer's pending count trails the PubAcks by a moment.
	require.Eventually(t, func() bool {
		code, out, _ = b.run(t, "status")
		return code == 0 && strings.Contains(out, "pending 2,")
	}, 5*time.Second, 10*time.Millisecond, out)
	require.Contains(t, out, "0 dead letters (ingestctl dlq list)")
	require.Contains(t, out, "1 request in quarantine")
	require.Regexp(t, `SALEASSIST_EVENTS +2 +[0-9.]+ KiB +64\.0 MiB \(0\.0% used\)`, out, "human units")
}

// An id and a type with white space at their ends are listed, and replayed, exactly as sent: they
// travel escaped (NATS would trim them), and every listing shows them decoded.
func TestDeadLetterExactIDAndType(t *testing.T) {
	t.Parallel()
	b := setup(t)
	cons := b.Consumer(t)
	ctx := context.Background()
	const id, typ = " dl-2 ", " other "
	_, err := b.Pub.Publish(ctx, testkit.NewEvent(id, typ, testkit.WithID(testkit.Fixture(t), id)))
	require.NoError(t, err)
	batch, err := cons.Fetch(1, jetstream.FetchMaxWait(5*time.Second))
	require.NoError(t, err)
	m := <-batch.Messages()
	require.NotNil(t, m)
	dlq, err := queue.NewDeadLetterer(ctx, b.JS.JS, b.JS.Config)
	require.NoError(t, err)
	require.NoError(t, dlq.Move(ctx, m, queue.DeadLetter{Reason: "permanent", Err: admintest.ErrTest}))

	code, out, errOut := b.run(t, "dlq", "list", "--json")
	require.Equal(t, 0, code, errOut)
	var listed []map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &listed))
	require.Len(t, listed, 1)
	require.Equal(t, id, listed[0]["event_id"])
	require.Equal(t, typ, listed[0]["event_type"])

	code, _, errOut = b.run(t, "dlq", "replay", strconv.FormatFloat(listed[0]["id"].(float64), 'f', -1, 64), "--unchanged")
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

// Issue 21, item 5: a dead letter whose reason is permanent is replayed with a corrected body,
// checked before it is published and kept under the original event id; the type may be
// corrected too. A body with another payload.id, or that is not an event, is refused and the
// dead letter stays.
func TestDeadLetterReplayWithCorrectedBody(t *testing.T) {
	t.Parallel()
	b := setup(t)
	cons := b.Consumer(t)
	id := b.DeadLetter(t, cons, "dl-fix", "invalid")
	idText := strconv.FormatUint(id, 10)
	dir := t.TempDir()
	write := func(name string, body []byte) string {
		p := dir + "/" + name
		require.NoError(t, os.WriteFile(p, body, 0o600))
		return p
	}

	code, _, errOut := b.run(t, "dlq", "replay", idText, "--body", write("other-id.json", testkit.WithID(testkit.Fixture(t), "dl-other")))
	require.Equal(t, 1, code)
	require.Contains(t, errOut, `payload.id is "dl-other"`)
	require.Contains(t, errOut, "it stays a dead letter")
	// The body it has, re-indented, is no correction: it would come straight back.
	var stored bytes.Buffer
	require.NoError(t, json.Indent(&stored, testkit.WithID(testkit.Fixture(t), "dl-fix"), "", "    "))
	code, _, errOut = b.run(t, "dlq", "replay", idText, "--body", write("same.json", stored.Bytes()))
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "is the body it has")
	code, _, errOut = b.run(t, "dlq", "replay", idText, "--body", write("broken.json", []byte(`{"event_type":`)))
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "invalid_json")
	require.Zero(t, b.EventsInStream(t))

	fixed := bytes.Replace(testkit.WithID(testkit.Fixture(t), "dl-fix"), []byte(`"widget_new_conversation"`), []byte(`"lead_updated"`), 1)
	code, out, errOut := b.run(t, "dlq", "replay", idText, "--body", write("fixed.json", fixed))
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "with the corrected body")
	batch, err := cons.Fetch(1, jetstream.FetchMaxWait(5*time.Second))
	require.NoError(t, err)
	m := <-batch.Messages()
	require.NotNil(t, m)
	require.Equal(t, fixed, m.Data())
	ev, err := queue.EventFromMsg(m)
	require.NoError(t, err)
	require.Equal(t, "dl-fix", ev.ID)
	require.Equal(t, "lead_updated", ev.Type)
	require.Equal(t, b.JS.Config.Subject("", "lead_updated"), m.Subject())
	require.NoError(t, m.Ack())
	code, out, _ = b.run(t, "dlq", "list")
	require.Equal(t, 0, code)
	require.Contains(t, out, "0 dead letters")
}

// A dead letter can be discarded with a reason, which is required, recorded and listed.
func TestDeadLetterDiscard(t *testing.T) {
	t.Parallel()
	b := setup(t)
	cons := b.Consumer(t)
	id := b.DeadLetter(t, cons, "dl-gone", "invalid")
	idText := strconv.FormatUint(id, 10)

	code, _, errOut := b.run(t, "dlq", "discard", idText)
	require.Equal(t, 2, code)
	require.Contains(t, errOut, "needs --reason")
	code, _, errOut = b.run(t, "dlq", "discard", idText, "--reason", "   ")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "needs a reason")

	code, out, errOut := b.run(t, "dlq", "discard", idText, "--reason", "test lead from the\nsales demo")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "discarded dead letter "+idText+" (event dl-gone): test lead from the sales demo")
	code, out, _ = b.run(t, "dlq", "list")
	require.Equal(t, 0, code)
	require.Contains(t, out, "0 dead letters")
	code, out, errOut = b.run(t, "dlq", "discarded", "--json")
	require.Equal(t, 0, code, errOut)
	var listed []admin.Discarded
	require.NoError(t, json.Unmarshal([]byte(out), &listed))
	require.Len(t, listed, 1)
	require.Equal(t, "dl-gone", listed[0].EventID)
	require.Equal(t, "invalid", listed[0].Reason)
	require.Equal(t, id, listed[0].ID)
	require.Equal(t, "test lead from the sales demo", listed[0].DiscardReason)
	require.WithinDuration(t, time.Now(), listed[0].DiscardedAt, time.Minute)
	code, _, errOut = b.run(t, "dlq", "discard", idText, "--reason", "again")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "does not exist")
}
