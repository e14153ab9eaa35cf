package worker_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
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
	"github.com/saleassist-pipeline/pipeline/pkg/store/postgres"
	"github.com/saleassist-pipeline/pipeline/pkg/store/sqlite"
	"github.com/saleassist-pipeline/pipeline/pkg/worker"
)

const (
	// waitFor bounds every wait for the pipeline to reach a state.
	waitFor = 10 * time.Second
	tick    = 10 * time.Millisecond
)

// testBundle is a worker wired to real components: an embedded JetStream, the shared durable
// consumer, a SQLite store in a temporary directory and the real router.
type testBundle struct {
	js        jetstream.JetStream
	stream    jetstream.Stream
	qc        queue.Config
	cons      *queue.Consumer
	store     store.Store
	dbPath    string // the SQLite file; empty with withStore
	reg       *prometheus.Registry
	mapper    *mapping.Mapper
	validator *schema.Validator
	fixture   []byte
	worker    *worker.Worker
}

type setupOptions struct {
	// router, when set, builds the router instead of handlers.NewRouter with Recover and Validate.
	router func(m *mapping.Mapper, v *schema.Validator) *route.Router
	opts   worker.Options
	// store, when set, opens the store instead of a SQLite file in a temporary directory.
	store func(t *testing.T) store.Store
	// log, when set, is the worker's logger instead of one that discards.
	log *slog.Logger
	// accounts, when set, are the worker's accounts (each gets its consumer at setup).
	accounts *account.Registry
}

type option func(*setupOptions)

func withRouter(f func(*mapping.Mapper, *schema.Validator) *route.Router) option {
	return func(o *setupOptions) { o.router = f }
}

func withOptions(wo worker.Options) option { return func(o *setupOptions) { o.opts = wo } }

// withAccounts has the worker consume the accounts of reg.
func withAccounts(reg *account.Registry) option { return func(o *setupOptions) { o.accounts = reg } }

// withLog has the worker log to log.
func withLog(log *slog.Logger) option { return func(o *setupOptions) { o.log = log } }

// withStore has the worker write to the store open returns (closed by open's own cleanup).
func withStore(open func(t *testing.T) store.Store) option {
	return func(o *setupOptions) { o.store = open }
}

// postgresStore opens a fresh PostgreSQL database (testkit.FreshPostgres) as the store.
func postgresStore(t *testing.T) store.Store {
	t.Helper()
	url := testkit.FreshPostgres(t)
	db, err := postgres.Open(context.Background(), url)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, db.Close()) })
	return db
}

// setup builds the bundle; the worker does not run until start.
func setup(t *testing.T, opts ...option) *testBundle {
	t.Helper()
	var o setupOptions
	for _, opt := range opts {
		opt(&o)
	}
	k := testkit.StartJetStream(t)
	js, qc, log := k.JS, k.Config, k.Logger
	dir := t.TempDir()

	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	stream, err := queue.EnsureStream(ctx, js, qc)
	require.NoError(t, err)
	var accts []string
	if o.accounts != nil {
		accts = o.accounts.IDs()
		o.opts.Accounts = o.accounts
	}
	cons, err := queue.NewConsumer(ctx, js, qc, log, accts...)
	require.NoError(t, err)
	dlq, err := queue.NewDeadLetterer(ctx, js, qc)
	require.NoError(t, err)

	var (
		st     store.Store
		dbPath string
	)
	if o.store != nil {
		st = o.store(t)
	} else {
		dbPath = filepath.Join(dir, "leads.db")
		db, err := sqlite.Open(ctx, dbPath)
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, db.Close()) })
		st = db
	}

	m, err := mapping.NewMapper("IN")
	require.NoError(t, err)
	v, err := schema.New()
	require.NoError(t, err)
	var r *route.Router
	if o.router != nil {
		r = o.router(m, v)
	} else {
		r = handlers.NewRouter(m, route.Recover, route.Validate(v))
	}
	fixture := testkit.Fixture(t)

	reg := prometheus.NewRegistry()
	wlog := log
	if o.log != nil {
		wlog = o.log
	}
	w := worker.New(cons, dlq, r, st, worker.NewMetrics(reg), wlog, o.opts)
	return &testBundle{
		js: js, stream: stream, qc: qc, cons: cons, store: st, dbPath: dbPath, reg: reg,
		mapper: m, validator: v, fixture: fixture, worker: w,
	}
}

// start runs the worker until the returned stop is called (or the test ends). stop cancels Run's
// context and returns what Run returned; it fails the test if Run does not return in time.
func (b *testBundle) start(t *testing.T) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.worker.Run(ctx) }()
	var (
		stopped bool
		runErr  error
	)
	stop = func() error {
		if stopped {
			return runErr
		}
		stopped = true
		cancel()
		select {
		case runErr = <-done:
		case <-time.After(waitFor):
			t.Errorf("Run did not return within %s of its context ending", waitFor)
		}
		return runErr
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

// body returns the fixture with payload.id set to id.
func (b *testBundle) body(t *testing.T, id string) []byte {
	t.Helper()
	return testkit.WithID(b.fixture, id)
}

// newEvent returns a widget_new_conversation event with the given id.
func (b *testBundle) newEvent(t *testing.T, id string) *pipeline.Event {
	t.Helper()
	return testkit.NewEvent(id, pipeline.WidgetNewConversation, b.body(t, id))
}

// publish stores msg in the stream, the way the ingest does.
func (b *testBundle) publish(t *testing.T, msg *nats.Msg) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	_, err := b.js.PublishMsg(ctx, msg)
	require.NoError(t, err)
}

// publishMany publishes n events with ids prefix-0 … prefix-(n-1), pipelined.
func (b *testBundle) publishMany(t *testing.T, prefix string, n int) {
	t.Helper()
	b.publishFor(t, "", prefix, 0, n)
}

// publishFor publishes events prefix-from … prefix-(to-1) for account acct, pipelined.
func (b *testBundle) publishFor(t *testing.T, acct, prefix string, from, to int) {
	t.Helper()
	evs := make([]*pipeline.Event, 0, to-from)
	for i := from; i < to; i++ {
		ev := b.newEvent(t, prefix+"-"+strconv.Itoa(i))
		ev.Account = acct
		evs = append(evs, ev)
	}
	b.publishEvents(t, evs)
}

// publishEvents publishes evs, pipelined.
func (b *testBundle) publishEvents(t *testing.T, evs []*pipeline.Event) {
	t.Helper()
	futs := make([]jetstream.PubAckFuture, 0, len(evs))
	for _, ev := range evs {
		f, err := b.js.PublishMsgAsync(b.qc.NewMsg(ev))
		require.NoError(t, err)
		futs = append(futs, f)
	}
	select {
	case <-b.js.PublishAsyncComplete():
	case <-time.After(waitFor):
		t.Fatalf("publishes not acknowledged within %s", waitFor)
	}
	for _, f := range futs {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			t.Fatalf("publish %s: %v", f.Msg().Header.Get(queue.HeaderEventID), err)
		}
	}
}

// storedEvents is how many events the store holds.
func (b *testBundle) storedEvents(t *testing.T) int64 {
	t.Helper()
	return b.storedEventsOf(t, account.Default)
}

// storedEventsOf is how many events the store holds for account acct.
func (b *testBundle) storedEventsOf(t *testing.T, acct string) int64 {
	t.Helper()
	c, err := b.store.Counts(context.Background(), acct)
	require.NoError(t, err)
	return c.Events
}

// consumerInfo is the shared consumer's state as JetStream sees it.
func (b *testBundle) consumerInfo(t *testing.T) *jetstream.ConsumerInfo {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	info, err := b.cons.Info(ctx)
	require.NoError(t, err)
	return info
}

// streamMsgs is how many messages the work-queue stream still holds (not yet acked or termed).
func (b *testBundle) streamMsgs(t *testing.T) uint64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	info, err := b.stream.Info(ctx)
	require.NoError(t, err)
	return info.State.Msgs
}

// requireSettled waits until the consumer has nothing pending or unacknowledged.
func (b *testBundle) requireSettled(t *testing.T) {
	t.Helper()
	require.Eventually(t, func() bool {
		info := b.consumerInfo(t)
		return info.NumPending == 0 && info.NumAckPending == 0
	}, waitFor, tick, "consumer never settled: %+v", b.consumerInfo(t))
}

// events is saleassist_worker_events_total{event_type, outcome}.
func (b *testBundle) events(t *testing.T, eventType, outcome string) float64 {
	t.Helper()
	return b.eventsOf(t, account.Default, eventType, outcome)
}

// eventsOf is saleassist_worker_events_total{account, event_type, outcome}.
func (b *testBundle) eventsOf(t *testing.T, acct, eventType, outcome string) float64 {
	t.Helper()
	return testkit.RequireMetric(t, b.reg, "saleassist_worker_events_total", map[string]string{"account": acct, "event_type": eventType, "outcome": outcome})
}

func (b *testBundle) redeliveries(t *testing.T) float64 {
	t.Helper()
	return testkit.RequireMetric(t, b.reg, "saleassist_worker_redeliveries_total", nil)
}

// deadLetters returns the messages in the dead-letter stream, oldest first.
func (b *testBundle) deadLetters(t *testing.T) []*jetstream.RawStreamMsg {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	s, err := b.js.Stream(ctx, b.qc.DeadLetterStream)
	require.NoError(t, err)
	info, err := s.Info(ctx)
	require.NoError(t, err)
	var out []*jetstream.RawStreamMsg
	for seq := info.State.FirstSeq; info.State.Msgs > 0 && seq <= info.State.LastSeq; seq++ {
		m, err := s.GetMsg(ctx, seq)
		require.NoError(t, err)
		out = append(out, m)
	}
	return out
}

// awaitDeadLetters waits until the dead-letter stream holds n messages and returns them.
func (b *testBundle) awaitDeadLetters(t *testing.T, n int) []*jetstream.RawStreamMsg {
	t.Helper()
	var got []*jetstream.RawStreamMsg
	require.Eventually(t, func() bool { got = b.deadLetters(t); return len(got) >= n }, waitFor, tick)
	require.Len(t, got, n)
	return got
}

// onEveryStore runs fn in a parallel subtest per store, SQLite and PostgreSQL (which skips, or
// fails under CI=true, without TEST_DATABASE_URL), each with a started worker of its own.
func onEveryStore(t *testing.T, fn func(t *testing.T, b *testBundle)) {
	for name, opts := range map[string][]option{
		"sqlite":   nil,
		"postgres": {withStore(postgresStore)},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if name == "postgres" {
				testkit.PostgresURL(t)
			}
			b := setup(t, opts...)
			b.start(t)
			fn(t, b)
		})
	}
}
