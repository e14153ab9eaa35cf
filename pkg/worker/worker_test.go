package worker_test

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline"
	"github.com/saleassist-pipeline/pipeline/internal/testkit"
	"github.com/saleassist-pipeline/pipeline/pkg/account"
	"github.com/saleassist-pipeline/pipeline/pkg/handlers"
	"github.com/saleassist-pipeline/pipeline/pkg/mapping"
	"github.com/saleassist-pipeline/pipeline/pkg/queue"
	"github.com/saleassist-pipeline/pipeline/pkg/route"
	"github.com/saleassist-pipeline/pipeline/pkg/schema"
	"github.com/saleassist-pipeline/pipeline/pkg/store"
	"github.com/saleassist-pipeline/pipeline/pkg/worker"
)

const wnc = pipeline.WidgetNewConversation

func TestEventsFlowToTheStore(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.start(t)

	const n = 200
	b.publishMany(t, "flow", n)

	require.Eventually(t, func() bool { return b.storedEvents(t) == n }, waitFor, tick)
	b.requireSettled(t)
	require.Equal(t, uint64(0), b.streamMsgs(t), "every stored event is acked and leaves the work queue")

	require.Equal(t, float64(n), b.events(t, wnc, worker.OutcomeStored))
	for _, o := range []string{worker.OutcomeDuplicate, worker.OutcomeInvalid, worker.OutcomeFailed} {
		require.Zero(t, b.events(t, wnc, o), o)
	}
	require.Zero(t, b.redeliveries(t))

	// Every event names the same person and meeting.
	c, err := b.store.Counts(context.Background(), account.Default)
	require.NoError(t, err)
	require.Equal(t, store.Counts{Leads: 1, Events: n, Meetings: 1}, c)

	got, err := b.store.Event(context.Background(), account.Default, "flow-7")
	require.NoError(t, err)
	require.Equal(t, wnc, got.EventType)
	require.NotZero(t, got.LeadID)
	require.Empty(t, got.Invalid)
	require.Equal(t, string(b.body(t, "flow-7")), string(got.Payload))
	l, err := b.store.Lead(context.Background(), account.Default, got.LeadID)
	require.NoError(t, err)
	require.Equal(t, "prakashm@athenabpo.in", l.Email)
}

func TestUnknownTypeIsStoredWithItsLead(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.start(t)

	const typ = "widget_something_new"
	body := bytes.Replace(b.body(t, "unk-1"), []byte(`"event_type": "`+wnc+`"`), []byte(`"event_type": "`+typ+`"`), 1)
	b.publish(t, b.qc.NewMsg(testkit.NewEvent("unk-1", typ, body)))

	require.Eventually(t, func() bool { return b.storedEvents(t) == 1 }, waitFor, tick)
	b.requireSettled(t)
	got, err := b.store.Event(context.Background(), account.Default, "unk-1")
	require.NoError(t, err)
	require.Equal(t, typ, got.EventType)
	require.NotZero(t, got.LeadID, "the person of an unknown event type is kept")
	require.Empty(t, got.Invalid)
	require.Equal(t, float64(1), b.events(t, "other", worker.OutcomeUnknownType))
	_, ok := testkit.Metric(t, b.reg, "saleassist_worker_events_total", map[string]string{"account": "default", "event_type": typ, "outcome": worker.OutcomeUnknownType})
	require.False(t, ok, "unknown event types must not become label values")
}

func TestTransientHandlerFailureIsRetried(t *testing.T) {
	t.Parallel()

	var (
		mu       sync.Mutex
		attempts = map[string][]time.Time{}
	)
	b := setup(t, withRouter(func(m *mapping.Mapper, v *schema.Validator) *route.Router {
		real := handlers.WidgetNewConversation(m)
		r := route.New(handlers.Unknown(m))
		r.Handle(wnc, func(ctx context.Context, ev *pipeline.Event) (*pipeline.Record, error) {
			mu.Lock()
			attempts[ev.ID] = append(attempts[ev.ID], time.Now())
			n := len(attempts[ev.ID])
			mu.Unlock()
			if n <= 2 {
				return nil, errors.New("lead enrichment briefly unavailable")
			}
			return real(ctx, ev)
		})
		r.Use(route.Recover, route.Validate(v))
		return r
	}))
	b.start(t)
	b.publish(t, b.qc.NewMsg(b.newEvent(t, "retry-1")))

	// Redelivered after 1s, then 2s: about 3s in all.
	require.Eventually(t, func() bool { return b.storedEvents(t) == 1 }, waitFor, tick)
	b.requireSettled(t)

	require.Equal(t, float64(1), b.events(t, wnc, worker.OutcomeStored), "stored exactly once")
	require.Equal(t, float64(2), b.events(t, wnc, worker.OutcomeFailed))
	require.GreaterOrEqual(t, b.redeliveries(t), float64(2))

	mu.Lock()
	times := attempts["retry-1"]
	mu.Unlock()
	require.Len(t, times, 3)
	// The delays grow as Backoff says (measured from before each nak, so never shorter).
	require.GreaterOrEqual(t, times[1].Sub(times[0]), worker.Backoff(1)-50*time.Millisecond)
	require.GreaterOrEqual(t, times[2].Sub(times[1]), worker.Backoff(2)-50*time.Millisecond)

	got, err := b.store.Event(context.Background(), account.Default, "retry-1")
	require.NoError(t, err)
	require.Empty(t, got.Invalid)
	require.NotZero(t, got.LeadID, "the real handler ran on the last delivery")
}

func TestHandlerPanicIsDeadLettered(t *testing.T) {
	t.Parallel()

	b := setup(t, withRouter(func(m *mapping.Mapper, v *schema.Validator) *route.Router {
		r := route.New(handlers.Unknown(m))
		r.Handle(wnc, func(context.Context, *pipeline.Event) (*pipeline.Record, error) {
			panic("mapper exploded")
		})
		r.Use(route.Recover, route.Validate(v))
		return r
	}))
	b.start(t)
	b.publish(t, b.qc.NewMsg(b.newEvent(t, "boom-1")))

	dl := b.awaitDeadLetters(t, 1)[0]
	b.requireSettled(t)
	require.Equal(t, worker.ReasonPermanent, dl.Header.Get(queue.HeaderDLQReason))
	require.Contains(t, dl.Header.Get(queue.HeaderDLQError), "panicked")
	require.Contains(t, dl.Header.Get(queue.HeaderDLQError), "mapper exploded")
	require.Equal(t, "boom-1", dl.Header.Get(queue.HeaderEventID))
	require.Equal(t, b.qc.Subject("", wnc), dl.Header.Get(queue.HeaderDLQSubject))
	require.Equal(t, "1", dl.Header.Get(queue.HeaderDLQDeliveries))
	require.Equal(t, "1", dl.Header.Get(queue.HeaderDLQStreamSeq))
	require.NotEmpty(t, dl.Header.Get(queue.HeaderDLQFirstFailure))
	require.Equal(t, b.body(t, "boom-1"), dl.Data, "the body travels unchanged")

	require.Zero(t, b.storedEvents(t))
	require.Equal(t, float64(1), b.events(t, wnc, worker.OutcomeDeadLettered))
	require.Equal(t, float64(1), testkit.RequireMetric(t, b.reg, "saleassist_worker_dead_letters_total", map[string]string{"account": "default", "reason": worker.ReasonPermanent}))
	require.Zero(t, b.events(t, wnc, worker.OutcomeStored))
	require.Zero(t, b.redeliveries(t))
	// Terminated: the message left the work queue after its one delivery.
	require.Equal(t, uint64(0), b.streamMsgs(t))
	require.Zero(t, b.consumerInfo(t).NumRedelivered)
}

// A schema-invalid event is dead-lettered at once (reason invalid), not stored.
func TestSchemaInvalidEventIsDeadLettered(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.start(t)
	body := []byte(`{"event_type":"widget_new_conversation","payload":{"id":"bad-1","people_detail":"not an object"}}`)
	b.publish(t, b.qc.NewMsg(testkit.NewEvent("bad-1", wnc, body)))

	dl := b.awaitDeadLetters(t, 1)[0]
	b.requireSettled(t)
	require.Equal(t, worker.ReasonInvalid, dl.Header.Get(queue.HeaderDLQReason))
	require.Contains(t, dl.Header.Get(queue.HeaderDLQError), "/payload/people_detail")
	require.Zero(t, b.storedEvents(t))
	require.Equal(t, float64(1), b.events(t, wnc, worker.OutcomeInvalid))
}

// A transient failure that never clears is retried MaxDeliver times, then dead-lettered with the
// last error, the delivery count and when it first failed.
func TestEventFailingMaxDeliverTimesIsDeadLettered(t *testing.T) {
	t.Parallel()
	var attempts atomic.Int32
	b := setup(t, withOptions(worker.Options{MaxDeliver: 3}), withRouter(func(m *mapping.Mapper, v *schema.Validator) *route.Router {
		r := route.New(handlers.Unknown(m))
		r.Handle(wnc, func(context.Context, *pipeline.Event) (*pipeline.Record, error) {
			attempts.Add(1)
			return nil, errors.New("crm api timed out")
		})
		r.Use(route.Recover, route.Validate(v))
		return r
	}))
	b.start(t)
	start := time.Now()
	b.publish(t, b.qc.NewMsg(b.newEvent(t, "flaky-1")))

	dl := b.awaitDeadLetters(t, 1)[0]
	b.requireSettled(t)
	require.EqualValues(t, 3, attempts.Load())
	require.GreaterOrEqual(t, time.Since(start), worker.Backoff(1)+worker.Backoff(2), "retried with growing delays")
	require.Equal(t, worker.ReasonMaxDeliver, dl.Header.Get(queue.HeaderDLQReason))
	require.Equal(t, "3", dl.Header.Get(queue.HeaderDLQDeliveries))
	require.Contains(t, dl.Header.Get(queue.HeaderDLQError), "crm api timed out")
	first, err := time.Parse(time.RFC3339Nano, dl.Header.Get(queue.HeaderDLQFirstFailure))
	require.NoError(t, err)
	require.WithinDuration(t, start, first, time.Second, "first failure is the first attempt, not the last")
	require.Equal(t, float64(2), b.events(t, wnc, worker.OutcomeFailed))
	require.Equal(t, float64(1), b.events(t, wnc, worker.OutcomeDeadLettered))
	require.Zero(t, b.storedEvents(t))
}

func TestMessageThatIsNotAnEnvelopeIsDeadLettered(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.start(t)

	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	_, err := b.js.Publish(ctx, b.qc.Subject("", "garbage"), []byte("not json"))
	require.NoError(t, err)

	dl := b.awaitDeadLetters(t, 1)[0]
	b.requireSettled(t)
	require.Equal(t, worker.ReasonUndecodable, dl.Header.Get(queue.HeaderDLQReason))
	require.Equal(t, "not json", string(dl.Data))
	require.Equal(t, uint64(0), b.streamMsgs(t), "terminated, not left for redelivery")
	require.Zero(t, b.redeliveries(t))
	require.Zero(t, b.storedEvents(t))
	require.Equal(t, float64(1), b.events(t, "other", worker.OutcomeDeadLettered))

	// The worker goes on with the next events.
	b.publish(t, b.qc.NewMsg(b.newEvent(t, "after-garbage")))
	require.Eventually(t, func() bool { return b.storedEvents(t) == 1 }, waitFor, tick)
	b.requireSettled(t)
	_, err = b.store.Event(context.Background(), account.Default, "after-garbage")
	require.NoError(t, err)
	require.Equal(t, float64(1), b.events(t, wnc, worker.OutcomeStored))
	require.Zero(t, b.consumerInfo(t).NumRedelivered)
}

func TestDuplicateEventIsStoredOnce(t *testing.T) {
	t.Parallel()
	b := setup(t)

	// Published before the worker runs, so both copies most likely share a batch; a third copy,
	// later, meets the first one in the store.
	ev := b.newEvent(t, "dup-1")
	first := b.qc.NewMsg(ev)
	resent := b.qc.NewMsg(ev)
	resent.Header[jetstream.MsgIDHeader] = []string{"dup-1-resent"}
	b.publish(t, first)
	b.publish(t, resent)
	require.Equal(t, uint64(2), b.streamMsgs(t), "JetStream keeps both: the store must dedupe")

	b.start(t)
	require.Eventually(t, func() bool { return b.events(t, wnc, worker.OutcomeDuplicate) == 1 }, waitFor, tick)
	b.requireSettled(t)
	require.Equal(t, float64(1), b.events(t, wnc, worker.OutcomeStored))
	require.Equal(t, int64(1), b.storedEvents(t))

	again := b.qc.NewMsg(ev)
	again.Header[jetstream.MsgIDHeader] = []string{"dup-1-again"}
	b.publish(t, again)
	require.Eventually(t, func() bool { return b.events(t, wnc, worker.OutcomeDuplicate) == 2 }, waitFor, tick)
	b.requireSettled(t)
	require.Equal(t, float64(1), b.events(t, wnc, worker.OutcomeStored))
	require.Equal(t, int64(1), b.storedEvents(t))
	require.Equal(t, uint64(0), b.streamMsgs(t), "duplicates are acked too")
}

func TestRunSettlesEverythingOnCancel(t *testing.T) {
	t.Parallel()

	// Count the messages the worker was handed (all are valid envelopes, so each is dispatched).
	var handed atomic.Int64
	b := setup(t, withRouter(func(m *mapping.Mapper, v *schema.Validator) *route.Router {
		r := handlers.NewRouter(m, route.Recover, route.Validate(v))
		r.Use(func(next pipeline.HandlerFunc) pipeline.HandlerFunc {
			return func(ctx context.Context, ev *pipeline.Event) (*pipeline.Record, error) {
				handed.Add(1)
				return next(ctx, ev)
			}
		})
		return r
	}))

	const n = 1000
	b.publishMany(t, "stop", n)
	stop := b.start(t)
	require.Eventually(t, func() bool { return b.storedEvents(t) > 0 }, waitFor, time.Millisecond)
	require.NoError(t, stop(), "Run returns nil when its context ends")

	// Run has returned: nothing more is handled, stored or counted.
	stored := b.storedEvents(t)
	t.Logf("stored %d of %d before the worker stopped", stored, n)
	require.Equal(t, handed.Load(), stored, "every message handed over was stored, none left half-done")
	require.Equal(t, float64(stored), b.events(t, wnc, worker.OutcomeStored))
	require.Zero(t, b.events(t, wnc, worker.OutcomeFailed))

	// ... and acked: a work-queue stream drops a message once it is acked. Acks travel
	// asynchronously, so wait for them, well within AckWait (30s).
	require.Eventually(t, func() bool { return b.streamMsgs(t) == uint64(n-stored) }, 5*time.Second, tick,
		"stream holds %d messages, want %d", b.streamMsgs(t), n-stored)
	info := b.consumerInfo(t)
	require.Equal(t, uint64(stored), info.AckFloor.Stream, "acked in order, with no gap")
	require.Zero(t, info.NumRedelivered)
	// Nothing was delivered to this process without being handed over and settled: no message
	// waits for AckWait to be redelivered after a clean stop.
	require.Zero(t, info.NumAckPending, "delivered %d, handed over %d", info.Delivered.Consumer, handed.Load())
	require.Equal(t, uint64(stored), info.Delivered.Consumer)
	require.Equal(t, uint64(n-stored), info.NumPending, "nothing lost or double counted")
}

func TestBackoff(t *testing.T) {
	t.Parallel()

	for _, tc := range []struct {
		delivered uint64
		want      time.Duration
	}{
		{0, time.Second},
		{1, time.Second},
		{2, 2 * time.Second},
		{3, 4 * time.Second},
		{4, 8 * time.Second},
		{6, 32 * time.Second},
		{7, time.Minute},
		{8, time.Minute},
		{100, time.Minute},
		{1 << 63, time.Minute},
	} {
		require.Equal(t, tc.want, worker.Backoff(tc.delivered), "after %d deliveries", tc.delivered)
	}
}

func TestLagGauges(t *testing.T) {
	t.Parallel()

	// The handler waits for the gate, so nothing is stored (or acked) until the test says so.
	gate := make(chan struct{})
	b := setup(t,
		withOptions(worker.Options{LagInterval: 50 * time.Millisecond}),
		withRouter(func(m *mapping.Mapper, v *schema.Validator) *route.Router {
			real := handlers.WidgetNewConversation(m)
			r := route.New(handlers.Unknown(m))
			r.Handle(wnc, func(ctx context.Context, ev *pipeline.Event) (*pipeline.Record, error) {
				<-gate
				return real(ctx, ev)
			})
			r.Use(route.Recover, route.Validate(v))
			return r
		}))

	const n = 50
	b.publishMany(t, "lag", n)
	// The consumer learns of stored messages asynchronously, shortly after the PubAcks.
	require.Eventually(t, func() bool { return b.consumerInfo(t).NumPending == n }, waitFor, tick)
	_, read := testkit.Metric(t, b.reg, "saleassist_worker_consumer_lag", map[string]string{"account": "default"})
	require.False(t, read, "not read before Run")

	b.start(t)
	var once sync.Once
	open := func() { once.Do(func() { close(gate) }) }
	t.Cleanup(open) // before the worker is stopped (cleanups run last-in first-out)

	gauge := func(name string) float64 {
		v, _ := testkit.Metric(t, b.reg, "saleassist_worker_consumer_"+name, map[string]string{"account": "default"})
		return v
	}
	// The worker holds messages it cannot finish: they are ack pending, the rest pending, and the
	// lag counts both.
	require.Eventually(t, func() bool {
		return gauge("lag") == n && gauge("ack_pending") >= 1 && gauge("pending")+gauge("ack_pending") == n
	}, waitFor, tick, "lag %v, pending %v, ack pending %v", gauge("lag"), gauge("pending"), gauge("ack_pending"))

	open()
	require.Eventually(t, func() bool { return b.storedEvents(t) == n }, waitFor, tick)
	require.Eventually(t, func() bool {
		return gauge("lag") == 0 && gauge("pending") == 0 && gauge("ack_pending") == 0
	}, waitFor, tick, "lag %v, pending %v, ack pending %v", gauge("lag"), gauge("pending"), gauge("ack_pending"))
	b.requireSettled(t)
}

func TestHandlerReturningNoRecordDoesNotStopTheWorker(t *testing.T) {
	t.Parallel()

	b := setup(t, withRouter(func(m *mapping.Mapper, v *schema.Validator) *route.Router {
		r := route.New(handlers.Unknown(m))
		r.Handle(wnc, func(context.Context, *pipeline.Event) (*pipeline.Record, error) { return nil, nil })
		r.Use(route.Recover, route.Validate(v))
		return r
	}))
	b.start(t)
	b.publish(t, b.qc.NewMsg(b.newEvent(t, "norec-1")))

	dl := b.awaitDeadLetters(t, 1)[0]
	b.requireSettled(t)
	require.Contains(t, dl.Header.Get(queue.HeaderDLQError), "no record")
	require.Equal(t, float64(1), b.events(t, wnc, worker.OutcomeDeadLettered))

	// Still running: the next event (of a type with a working handler) is stored too.
	body := bytes.Replace(b.body(t, "norec-2"), []byte(`"event_type": "`+wnc+`"`), []byte(`"event_type": "other_type"`), 1)
	b.publish(t, b.qc.NewMsg(testkit.NewEvent("norec-2", "other_type", body)))
	require.Eventually(t, func() bool { return b.storedEvents(t) == 1 }, waitFor, tick)
}
