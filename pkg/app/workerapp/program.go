// Package workerapp is cmd/worker: one more consumer on the shared durable consumer, storing
// leads (Program); and the consuming worker itself (Start, Running), which a standalone ingest
// runs in-process too, with the same settings (Settings).
package workerapp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync/atomic"
	"time"

	"github.com/gorilla/mux"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/saleassist-pipeline/pipeline/internal/health"
	"github.com/saleassist-pipeline/pipeline/internal/natsconn"
	"github.com/saleassist-pipeline/pipeline/internal/ratelog"
	"github.com/saleassist-pipeline/pipeline/pkg/account"
	"github.com/saleassist-pipeline/pipeline/pkg/app"
	"github.com/saleassist-pipeline/pipeline/pkg/queue"
)

// Program is cmd/worker: one more consumer on the shared durable consumer, storing leads, with
// /metrics, /healthz and /readyz on its own address. Its Close stops it (see Run).
type Program struct {
	app.Process
	Config Config

	log *slog.Logger
	nc  *nats.Conn
	// running is the consuming worker, once it runs (at start, or later once NATS and the store
	// answer); /readyz may ask before it is set.
	running atomic.Pointer[Running]
	// waiting is the error that keeps the worker from consuming yet (NATS or its cluster not up,
	// the store unavailable); waitStop ends the wait, waitDone closes when it has ended.
	waiting  atomic.Pointer[error]
	waitStop context.CancelFunc
	waitDone chan struct{}
	http     *app.HTTPServer
	// accounts are the configured accounts, which the worker consumes in turn, kept current from
	// the accounts bucket until stopFollow.
	accounts   *account.Registry
	stopFollow context.CancelFunc
}

// New returns a Program reading the process's environment.
func New() *Program {
	return &Program{Process: app.Process{Env: os.LookupEnv, Stdout: os.Stdout, Stderr: os.Stderr}}
}

// Addr is the HTTP address listened on, once Run has returned.
func (m *Program) Addr() string { return m.http.Addr() }

// Run starts the worker's parts and returns once they run. They stop in reverse order (Close):
//
//  1. the consumer drains: the batch in flight commits and is acknowledged, the store closes;
//     /metrics and /readyz still answer meanwhile (the HTTP server was added before it);
//  2. pprof, then the HTTP server (metrics, health), answer their requests in flight;
//  3. the NATS connection flushes the last acks, then closes.
func (m *Program) Run(ctx context.Context) error {
	c := m.Config
	m.log = m.NewLogger("worker")
	reg := app.NewRegistry()
	g := &m.Group
	g.Add("NATS connection", func(context.Context) error {
		var err error
		// A NATS that is down, or a cluster still forming, is waited for (RetryConnect): the
		// worker serves /healthz meanwhile and consumes once it can.
		m.nc, err = natsconn.Client{Name: "saleassist-worker", Log: m.log, RetryConnect: true, Hint: "is the ingest or NATS running there?"}.Connect(c.NatsURL)
		return err
	}, func(context.Context) error { natsconn.Close(m.nc); return nil })
	g.Add("HTTP server (metrics, health)", func(context.Context) error {
		r := mux.NewRouter()
		r.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
		r.HandleFunc("/healthz", health.Health)
		r.Handle("/readyz", health.Ready(func(context.Context) error {
			if err := natsconn.Connected(m.nc); err != nil {
				return err
			}
			if w := m.waiting.Load(); w != nil {
				return fmt.Errorf("not consuming yet, retrying with backoff: %w", *w)
			}
			return m.running.Load().storeReady() // 503 while paused on an unavailable store
		}))
		var err error
		m.http, err = app.ListenHTTP(c.Addr, r, g.Fail)
		return err
	}, func(ctx context.Context) error { return m.http.Shutdown(ctx) })
	app.AddPprof(g, c.PprofAddr, m.log)
	g.Add("worker", func(ctx context.Context) error {
		qc := queue.DefaultConfig()
		qc.Replicas = int(c.StreamReplicas)
		// The default account as this worker knows it: its mapping is the process's (MAPPING_FILE
		// or built-in, which an empty Mapping means), unless the bucket's "default" entry has one.
		env := account.EnvDefault(nil, "", "")
		m.accounts = account.NewRegistry(env)
		followCtx, stopFollow := context.WithCancel(context.Background())
		m.stopFollow = stopFollow
		follow := func(js jetstream.JetStream) error {
			return account.Follow(followCtx, js, m.accounts, env, account.WithLogger(m.log), account.WithReplicas(int(c.StreamReplicas)))
		}
		p, err := prepare(Options{Settings: c.Settings, DB: c.DB, Queue: qc, Accounts: m.accounts, Follow: follow})
		if err != nil {
			return err // the configuration's: no wait can fix it
		}
		r, err := p.start(ctx, m.nc, reg, m.log, g.Fail)
		if err == nil {
			m.running.Store(r)
			return nil
		}
		if !m.mayPass(err) {
			if m.nc.IsClosed() {
				return m.closedError()
			}
			return err
		}
		m.waitToStart(p, reg, g.Fail, err)
		return nil
	}, func(context.Context) error {
		if m.waitStop != nil {
			m.waitStop()
			<-m.waitDone
		}
		err := m.running.Load().Stop()
		if m.stopFollow != nil {
			m.stopFollow()
		}
		return err
	})
	if err := g.Start(ctx); err != nil {
		return err
	}
	m.log.Info("started", "addr", m.Addr(), "nats", queue.RedactURL(m.nc.ConnectedUrl()), "db", queue.RedactURL(c.DB))
	return nil
}

// mayPass says whether err, from starting to consume, may pass on its own: NATS not connected
// (down, or a cluster forming), JetStream not answering yet, or the store unavailable.
func (m *Program) mayPass(err error) bool {
	if m.nc.IsClosed() {
		return false // nats.go gave up: the server refused the credentials
	}
	var p passing
	return errors.As(err, &p) || natsconn.Connected(m.nc) != nil
}

// closedError is the error of a NATS connection nats.go closed for good: the server refused its
// credentials twice. It names the server, with the password masked.
func (m *Program) closedError() error {
	cause := m.nc.LastError()
	if cause == nil {
		cause = nats.ErrConnectionClosed
	}
	client := natsconn.Client{Hint: "NATS closed the connection: check the user and password, or token, in NATS_URL"}
	return client.ConnectError(m.Config.NatsURL, cause)
}

// waitToStart keeps trying to start consuming in the background, with backoff (250 ms, doubling
// to 5 s), until it does, the program stops, or an error that cannot pass (reported to fail).
// It logs one line when the wait begins, a summary a minute at most, and one when it ends.
func (m *Program) waitToStart(p *prepared, reg prometheus.Registerer, fail func(error), first error) {
	ctx, cancel := context.WithCancel(context.Background())
	m.waitStop, m.waitDone = cancel, make(chan struct{})
	m.waiting.Store(&first)
	log := ratelog.Failing{Log: m.log, Every: time.Minute}
	log.Fail("cannot consume yet (NATS or the store not answering); retrying with backoff, /readyz answers 503 meanwhile", first)
	go func() {
		defer close(m.waitDone)
		delay := 250 * time.Millisecond
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(delay):
			}
			delay = min(2*delay, 5*time.Second)
			r, err := p.start(ctx, m.nc, reg, m.log, fail)
			switch {
			case err == nil:
				m.running.Store(r)
				m.waiting.Store(nil)
				log.OK("consuming: NATS and the store answer")
				return
			case ctx.Err() != nil:
				return
			case m.nc.IsClosed():
				fail(m.closedError())
				return
			case !m.mayPass(err):
				fail(fmt.Errorf("worker: %w", err))
				return
			}
			m.waiting.Store(&err)
			log.Fail("cannot consume yet (NATS or the store not answering); retrying with backoff, /readyz answers 503 meanwhile", err)
		}
	}()
}
