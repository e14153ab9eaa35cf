package worker

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/saleassist-pipeline/pipeline/pkg/event"
	"github.com/saleassist-pipeline/pipeline/pkg/queue"
	"github.com/saleassist-pipeline/pipeline/pkg/route"
	"github.com/saleassist-pipeline/pipeline/pkg/store"
)

// Defaults for Options.
const (
	DefaultBatchSize    = 256
	DefaultLagInterval  = 5 * time.Second
	DefaultBatchTimeout = 20 * time.Second
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
}

// Worker consumes events, routes them and stores the results.
type Worker struct {
	cons    *queue.Consumer
	router  *route.Router
	store   store.Store
	metrics *Metrics
	log     *slog.Logger
	opts    Options
}

// New returns a Worker. It does nothing until Run.
func New(cons *queue.Consumer, router *route.Router, st store.Store, m *Metrics, log *slog.Logger, o Options) *Worker {
	if o.BatchSize <= 0 {
		o.BatchSize = DefaultBatchSize
	}
	if o.LagInterval <= 0 {
		o.LagInterval = DefaultLagInterval
	}
	if o.BatchTimeout <= 0 {
		o.BatchTimeout = DefaultBatchTimeout
	}
	for _, t := range []string{event.WidgetNewConversation} {
		for _, o := range []string{OutcomeStored, OutcomeDuplicate, OutcomeInvalid, OutcomeFailed} {
			m.events.WithLabelValues(t, o)
		}
	}
	return &Worker{cons: cons, router: router, store: st, metrics: m, log: log, opts: o}
}

// Run consumes until ctx ends, then settles the messages it already holds and returns.
func (w *Worker) Run(ctx context.Context) error {
	lagCtx, stopLag := context.WithCancel(ctx)
	defer stopLag()
	go w.watchLag(lagCtx)
	return w.cons.Run(ctx, w.opts.BatchSize, w.handleBatch)
}

// pending is one message of a batch on its way to the store.
type pending struct {
	msg     jetstream.Msg
	ev      *event.Event
	outcome string // what to count when the store says Stored
}

// handleBatch routes every message, stores the records in one transaction, and settles each
// message on its own result: ack after the commit, or a delayed redelivery on a transient error.
func (w *Worker) handleBatch(msgs []jetstream.Msg) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), w.opts.BatchTimeout)
	defer cancel()
	w.metrics.batchSize.Observe(float64(len(msgs)))

	batch := make([]pending, 0, len(msgs))
	records := make([]store.Record, 0, len(msgs))
	for _, m := range msgs {
		if md, err := m.Metadata(); err == nil && md.NumDelivered > 1 {
			w.metrics.redelivered.Inc()
		}
		p, rec, ok := w.route(ctx, m)
		if !ok {
			continue
		}
		batch = append(batch, p)
		records = append(records, *rec)
	}
	if len(records) == 0 {
		return
	}
	results, err := w.store.Apply(ctx, records)
	if err != nil {
		w.log.Error("store batch", "events", len(records), "err", err)
		for _, p := range batch {
			w.retry(p.msg, p.ev, OutcomeFailed)
		}
		return
	}
	now := time.Now()
	for i, p := range batch {
		res := results[i]
		switch {
		case res.Err != nil:
			w.log.Error("store event", "event_id", p.ev.ID, "event_type", p.ev.Type, "err", res.Err)
			w.retry(p.msg, p.ev, OutcomeFailed)
			continue
		case res.Outcome == store.Duplicate:
			w.count(p.ev, OutcomeDuplicate)
		default:
			w.count(p.ev, p.outcome)
			w.metrics.age.Observe(now.Sub(p.ev.ReceivedAt).Seconds())
		}
		if err := p.msg.Ack(); err != nil {
			// The event is stored; a redelivery will be recognised as a duplicate.
			w.log.Warn("ack after commit", "event_id", p.ev.ID, "err", err)
		}
	}
	w.metrics.batch.Observe(time.Since(start).Seconds())
}

// route decodes and routes one message. It settles messages that will not reach the store and
// reports ok=false for them.
func (w *Worker) route(ctx context.Context, m jetstream.Msg) (pending, *store.Record, bool) {
	ev, err := queue.EventFromMsg(m)
	if err != nil {
		// Not an envelope at all: something other than the ingest published it. Retrying cannot
		// help; it stays visible in the log and the failed count.
		w.log.Error("undecodable message, terminated", "subject", m.Subject(), "err", err)
		w.metrics.events.WithLabelValues("other", OutcomeFailed).Inc()
		_ = m.TermWithReason("not a SaleAssist envelope")
		return pending{}, nil, false
	}
	t0 := time.Now()
	rec, err := w.router.Dispatch(ctx, ev)
	w.metrics.handle.Observe(time.Since(t0).Seconds())
	p := pending{msg: m, ev: ev, outcome: OutcomeStored}
	switch {
	case err != nil && route.IsPermanent(err):
		// Keep the event as received with the reason, rather than lose it or retry forever.
		rec = route.NewRecord(ev)
		rec.Invalid = err.Error()
	case err != nil:
		w.log.Warn("handler failed, will retry", "event_id", ev.ID, "event_type", ev.Type, "err", err)
		w.retry(m, ev, OutcomeFailed)
		return pending{}, nil, false
	case rec == nil:
		// A handler bug, like a panic: keep the event with the reason rather than crash the worker.
		rec = route.NewRecord(ev)
		rec.Invalid = fmt.Sprintf("handler for %q returned no record and no error for event %s", ev.Type, ev.ID)
	}
	switch {
	case rec.Invalid != "":
		p.outcome = OutcomeInvalid
		w.log.Info("invalid event stored with its error", "event_id", ev.ID, "event_type", ev.Type)
	case !w.router.Known(ev.Type):
		p.outcome = OutcomeUnknownType
	}
	return p, rec, true
}

// retry asks JetStream to redeliver m later, the delay growing with each delivery.
func (w *Worker) retry(m jetstream.Msg, ev *event.Event, outcome string) {
	w.count(ev, outcome)
	delay := time.Second
	if md, err := m.Metadata(); err == nil {
		delay = Backoff(md.NumDelivered)
	}
	if err := m.NakWithDelay(delay); err != nil {
		w.log.Warn("nak", "event_id", ev.ID, "err", err)
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

func (w *Worker) count(ev *event.Event, outcome string) {
	t := "other"
	if w.router.Known(ev.Type) {
		t = ev.Type
	}
	w.metrics.events.WithLabelValues(t, outcome).Inc()
}

// watchLag keeps the lag gauges current.
func (w *Worker) watchLag(ctx context.Context) {
	t := time.NewTicker(w.opts.LagInterval)
	defer t.Stop()
	for {
		w.readLag(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (w *Worker) readLag(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	info, err := w.cons.Info(ctx)
	if err != nil {
		if ctx.Err() == nil {
			w.log.Debug("read consumer lag", "err", err)
		}
		return
	}
	w.metrics.pending.Set(float64(info.NumPending))
	w.metrics.ackPending.Set(float64(info.NumAckPending))
	w.metrics.lag.Set(float64(info.NumPending) + float64(info.NumAckPending))
}
