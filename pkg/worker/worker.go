package worker

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/saleassist-pipeline/pipeline"
	"github.com/saleassist-pipeline/pipeline/pkg/account"
	"github.com/saleassist-pipeline/pipeline/pkg/fieldpaths"
	"github.com/saleassist-pipeline/pipeline/pkg/mapping"
	"github.com/saleassist-pipeline/pipeline/pkg/queue"
	"github.com/saleassist-pipeline/pipeline/pkg/route"
	"github.com/saleassist-pipeline/pipeline/pkg/store"
)

// Defaults for Options.
const (
	DefaultBatchSize    = 256
	DefaultLagInterval  = 5 * time.Second
	DefaultBatchTimeout = 20 * time.Second
	// DefaultBatchLinger is how long the store stage waits for more events to join a batch that
	// is not full. Each commit has a cost of its own (BEGIN, COMMIT with its WAL pages and, with
	// SQLITE_SYNCHRONOUS=FULL, an fsync, then the acks): committing whatever single event just
	// arrived made a pipeline at 3,000 events/s commit ~460 times a second, 6–7 events each, and
	// spend its CPU there. Only the time until an event is in the store grows; the sender's 202
	// never waits for the worker.
	DefaultBatchLinger = 10 * time.Millisecond
)

// Options configures a Worker.
type Options struct {
	// BatchSize is the most messages stored in one transaction.
	BatchSize int
	// LagInterval is how often the consumer's lag is read for the metrics.
	LagInterval time.Duration
	// BatchTimeout bounds one batch's store transaction; it must stay well below the consumer's
	// AckWait, or JetStream redelivers what the worker still holds.
	BatchTimeout time.Duration
	// MaxDeliver is how many deliveries an event gets before it is dead-lettered (transient
	// failures are retried until then, with growing delays).
	MaxDeliver int
	// BatchLinger is how long, from the start of a batch, the store stage waits for more routed
	// events while the batch holds fewer than BatchSize; 0 means DefaultBatchLinger, negative
	// means no wait (commit whatever is ready).
	BatchLinger time.Duration
	// ProbeMax caps the wait between two probes of an unavailable store while paused; 0 means
	// DefaultProbeMax.
	ProbeMax time.Duration
	// PauseLogEvery is the shortest gap between two summary lines while paused; 0 means
	// DefaultPauseLogEvery.
	PauseLogEvery time.Duration
	// Accounts are the configured accounts: the worker consumes each one's events in turn,
	// follows its changes (new accounts get consumers without a restart), and labels metrics
	// with their ids. Nil means the default account alone.
	Accounts *account.Registry
	// PhoneRegion is the region the kept schema's examples read phone numbers written without a
	// country code in, to mask them; "" means "IN".
	PhoneRegion string
	// SkipFields turns the kept schema's upkeep (fields.go) off. For the bench only, to measure
	// what the upkeep costs; the console's schema explorer then samples the latest events.
	SkipFields bool
	// AccountRouter builds the router of an account with a mapping of its own
	// (account.Account.Mapping); nil routes every account with the router given to New.
	AccountRouter RouterFunc
}

// Worker consumes events, routes them and stores the results.
type Worker struct {
	cons    *queue.Consumer
	dlq     *queue.DeadLetterer
	router  *route.Router
	routers *routers
	store   store.Store
	metrics *Metrics
	log     *slog.Logger
	opts    Options
	// firstFailure remembers, by stream sequence, when this worker first failed on an event, for
	// the dead letter's header.
	ffMu         sync.Mutex
	firstFailure map[uint64]time.Time
	// pause is the pause on an unavailable store (pause.go); done closes when Run returns.
	pause pauseState
	done  chan struct{}
	// fields keeps the schema of the stored events; nil when the store keeps none, or SkipFields.
	fields *fieldKeeper
	// lagLabels are the account labels the lag gauges were last set for.
	lagMu     sync.Mutex
	lagLabels map[string]bool
}

// New returns a Worker. It does nothing until Run.
func New(cons *queue.Consumer, dlq *queue.DeadLetterer, router *route.Router, st store.Store, m *Metrics, log *slog.Logger, o Options) *Worker {
	if o.BatchSize <= 0 {
		o.BatchSize = DefaultBatchSize
	}
	if o.LagInterval <= 0 {
		o.LagInterval = DefaultLagInterval
	}
	if o.BatchTimeout <= 0 {
		o.BatchTimeout = DefaultBatchTimeout
	}
	if o.MaxDeliver <= 0 {
		o.MaxDeliver = queue.DefaultMaxDeliver
	}
	if o.BatchLinger == 0 {
		o.BatchLinger = DefaultBatchLinger
	}
	if o.Accounts == nil {
		o.Accounts = account.NewRegistry(account.Account{ID: account.Default})
	}
	if o.ProbeMax <= 0 {
		o.ProbeMax = DefaultProbeMax
	}
	if o.PauseLogEvery <= 0 {
		o.PauseLogEvery = DefaultPauseLogEvery
	}
	w := &Worker{cons: cons, dlq: dlq, router: router, store: st, metrics: m, log: log, opts: o,
		firstFailure: map[uint64]time.Time{}, done: make(chan struct{})}
	w.pause.log.Log, w.pause.log.Every = log, o.PauseLogEvery
	w.routers = newRouters(o.Accounts, router, o.AccountRouter, log, func(acct string, bad bool) {
		v := 0.0
		if bad {
			v = 1
		}
		m.mappingInvalid.WithLabelValues(w.accountLabel(acct)).Set(v)
	})
	w.initAccounts()
	if k, ok := st.(store.FieldKeeper); ok && !o.SkipFields {
		region := cmp.Or(o.PhoneRegion, "IN")
		m, err := mapping.NewMapper(region)
		if err != nil {
			log.Warn("kept schema off: no phone region to mask its examples", "region", region, "err", err)
		} else {
			w.fields = newFieldKeeper(k, fieldpaths.NewMasker(m), log)
		}
	}
	return w
}

// Run consumes until ctx ends, then settles the messages it already holds and returns.
//
// Batches go through two stages: routing (decode, validate, map: CPU work, spread over the
// cores) on the consumer's goroutine, and storing (one transaction, then the acks) on a goroutine
// of its own, so batch N+1 is routed while batch N commits. At most one routed batch waits for
// the store; the store stage joins routed batches that arrive within BatchLinger of a batch's
// start into one transaction (up to BatchSize events). Messages are acknowledged only after the
// commit that stored them, in order.
func (w *Worker) Run(ctx context.Context) error {
	defer close(w.done)
	lagCtx, stopLag := context.WithCancel(ctx)
	defer stopLag()
	go w.watchLag(lagCtx)
	go w.followAccounts(lagCtx)

	if w.fields != nil {
		go w.fields.run()
		defer w.fields.stop()
	}
	toStore := make(chan *routedBatch, 1)
	stored := make(chan struct{})
	go func() {
		defer close(stored)
		var next *routedBatch
		for {
			b := next
			if b == nil {
				var ok bool
				if b, ok = <-toStore; !ok {
					return
				}
			}
			b, next = w.gather(b, toStore)
			w.storeBatch(b)
		}
	}()
	// Paused on an unavailable store, the worker fetches nothing (the gate), and hands back what
	// a pull request still delivers without routing it.
	// An account whose own mapping does not compile is passed over (routers.go).
	skip := func(acct string) bool { _, err := w.routers.forAccount(acct); return err != nil }
	err := w.cons.RunAccounts(ctx, queue.RunOptions{Size: w.opts.BatchSize, Gate: w.waitAvailable, Skip: skip}, func(acct string, msgs []jetstream.Msg) {
		if w.isPaused() {
			w.handBack(msgs...)
			return
		}
		rt, err := w.routers.forAccount(acct)
		if err != nil {
			// Fetched before its mapping broke: back to the stream, to wait for the fix.
			for _, m := range msgs {
				_ = m.NakWithDelay(putBackDelay)
			}
			return
		}
		if b := w.routeBatch(rt, acct, msgs); b != nil {
			toStore <- b
		}
	})
	// Everything routed is stored and settled before Run returns.
	close(toStore)
	<-stored
	return err
}

// pending is one message of a batch on its way to the store.
type pending struct {
	msg       jetstream.Msg
	ev        *pipeline.Event
	outcome   string // what to count when the store says Stored
	delivered uint64 // this delivery's number (1 for the first)
}

// routedBatch is a batch after routing: the messages to store, with their records in the same
// order.
type routedBatch struct {
	start   time.Time
	msgs    []pending
	records []pipeline.Record
	// joined holds the starts of the routed batches gather joined to this one: each is still
	// observed as a batch of its own once stored, so that saleassist_worker_batch_size and
	// saleassist_worker_batch_duration_seconds keep counting the same batches (the worker-kill
	// drill compares their counts to see a batch in flight).
	joined []time.Time
}

// gather joins the routed batches that arrive on in within BatchLinger of b's start to b, up to
// BatchSize events. It returns the batch to store and, when the next routed batch would not fit,
// that batch (to start the next transaction with). A closed in ends the wait: Run is stopping,
// and what is held is stored and settled at once.
func (w *Worker) gather(b *routedBatch, in <-chan *routedBatch) (*routedBatch, *routedBatch) {
	if w.opts.BatchLinger < 0 || len(b.records) >= w.opts.BatchSize {
		return b, nil
	}
	wait := time.Until(b.start.Add(w.opts.BatchLinger))
	if wait <= 0 {
		return b, nil
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for len(b.records) < w.opts.BatchSize {
		select {
		case nb, ok := <-in:
			if !ok {
				return b, nil
			}
			if len(b.records)+len(nb.records) > w.opts.BatchSize {
				return b, nb
			}
			b.msgs = append(b.msgs, nb.msgs...)
			b.records = append(b.records, nb.records...)
			b.joined = append(append(b.joined, nb.start), nb.joined...)
		case <-timer.C:
			return b, nil
		}
	}
	return b, nil
}

// routeBatch routes every message. Messages that will not reach the store (dead letters,
// retries) are settled here; it returns the rest, or nil when none is left. msgs may be reused by
// the caller once it returns.
func (w *Worker) routeBatch(rt *route.Router, acct string, msgs []jetstream.Msg) *routedBatch {
	start := time.Now()
	w.metrics.batchSize.Observe(float64(len(msgs)))
	// Routing is CPU work independent per event: spread it over the cores, then store the
	// results in their original order.
	routed := make([]routedMsg, len(msgs))
	w.routeAll(context.Background(), rt, acct, msgs, routed)
	b := &routedBatch{start: start, msgs: make([]pending, 0, len(msgs)), records: make([]pipeline.Record, 0, len(msgs))}
	for _, r := range routed {
		if r.ok {
			b.msgs = append(b.msgs, r.p)
			b.records = append(b.records, *r.rec)
		}
	}
	if len(b.records) == 0 {
		return nil
	}
	return b
}

// storeBatch stores the records in one transaction, and settles each message on its own result:
// ack after the commit, a dead letter at once for data the store refuses (store.IsDataError), a
// delayed redelivery on another error. An unavailable store pauses the worker (pause.go) and
// the batch is handed back without spending a retry.
func (w *Worker) storeBatch(b *routedBatch) {
	if w.isPaused() {
		w.handBack(b.messages()...)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), w.opts.BatchTimeout)
	defer cancel()
	t0 := time.Now()
	results, err := w.store.Apply(ctx, b.records)
	w.metrics.store.Observe(time.Since(t0).Seconds())
	if reason, down := store.UnavailableReason(err); down {
		// The store, not the events: every record would fail alike, one by one too. Pause, and
		// hand the batch back without spending a retry.
		w.pauseOn(reason, err)
		w.handBack(b.messages()...)
		return
	}
	if err != nil {
		results = w.applyEach(b, err)
	}
	now := time.Now()
	var kept []storedBody
	if w.fields != nil {
		kept = make([]storedBody, 0, len(b.msgs))
	}
	for i, p := range b.msgs {
		res := results[i]
		reason, down := store.UnavailableReason(res.Err)
		switch {
		case down:
			w.pauseOn(reason, res.Err)
			w.handBack(p.msg)
			continue
		case res.Err != nil && store.IsDataError(res.Err):
			// No retry can store it: dead-lettered now, with the store's reason.
			w.deadLetter(p.msg, p.ev, ReasonUnstorable, res.Err)
			continue
		case res.Err != nil:
			w.retry(p.msg, p.ev, res.Err)
			continue
		case res.Outcome == pipeline.Duplicate:
			w.count(p.ev, OutcomeDuplicate)
		default:
			w.count(p.ev, p.outcome)
			w.metrics.age.Observe(now.Sub(p.ev.ReceivedAt).Seconds())
			if kept != nil {
				r := &b.records[i]
				kept = append(kept, storedBody{acct: r.Account, typ: r.EventType, at: r.ReceivedAt, body: r.Payload})
			}
			if inv := b.records[i].Invalid; inv != "" {
				// Stored, with what was wrong with it recorded (events.invalid). The text names
				// fields and schema rules, never their values, so it may be logged.
				w.metrics.invalid.WithLabelValues(w.accountLabel(p.ev.Account), w.typeLabel(p.ev)).Inc()
				w.log.Info("event stored with problems", "event_id", p.ev.ID, "event_type", p.ev.Type, "lead_id", res.LeadID, "invalid", inv)
			}
		}
		w.forget(p.msg)
		w.metrics.deliveries.Observe(float64(p.delivered))
		if err := p.msg.Ack(); err != nil {
			// The event is stored; a redelivery will be recognised as a duplicate.
			w.log.Warn("ack after commit", "event_id", p.ev.ID, "err", err)
		}
	}
	w.observeBatches(b)
	w.fields.add(kept)
}

// applyEach is what storeBatch does when the batch as a whole failed with err, and not because
// the store is unavailable (store.UnavailableReason): it stores the records one by one, each in
// a transaction of its own, so that one record the store refuses (a data error in a statement
// the whole batch shares) holds none of the others up. A batch of one needs no second try.
func (w *Worker) applyEach(b *routedBatch, err error) []pipeline.Result {
	w.log.Warn("store batch failed, storing its events one by one", "events", len(b.records), "err", err)
	results := make([]pipeline.Result, len(b.records))
	if len(b.records) == 1 {
		results[0].Err = err
		return results
	}
	for i := range b.records {
		ctx, cancel := context.WithTimeout(context.Background(), w.opts.BatchTimeout)
		t0 := time.Now()
		res, err := w.store.Apply(ctx, b.records[i:i+1])
		w.metrics.store.Observe(time.Since(t0).Seconds())
		cancel()
		if _, down := store.UnavailableReason(err); down {
			for j := i; j < len(results); j++ { // the rest would meet the same
				results[j].Err = err
			}
			break
		}
		if err != nil {
			results[i].Err = err
			continue
		}
		results[i] = res[0]
	}
	return results
}

// messages returns b's messages.
func (b *routedBatch) messages() []jetstream.Msg {
	msgs := make([]jetstream.Msg, len(b.msgs))
	for i, p := range b.msgs {
		msgs[i] = p.msg
	}
	return msgs
}

// observeBatches records the duration of b and of every routed batch joined to it.
func (w *Worker) observeBatches(b *routedBatch) {
	now := time.Now()
	w.metrics.batch.Observe(now.Sub(b.start).Seconds())
	for _, t := range b.joined {
		w.metrics.batch.Observe(now.Sub(t).Seconds())
	}
}

// routedMsg is one message after routing.
type routedMsg struct {
	p   pending
	rec *pipeline.Record
	ok  bool
}

// routeAll routes msgs into out (same order) on up to GOMAXPROCS-1 goroutines (at least one):
// the store goroutine, which is the pipeline's serial stage, keeps a processor for itself.
// Routing on every processor made the store wait for one after its cgo calls and slowed the
// whole drain down.
func (w *Worker) routeAll(ctx context.Context, rt *route.Router, acct string, msgs []jetstream.Msg, out []routedMsg) {
	one := func(i int) {
		m := msgs[i]
		var delivered uint64 = 1
		if md, err := m.Metadata(); err == nil {
			delivered = md.NumDelivered
		}
		if delivered > 1 {
			w.metrics.redelivered.Inc()
		}
		out[i].p, out[i].rec, out[i].ok = w.route(ctx, rt, acct, m, delivered)
	}
	workers := min(max(runtime.GOMAXPROCS(0)-1, 1), len(msgs))
	if workers <= 1 {
		for i := range msgs {
			one(i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < len(msgs); i = int(next.Add(1) - 1) {
				one(i)
			}
		})
	}
	wg.Wait()
}

// route decodes and routes one message of account acct's consumer with rt. It settles messages
// that will not reach the store (dead letters, retries) and reports ok=false for them.
func (w *Worker) route(ctx context.Context, rt *route.Router, acct string, m jetstream.Msg, delivered uint64) (pending, *pipeline.Record, bool) {
	ev, err := queue.EventFromMsg(m)
	if err != nil {
		// Not an envelope at all: something other than the ingest published it.
		w.deadLetter(m, &pipeline.Event{Account: acct}, ReasonUndecodable, err)
		return pending{}, nil, false
	}
	if named := m.Headers().Get(queue.HeaderAccount); named == "" {
		ev.Account = acct // a message of before accounts, or not from the ingest: its subject's
	} else if ev.Account != acct {
		// The ingest puts both on every message alike: a message that disagrees was published by
		// something else, and could file a lead under another account.
		w.deadLetter(m, ev, ReasonPermanent, fmt.Errorf("message on %s (account %s's subjects) names account %q in %s; the ingest publishes each event on its own account's subjects, so it is refused rather than stored under either",
			m.Subject(), acct, named, queue.HeaderAccount))
		return pending{}, nil, false
	}
	if delivered > uint64(w.opts.MaxDeliver) {
		// Delivered again and again without being settled: a worker died on it each time.
		w.deadLetter(m, ev, ReasonMaxDeliver, fmt.Errorf("delivered %d times without being settled (MaxDeliver %d); workers may have crashed on it", delivered, w.opts.MaxDeliver))
		return pending{}, nil, false
	}
	t0 := time.Now()
	rec, err := rt.Dispatch(ctx, ev)
	w.metrics.handle.Observe(time.Since(t0).Seconds())
	switch {
	case err != nil && pipeline.IsInvalid(err):
		w.deadLetter(m, ev, ReasonInvalid, err)
		return pending{}, nil, false
	case err != nil && pipeline.IsPermanent(err):
		w.deadLetter(m, ev, ReasonPermanent, err)
		return pending{}, nil, false
	case err != nil:
		w.retry(m, ev, err)
		return pending{}, nil, false
	case rec == nil:
		w.deadLetter(m, ev, ReasonPermanent, fmt.Errorf("handler for %q returned no record and no error", ev.Type))
		return pending{}, nil, false
	}
	// Text every store can hold (U+0000 becomes U+FFFD, noted in rec.Invalid), once for all
	// stores, here where routing spreads the work over the cores.
	store.Storable(rec)
	rec.Account = ev.Account
	p := pending{msg: m, ev: ev, outcome: OutcomeStored, delivered: delivered}
	if !w.router.Known(ev.Type) {
		p.outcome = OutcomeUnknownType
	}
	return p, rec, true
}

// retry asks JetStream to redeliver m later, the delay growing with each delivery; after
// MaxDeliver deliveries the event is dead-lettered instead.
func (w *Worker) retry(m jetstream.Msg, ev *pipeline.Event, cause error) {
	delay := time.Second
	if md, err := m.Metadata(); err == nil {
		w.ffMu.Lock()
		if _, seen := w.firstFailure[md.Sequence.Stream]; !seen {
			if len(w.firstFailure) > 100_000 { // bounded: the header is a courtesy, memory is not
				clear(w.firstFailure)
			}
			w.firstFailure[md.Sequence.Stream] = time.Now()
		}
		w.ffMu.Unlock()
		if md.NumDelivered >= uint64(w.opts.MaxDeliver) {
			w.deadLetter(m, ev, ReasonMaxDeliver, fmt.Errorf("failed %d deliveries (MaxDeliver); last error: %w", md.NumDelivered, cause))
			return
		}
		delay = Backoff(md.NumDelivered)
	}
	w.count(ev, OutcomeFailed)
	w.log.Warn("event failed, will retry", "event_id", ev.ID, "event_type", ev.Type, "retry_in", delay.String(), "err", cause)
	if err := m.NakWithDelay(delay); err != nil {
		w.log.Warn("nak", "event_id", ev.ID, "err", err)
	}
}

// deadLetter moves m to the dead-letter stream. If that fails, m is retried later instead:
// nothing is dropped.
func (w *Worker) deadLetter(m jetstream.Msg, ev *pipeline.Event, reason string, cause error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	dl := queue.DeadLetter{Reason: reason, Err: cause}
	if md, err := m.Metadata(); err == nil {
		w.ffMu.Lock()
		dl.FirstFailure = w.firstFailure[md.Sequence.Stream]
		w.ffMu.Unlock()
	}
	id, typ, acct := "", "other", ""
	if ev != nil {
		id, acct = ev.ID, ev.Account
		if ev.Type != "" {
			typ = ev.Type
		}
	}
	if err := w.dlq.Move(ctx, m, dl); err != nil {
		w.log.Error("dead-lettering failed, will retry", "event_id", id, "reason", reason, "err", err)
		_ = m.NakWithDelay(DefaultLagInterval)
		return
	}
	w.forget(m)
	w.metrics.deadLetters.WithLabelValues(w.accountLabel(acct), reason).Inc()
	outcome := OutcomeDeadLettered
	if reason == ReasonInvalid {
		outcome = OutcomeInvalid
	}
	if ev != nil && ev.Type != "" {
		w.count(ev, outcome)
	} else {
		w.metrics.events.WithLabelValues(w.accountLabel(acct), "other", outcome).Inc()
	}
	w.log.Warn("event dead-lettered", "account", acct, "event_id", id, "event_type", typ, "reason", reason, "err", cause)
}

// forget drops m's first-failure record once it is settled.
func (w *Worker) forget(m jetstream.Msg) {
	w.ffMu.Lock()
	defer w.ffMu.Unlock()
	if len(w.firstFailure) == 0 {
		return
	}
	if md, err := m.Metadata(); err == nil {
		delete(w.firstFailure, md.Sequence.Stream)
	}
}

// Backoff is the redelivery delay after the given number of deliveries: 1s, 2s, 4s … capped at
// one minute.
func Backoff(delivered uint64) time.Duration {
	d := time.Second
	for i := uint64(1); i < delivered && d < time.Minute; i++ {
		d *= 2
	}
	return min(d, time.Minute)
}

func (w *Worker) count(ev *pipeline.Event, outcome string) {
	w.metrics.events.WithLabelValues(w.accountLabel(ev.Account), w.typeLabel(ev), outcome).Inc()
}

// typeLabel is ev's event_type label: its type when a handler knows it, else "other", so a
// sender cannot create label values (the types are the sender's choice).
func (w *Worker) typeLabel(ev *pipeline.Event) string {
	if w.router.Known(ev.Type) {
		return ev.Type
	}
	return "other"
}
