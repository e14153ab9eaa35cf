package workerapp

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/saleassist-pipeline/pipeline/internal/ratelog"
	"github.com/saleassist-pipeline/pipeline/pkg/account"
	"github.com/saleassist-pipeline/pipeline/pkg/handlers"
	"github.com/saleassist-pipeline/pipeline/pkg/mapping"
	"github.com/saleassist-pipeline/pipeline/pkg/queue"
	"github.com/saleassist-pipeline/pipeline/pkg/route"
	"github.com/saleassist-pipeline/pipeline/pkg/schema"
	"github.com/saleassist-pipeline/pipeline/pkg/store"
	"github.com/saleassist-pipeline/pipeline/pkg/store/postgres"
	"github.com/saleassist-pipeline/pipeline/pkg/store/sqlite"
	"github.com/saleassist-pipeline/pipeline/pkg/store/storeurl"
	"github.com/saleassist-pipeline/pipeline/pkg/worker"
)

// Options is what Start needs: the settings, the store (DATABASE_URL), the streams, the accounts.
type Options struct {
	Settings
	DB    string
	Queue queue.Config
	// Accounts are the configured accounts (one consumer each, taken in turn; an account's own
	// mapping). Nil means the default account alone.
	Accounts *account.Registry
	// Follow, when set, keeps Accounts current from the accounts bucket (account.Follow); it is
	// called once, on the first start that reaches JetStream. Nil: someone else keeps Accounts
	// current (the standalone ingest, which follows the bucket for itself).
	Follow func(js jetstream.JetStream) error
}

// Running is a worker consuming in the background, as a part of a program: Stop drains it.
type Running struct {
	store  store.Store
	worker *worker.Worker
	cancel context.CancelFunc
	done   chan error
	// reported closes once the state reporter has removed this worker's entry (or never ran).
	reported chan struct{}
}

// storeReady is the worker's part of /readyz: an error naming the reason and since when while
// the worker is paused on an unavailable store.
func (r *Running) storeReady() error {
	if r == nil {
		return nil
	}
	p, paused := r.worker.Paused()
	if !paused {
		return nil
	}
	return fmt.Errorf("paused since %s (%s ago): the store is unavailable (%s), so the worker fetches nothing and probes it until it answers; last error: %s",
		p.Since.UTC().Format(time.RFC3339), time.Since(p.Since).Round(time.Second), p.Reason, p.Err)
}

// prepared is what a worker needs before it can connect: its checked settings, mapping and
// schemas. Errors here are the configuration's, and end the start.
type prepared struct {
	// followed is set once c.Follow has succeeded.
	followed  bool
	c         Options
	sync      sqlite.Synchronous
	mapper    *mapping.Mapper
	validator *schema.Validator
}

// prepare checks c and builds the mapping and the schema validator.
func prepare(c Options) (*prepared, error) {
	if c.MaxDeliver < 1 {
		return nil, fmt.Errorf("WORKER_MAX_DELIVER=%d: want at least 1", c.MaxDeliver)
	}
	if c.AckWait < time.Second {
		return nil, fmt.Errorf("WORKER_ACK_WAIT=%s is too short: use at least 1s (the default is %s)", c.AckWait, queue.DefaultAckWait)
	}
	c.Queue.AckWait = c.AckWait
	sync, err := sqlite.ParseSynchronous(c.SQLiteSynchronous)
	if err != nil {
		return nil, fmt.Errorf("SQLITE_SYNCHRONOUS=%q: want NORMAL or FULL (FULL fsyncs every batch commit, NORMAL only at checkpoints)", c.SQLiteSynchronous)
	}
	mapper, err := c.mapper()
	if err != nil {
		return nil, err
	}
	validator, err := schema.New()
	if err != nil {
		return nil, err
	}
	return &prepared{c: c, sync: sync, mapper: mapper, validator: validator}, nil
}

// Start opens the store and the shared consumer and starts consuming on nc. A worker that stops
// on its own reports to fail. The standalone ingest runs its in-process worker with it.
func Start(ctx context.Context, nc *nats.Conn, c Options, reg prometheus.Registerer, log *slog.Logger, fail func(error)) (*Running, error) {
	p, err := prepare(c)
	if err != nil {
		return nil, err
	}
	return p.start(ctx, nc, reg, log, fail)
}

// start connects a prepared worker: the consumer, the dead-letter stream, the store; then it
// consumes. Its errors are JetStream's or the store's, which may pass (see Program.Run).
func (p *prepared) start(ctx context.Context, nc *nats.Conn, reg prometheus.Registerer, log *slog.Logger, fail func(error)) (*Running, error) {
	c, sync, mapper, validator := p.c, p.sync, p.mapper, p.validator
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("jetstream context: %w", err)
	}
	if c.Accounts == nil {
		c.Accounts = account.NewRegistry(account.Account{ID: account.Default})
	}
	if c.Follow != nil && !p.followed {
		// Every account's consumer from the first fetch on: the bucket is read before them.
		if err := c.Follow(js); err != nil {
			return nil, passing{fmt.Errorf("accounts bucket: %w", err)}
		}
		p.followed = true
	}
	cons, err := queue.NewConsumer(ctx, js, c.Queue, log, c.Accounts.IDs()...)
	if err != nil {
		return nil, passing{err}
	}
	dlq, err := queue.NewDeadLetterer(ctx, js, c.Queue)
	if err != nil {
		return nil, passing{err}
	}
	st, err := storeurl.Open(ctx, c.DB, storeurl.Options{SQLite: sqlite.Options{Synchronous: sync}})
	if _, unavailable := store.UnavailableReason(err); unavailable || postgres.IsTransient(err) {
		return nil, passing{err}
	}
	if err != nil {
		return nil, err
	}
	router := handlers.NewRouter(mapper, route.Recover, route.Validate(validator))
	w := worker.New(cons, dlq, router, st, worker.NewMetrics(reg), log, worker.Options{
		BatchSize:   int(c.BatchSize),
		BatchLinger: lingerOption(c.BatchLinger),
		MaxDeliver:  int(c.MaxDeliver),
		// A batch must commit well before JetStream would redeliver its messages.
		BatchTimeout:  c.AckWait * 2 / 3,
		Accounts:      c.Accounts,
		AccountRouter: p.accountRouter,
		PhoneRegion:   c.DefaultRegion,
		SkipFields:    c.SkipFields,
	})
	runCtx, cancel := context.WithCancel(context.Background())
	r := &Running{store: st, worker: w, cancel: cancel, done: make(chan error, 1), reported: make(chan struct{})}
	go func() {
		err := w.Run(runCtx)
		if err != nil && runCtx.Err() == nil {
			fail(fmt.Errorf("worker: %w", err))
		}
		r.done <- err
	}()
	// Its state, for `ingestctl status` and the console: they reach NATS, not the worker.
	if kv, err := queue.WorkersKV(ctx, js, c.Queue); err != nil {
		log.Warn("worker state not reported: ingestctl status and the console will not list this worker", "err", err)
		close(r.reported)
	} else {
		go r.report(runCtx, kv, log)
	}
	return r, nil
}

// workerID names this worker in the workers bucket: host, pid and a random part (two workers in
// one process, as in tests, stay apart).
func workerID() string {
	host, _ := os.Hostname()
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s-%d-%x", strings.ReplaceAll(host, ".", "_"), os.Getpid(), b)
}

// report writes the worker's state into kv every queue.ReportEvery, and at once when it pauses
// or resumes, until ctx ends; then it removes the entry.
func (r *Running) report(ctx context.Context, kv jetstream.KeyValue, log *slog.Logger) {
	defer close(r.reported)
	id, started := workerID(), time.Now().UTC()
	failing := ratelog.Failing{Log: log, Every: time.Minute}
	put := func() (paused bool) {
		s := queue.WorkerState{ID: id, Started: started, Reported: time.Now().UTC()}
		if p, ok := r.worker.Paused(); ok {
			s.Paused, s.PausedSince, s.Reason, s.Error = true, p.Since.UTC(), p.Reason, p.Err
		}
		b, _ := json.Marshal(s)
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		if _, err := kv.Put(pctx, id, b); err != nil && ctx.Err() == nil {
			failing.Fail("worker state not reported", err)
		} else if err == nil {
			failing.OK("worker state reported again")
		}
		return s.Paused
	}
	last := put()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	next := time.Now().Add(queue.ReportEvery)
	for {
		select {
		case <-ctx.Done():
			dctx, cancel := context.WithTimeout(context.Background(), time.Second)
			_ = kv.Delete(dctx, id)
			cancel()
			return
		case now := <-tick.C:
			// A change of state is reported within a quarter second, the rest every ReportEvery.
			if _, paused := r.worker.Paused(); paused != last || now.After(next) {
				last, next = put(), now.Add(queue.ReportEvery)
			}
		}
	}
}

// accountRouter builds the router of an account with a mapping of its own: the process's
// handlers, middleware, region and clock skew, with the account's mapping.
func (p *prepared) accountRouter(mp *mapping.Mapping) (*route.Router, error) {
	m, err := mapping.NewMapper(p.c.DefaultRegion, mapping.WithMapping(mp), mapping.WithMaxClockSkew(p.c.MaxClockSkew))
	if err != nil {
		return nil, err
	}
	return handlers.NewRouter(m, route.Recover, route.Validate(p.validator)), nil
}

// passing is an error that may pass on its own: JetStream not reachable or not ready yet (a
// cluster forming, NATS down), or the store unavailable (PostgreSQL down or starting).
type passing struct{ error }

func (p passing) Unwrap() error { return p.error }

// lingerOption maps WORKER_BATCH_LINGER to worker.Options.BatchLinger, where 0 means the default:
// an operator's 0 means no wait.
func lingerOption(d time.Duration) time.Duration {
	if d <= 0 {
		return -1
	}
	return d
}

// Stop drains the worker (the batch in flight commits and is acknowledged) and closes the store.
func (r *Running) Stop() error {
	if r == nil {
		return nil
	}
	r.cancel()
	err := <-r.done
	<-r.reported
	return errors.Join(err, r.store.Close())
}
