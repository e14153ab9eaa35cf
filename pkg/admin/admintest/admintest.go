// Package admintest sets up what the operations of pkg/admin work on, for their tests and
// ingestctl's: a JetStream server on a random port with the pipeline's default streams, and
// dead letters and quarantined requests made the way the worker and the ingest make them.
package admintest

import (
	"context"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/internal/testkit"
	"github.com/saleassist-pipeline/pipeline/pkg/admin"
	"github.com/saleassist-pipeline/pipeline/pkg/queue"
)

// Bundle is one test's pipeline JetStream.
type Bundle struct {
	JS  *testkit.JetStream
	Pub *queue.Publisher
	// URL is the server's client URL, for ingestctl's -nats-url.
	URL string
}

// Setup starts a server listening on a random port, with the events stream under the default
// names ingestctl works on.
func Setup(t *testing.T) *Bundle {
	t.Helper()
	js := testkit.StartJetStream(t, testkit.WithListen("127.0.0.1:0"))
	js.Config = queue.DefaultConfig() // ingestctl works on the default stream names
	js.Config.MaxBytes = 64 << 20
	_, err := queue.EnsureStream(context.Background(), js.JS, js.Config)
	require.NoError(t, err)
	pub, err := queue.NewPublisher(js.Conn, js.Config, 2*time.Second)
	require.NoError(t, err)
	return &Bundle{JS: js, Pub: pub, URL: js.Server.ClientURL()}
}

// Ops returns the operations on the bundle's server.
func (b *Bundle) Ops(t *testing.T) *admin.Ops {
	t.Helper()
	ops, err := admin.NewOps(b.JS.Conn, b.JS.Config, 1<<20)
	require.NoError(t, err)
	return ops
}

type testError string

func (e testError) Error() string { return string(e) }

// ErrTest is the error the dead letters are made with.
const ErrTest = testError("schema validation failed: /payload/people_detail: got string, want object")

// Consumer is the default account's worker consumer.
func (b *Bundle) Consumer(t *testing.T) jetstream.Consumer {
	t.Helper()
	s, err := b.JS.JS.Stream(context.Background(), queue.DefaultStream)
	require.NoError(t, err)
	cons, err := s.CreateOrUpdateConsumer(context.Background(), b.JS.Config.ConsumerConfig())
	require.NoError(t, err)
	return cons
}

// DeadLetter publishes an event as the ingest would, takes it from cons as a worker would, and
// moves it to the dead-letter stream the way the worker does; it returns the dead letter's id.
func (b *Bundle) DeadLetter(t *testing.T, cons jetstream.Consumer, id, reason string) uint64 {
	t.Helper()
	ctx := context.Background()
	_, err := b.Pub.Publish(ctx, testkit.FixtureEvent(t, id))
	require.NoError(t, err)
	batch, err := cons.Fetch(1, jetstream.FetchMaxWait(5*time.Second))
	require.NoError(t, err)
	m := <-batch.Messages()
	require.NotNil(t, m)
	b.move(t, m, reason)
	return b.LastSeq(t, queue.DefaultDeadLetterStream)
}

// DeadLetterFor dead-letters event id of account acct (empty: published before accounts, no
// header) the way the worker does, and returns the dead letter's id.
func (b *Bundle) DeadLetterFor(t *testing.T, acct, id, reason string) uint64 {
	t.Helper()
	ctx := context.Background()
	ev := testkit.FixtureEvent(t, id)
	ev.Account = acct
	msg := b.JS.Config.NewMsg(ev)
	if acct == "" {
		msg.Header.Del(queue.HeaderAccount)
	}
	_, err := b.JS.JS.PublishMsg(ctx, msg)
	require.NoError(t, err)
	s, err := b.JS.JS.Stream(ctx, queue.DefaultStream)
	require.NoError(t, err)
	// A consumer of this message's subject alone, gone afterwards: a work-queue stream refuses
	// consumers whose filters overlap.
	cons, err := s.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{Durable: "dl-" + acct + "-" + strconv.Itoa(int(b.LastSeq(t, queue.DefaultStream))),
		FilterSubject: msg.Subject, AckPolicy: jetstream.AckExplicitPolicy})
	require.NoError(t, err)
	m, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second))
	require.NoError(t, err)
	b.move(t, m, reason)
	// The worker's term is a message of its own: the consumer goes only once the server took it,
	// or the event would stay in the stream for the next consumer of its subject.
	require.Eventually(t, func() bool {
		info, err := cons.Info(ctx)
		return err == nil && info.NumAckPending == 0
	}, 5*time.Second, 5*time.Millisecond, "the dead-lettered event is settled")
	require.NoError(t, s.DeleteConsumer(ctx, cons.CachedInfo().Name))
	return b.LastSeq(t, queue.DefaultDeadLetterStream)
}

// move dead-letters m as the worker does.
func (b *Bundle) move(t *testing.T, m jetstream.Msg, reason string) {
	t.Helper()
	dlq, err := queue.NewDeadLetterer(context.Background(), b.JS.JS, b.JS.Config)
	require.NoError(t, err)
	require.NoError(t, dlq.Move(context.Background(), m, queue.DeadLetter{Reason: reason, Err: ErrTest}))
}

// LastSeq is the last sequence of stream.
func (b *Bundle) LastSeq(t *testing.T, stream string) uint64 {
	t.Helper()
	return b.info(t, stream).LastSeq
}

// EventsInStream counts the messages of the events stream.
func (b *Bundle) EventsInStream(t *testing.T) uint64 {
	t.Helper()
	return b.info(t, queue.DefaultStream).Msgs
}

func (b *Bundle) info(t *testing.T, stream string) jetstream.StreamState {
	t.Helper()
	s, err := b.JS.JS.Stream(context.Background(), stream)
	require.NoError(t, err)
	info, err := s.Info(context.Background())
	require.NoError(t, err)
	return info.State
}

// Quarantine keeps body, sent with headers h, as the ingest would, and returns its id.
func (b *Bundle) Quarantine(t *testing.T, reason string, body []byte, h http.Header) uint64 {
	t.Helper()
	id, err := b.Pub.Quarantine(context.Background(), &queue.Rejected{
		Reason: reason, Message: "body is not valid JSON: at line 3, column 7", Body: body, Header: h,
		RemoteAddr: "203.0.113.9", ReceivedAt: time.Now(),
	})
	require.NoError(t, err)
	return id
}

// QuarantineFor keeps body as the ingest keeps a request to account acct's URL.
func (b *Bundle) QuarantineFor(t *testing.T, acct, reason string, body []byte) uint64 {
	t.Helper()
	h := nats.Header{}
	h.Set(queue.HeaderQuarantineReason, reason)
	h.Set(queue.HeaderQuarantineError, "refused")
	h.Set(queue.HeaderReceivedAt, time.Now().UTC().Format(time.RFC3339Nano))
	h.Set(queue.HeaderRequestPrefix+"Content-Type", "application/json")
	h.Set(queue.HeaderAccount, acct)
	ack, err := b.JS.JS.PublishMsg(context.Background(), &nats.Msg{Subject: queue.DefaultQuarantineSubject, Header: h, Data: body})
	require.NoError(t, err)
	return ack.Sequence
}
