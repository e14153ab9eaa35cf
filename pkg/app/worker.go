package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/gorilla/mux"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus/promhttp"

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
	http   *httpServer
	pprof  *httpServer
	failed chan error
}

// NewWorker returns a Worker reading the process's environment.
func NewWorker() *Worker {
	return &Worker{Env: os.LookupEnv, Stderr: os.Stderr, failed: make(chan error, 4)}
}

// ParseFlags reads flags, with environment variables as their defaults.
func (m *Worker) ParseFlags(args []string) error {
	c := &m.Config
	fs := newFlagSet("worker", m.Env)
	fs.str(&c.NatsURL, "nats-url", "NATS_URL", "nats://127.0.0.1:4222", "NATS server URL(s), comma-separated")
	fs.str(&c.DB, "db", "DATABASE_URL", "./data/leads.db", "the leads database: a SQLite file path, or postgres://user:password@host:5432/dbname (PostgreSQL; pool size: ?pool_max_conns=N, default 4)")
	fs.str(&c.Addr, "addr", "WORKER_ADDR", ":9091", "HTTP address for /metrics, /healthz and /readyz")
	fs.strEmptyOK(&c.PprofAddr, "pprof-addr", "PPROF_ADDR", "", "serve Go's /debug/pprof/ here (e.g. 127.0.0.1:6061); empty = off")
	fs.integer(&c.StreamReplicas, "stream-replicas", "STREAM_REPLICAS", 1, "copies of the streams this worker creates, in a JetStream cluster")
	c.WorkerSettings.register(fs, "")
	return fs.parse(args)
}

// Failed delivers the error of a component that stopped on its own.
func (m *Worker) Failed() <-chan error { return m.failed }

// Addr is the HTTP address listened on, once Run has returned.
func (m *Worker) Addr() string { return m.http.Addr() }

// Run connects, starts consuming and serving metrics, and returns.
func (m *Worker) Run(ctx context.Context) error {
	c := m.Config
	m.log = newLogger(m.Stderr, "worker")
	nc, err := nats.Connect(c.NatsURL,
		nats.Name("saleassist-worker"),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(500*time.Millisecond),
		nats.DisconnectErrHandler(logDisconnect(m.log)),
		nats.ReconnectHandler(func(nc *nats.Conn) { m.log.Info("reconnected to NATS", "url", queue.RedactURL(nc.ConnectedUrl())) }),
	)
	if err != nil {
		return fmt.Errorf("connect to NATS at %s: %w (is the ingest or NATS running there?)", queue.RedactURL(c.NatsURL), err)
	}
	m.nc = nc
	reg := newRegistry()
	qc := queue.DefaultConfig()
	qc.Replicas = int(c.StreamReplicas)
	wc := workerConfig{WorkerSettings: c.WorkerSettings, DB: c.DB, Queue: qc}
	m.worker, err = startWorker(ctx, nc, wc, reg, m.log, m.failed)
	if err != nil {
		return err
	}
	r := mux.NewRouter()
	r.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	r.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, `{"status":"ok"}`+"\n") })
	r.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if st := nc.Status(); st != nats.CONNECTED {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = fmt.Fprintf(w, `{"error":"unavailable","message":"NATS connection is %s"}`+"\n", st)
			return
		}
		_, _ = io.WriteString(w, `{"status":"ready"}`+"\n")
	})
	m.http, err = listenHTTP(c.Addr, r, m.failed)
	if err != nil {
		return err
	}
	if m.pprof, err = startPprof(c.PprofAddr, m.log, m.failed); err != nil {
		return err
	}
	m.log.Info("started", "addr", m.Addr(), "nats", queue.RedactURL(nc.ConnectedUrl()), "db", queue.RedactURL(c.DB))
	return nil
}

// Close drains the worker (the batch in flight commits and is acknowledged), then stops serving.
func (m *Worker) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
	defer cancel()
	err := m.worker.stop()
	closeConn(m.nc)
	err = errors.Join(err, m.http.shutdown(ctx), m.pprof.shutdown(ctx))
	if m.log != nil {
		m.log.Info("stopped")
	}
	return err
}
