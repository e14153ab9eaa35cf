package app

import (
	"context"
	"io"
	"log/slog"
	"os"
	"sync/atomic"

	"github.com/gorilla/mux"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/saleassist-pipeline/pipeline/internal/envflag"
	"github.com/saleassist-pipeline/pipeline/internal/natsconn"
	"github.com/saleassist-pipeline/pipeline/pkg/ingest"
	"github.com/saleassist-pipeline/pipeline/pkg/queue"
)

// WorkerConfig is cmd/worker's configuration; see the README's contract for each setting.
type WorkerConfig struct {
	NatsURL string
	DB      string
	Addr    string
	// StreamReplicas is used for the streams the worker creates when they do not exist yet (the
	// dead-letter stream; the events stream if no ingest ran first).
	StreamReplicas int64
	PprofAddr      string
	WorkerSettings
}

// Worker is cmd/worker: one more consumer on the shared durable consumer, storing leads, with
// /metrics, /healthz and /readyz on its own address.
type Worker struct {
	Config WorkerConfig
	// Env and Stderr default to the process's; tests replace them.
	Env    LookupEnv
	Stderr io.Writer

	log    *slog.Logger
	nc     *nats.Conn
	worker *runningWorker
	// running is worker for /readyz, which may ask before it is set.
	running atomic.Pointer[runningWorker]
	http    *httpServer
	pprof   *httpServer
	group   *group
}

// NewWorker returns a Worker reading the process's environment.
func NewWorker() *Worker {
	return &Worker{Env: os.LookupEnv, Stderr: os.Stderr, group: newGroup()}
}

// ParseFlags reads flags, with environment variables as their defaults.
func (m *Worker) ParseFlags(args []string) error {
	c := &m.Config
	fs := envflag.New("worker", m.Env)
	fs.StringEnv(&c.NatsURL, "nats-url", "NATS_URL", "nats://127.0.0.1:4222", "NATS server URL(s), comma-separated")
	fs.StringEnv(&c.DB, "db", "DATABASE_URL", "./data/leads.db", "the leads database: a SQLite file path, or postgres://user:password@host:5432/dbname (PostgreSQL; pool size: ?pool_max_conns=N, default 4)")
	fs.StringEnv(&c.Addr, "addr", "WORKER_ADDR", ":9091", "HTTP address for /metrics, /healthz and /readyz")
	fs.StringEnvEmptyOK(&c.PprofAddr, "pprof-addr", "PPROF_ADDR", "", "serve Go's /debug/pprof/ here (e.g. 127.0.0.1:6061); empty = off")
	fs.Int64Env(&c.StreamReplicas, "stream-replicas", "STREAM_REPLICAS", 1, "copies of the streams this worker creates, in a JetStream cluster")
	c.WorkerSettings.register(fs, "")
	return fs.Parse(args)
}

// Failed delivers the error of a part that stopped on its own.
func (m *Worker) Failed() <-chan error { return m.group.Failed() }

// Addr is the HTTP address listened on, once Run has returned.
func (m *Worker) Addr() string { return m.http.Addr() }

// Run starts the worker's parts and returns once they run. They stop in reverse order (Close):
//
//  1. the consumer drains: the batch in flight commits and is acknowledged, the store closes;
//     /metrics and /readyz still answer meanwhile (the HTTP server was added before it);
//  2. pprof, then the HTTP server (metrics, health), answer their requests in flight;
//  3. the NATS connection flushes the last acks, then closes.
func (m *Worker) Run(ctx context.Context) error {
	c := m.Config
	m.log = newLogger(m.Stderr, "worker")
	m.group.log = m.log
	reg := newRegistry()
	g := m.group
	g.add("NATS connection", func(context.Context) error {
		var err error
		m.nc, err = natsconn.Client{Name: "saleassist-worker", Log: m.log, Hint: "is the ingest or NATS running there?"}.Connect(c.NatsURL)
		return err
	}, func(context.Context) error { natsconn.Close(m.nc); return nil })
	g.add("HTTP server (metrics, health)", func(context.Context) error {
		r := mux.NewRouter()
		r.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
		r.HandleFunc("/healthz", ingest.Health)
		r.Handle("/readyz", ingest.Ready(func(context.Context) error {
			if err := natsconn.Connected(m.nc); err != nil {
				return err
			}
			return m.running.Load().storeReady() // 503 while paused on an unavailable store
		}))
		var err error
		m.http, err = listenHTTP(c.Addr, r, g.fail)
		return err
	}, func(ctx context.Context) error { return m.http.shutdown(ctx) })
	addPprof(g, c.PprofAddr, m.log, &m.pprof)
	g.add("worker", func(ctx context.Context) error {
		qc := queue.DefaultConfig()
		qc.Replicas = int(c.StreamReplicas)
		var err error
		m.worker, err = startWorker(ctx, m.nc, workerConfig{WorkerSettings: c.WorkerSettings, DB: c.DB, Queue: qc}, reg, m.log, g.fail)
		m.running.Store(m.worker)
		return err
	}, func(context.Context) error { return m.worker.stop() })
	if err := g.run(ctx); err != nil {
		return err
	}
	m.log.Info("started", "addr", m.Addr(), "nats", queue.RedactURL(m.nc.ConnectedUrl()), "db", queue.RedactURL(c.DB))
	return nil
}

// Close stops the parts in reverse order (see Run): the consumer drained first.
func (m *Worker) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
	defer cancel()
	err := m.group.stop(ctx)
	if m.log != nil {
		m.log.Info("stopped")
	}
	return err
}
