package ingestapp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/saleassist-pipeline/pipeline/internal/loopback"
	"github.com/saleassist-pipeline/pipeline/internal/natsconn"
	"github.com/saleassist-pipeline/pipeline/internal/ratelog"
	"github.com/saleassist-pipeline/pipeline/pkg/account"
	"github.com/saleassist-pipeline/pipeline/pkg/app"
	"github.com/saleassist-pipeline/pipeline/pkg/app/consoleapp"
	"github.com/saleassist-pipeline/pipeline/pkg/app/workerapp"
	"github.com/saleassist-pipeline/pipeline/pkg/ingest"
	"github.com/saleassist-pipeline/pipeline/pkg/queue"
	"github.com/saleassist-pipeline/pipeline/pkg/queue/embedded"
)

// The ingest's parts, in the order Ingest.Run adds them; each start is here, each stop beside
// its add in Run.

// checkEmbeddedListen refuses an embedded NATS address beyond loopback unless allowed: the
// embedded server has no authentication, so whoever reaches it can read every event (lead data),
// publish events past the webhook secret, and delete dead letters and quarantined requests.
// Extra workers on the same host need only loopback. An address that is not host:port passes
// here: the embedded server's own parsing reports it.
func checkEmbeddedListen(addr string, allowRemote bool) error {
	if addr == "" || allowRemote {
		return nil
	}
	if local, err := loopback.Is(addr); err != nil || local {
		return nil
	}
	return fmt.Errorf("EMBEDDED_NATS_ADDR=%q listens beyond loopback, and the embedded NATS server has no authentication: "+
		"anyone who reaches it can read every event and publish past the webhook secret. Use 127.0.0.1:<port> "+
		"(workers on this host attach there), leave it empty, or, only behind a firewall, set EMBEDDED_NATS_ALLOW_REMOTE=true", addr)
}

// startEmbedded starts the embedded NATS server (standalone), its JetStream files in the data
// directory.
func (m *Program) startEmbedded(context.Context) error {
	c := m.Config
	if err := checkEmbeddedListen(c.EmbeddedNATSAddr, c.EmbeddedNATSRemote); err != nil {
		return err
	}
	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
		return fmt.Errorf("create data directory %s: %w", c.DataDir, err)
	}
	every, always, err := parseSync(c.SyncInterval)
	if err != nil {
		return err
	}
	m.embedded, err = embedded.Start(embedded.Options{
		DataDir: c.DataDir, Listen: c.EmbeddedNATSAddr, SyncInterval: every, SyncAlways: always,
		MaxPayload: embeddedMaxPayload(c.MaxBody),
		Logger:     m.log.With("component", "nats-server"),
	})
	return err
}

// embeddedMaxPayload sizes the embedded server's max_payload to the body limit: the server's
// default (1 MiB) when that is enough, else the limit plus room for headers.
func embeddedMaxPayload(maxBody int64) int32 {
	const serverDefault = 1 << 20
	need := maxBody + queue.HeaderRoom
	if need <= serverDefault {
		return 0
	}
	return int32(min(need, 1<<30))
}

// parseSync reads JETSTREAM_SYNC_INTERVAL: a positive duration, or "always" (fsync every write).
func parseSync(s string) (time.Duration, bool, error) {
	if s == "always" {
		return 0, true, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, false, fmt.Errorf("JETSTREAM_SYNC_INTERVAL=%q: want a positive duration such as 2m or 1s, or \"always\"", s)
	}
	return d, false, nil
}

// connect connects the publisher to the embedded server (standalone) or to NATS_URL. It is a
// publishing connection: it never buffers while disconnected (natsconn.Client.Publisher). An
// external NATS that is not up yet is waited for: the connection keeps trying in the background
// (only a malformed NATS_URL is an error here), and the webhooks get 503 meanwhile (ensureStream).
func (m *Program) connect(context.Context) error {
	var err error
	if m.Standalone() {
		m.nc, err = m.embedded.Connect(m.natsClient().Options()...)
	} else {
		m.nc, err = m.natsClient().Connect(m.Config.NatsURL)
	}
	return err
}

// natsClient describes the ingest's NATS connection.
func (m *Program) natsClient() natsconn.Client {
	return natsconn.Client{Name: "saleassist-ingest", Log: m.log, Publisher: true, RetryConnect: !m.Standalone(),
		Hint: "is it running? or leave NATS_URL empty to run standalone"}
}

// ensureStream makes the publisher and creates or updates the streams. Standalone it does so at
// once, and a failure ends the start. Against NATS_URL it retries in the background, with backoff,
// until NATS is reachable and the streams are made (a cluster still forming cannot place them
// yet); it waits for that up to streamFirstWait, and the webhook port answers 503 until then. Once
// they are made, the body limit is fitted to the server's max_payload and webhooks are accepted.
func (m *Program) ensureStream(ctx context.Context) error {
	var err error
	if m.pub, err = queue.NewPublisher(m.nc, m.qc, m.Config.PublishTimeout); err != nil {
		return err
	}
	ensure := func(ctx context.Context) error {
		if _, err := queue.EnsureStream(ctx, m.pub.JetStream(), m.qc); err != nil {
			return err
		}
		return m.followAccounts()
	}
	ready := func() {
		m.maxBody = m.fitBody()
		m.web.set(m.server(m.maxBody))
	}
	if m.Standalone() {
		if err := ensure(ctx); err != nil {
			return err
		}
		ready()
		return nil
	}
	m.stream = &streamWait{nc: m.nc, url: m.Config.NatsURL, client: m.natsClient(), ensure: ensure, ready: ready,
		failing: ratelog.Failing{Log: m.log}}
	m.web.set(ingest.NotReady(m.server(m.Config.MaxBody), m.stream.err, m.metrics, m.accounts))
	return m.stream.start(m.Fail)
}

// followAccounts loads the accounts bucket into m.accounts and keeps it current (account.Follow)
// until the ingest stops; once, from the events stream's set-up, so that webhooks are taken only
// once every account is known (before, they are answered 503 like any request that comes too
// early). The follower outlives the set-up's attempt: it has a context of its own, ended by
// Close.
func (m *Program) followAccounts() error {
	if m.stopFollow != nil {
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	err := account.Follow(ctx, m.pub.JetStream(), m.accounts, m.envDefault,
		account.WithReplicas(int(m.Config.StreamReplicas)), account.WithLogger(m.log.With("component", "accounts")))
	if err != nil {
		cancel()
		return fmt.Errorf("load the accounts: %w", err)
	}
	m.stopFollow = cancel
	return nil
}

// startWorker runs the standalone worker on its own in-process connection, so its acks and the
// ingest's publishes do not share one connection's buffers.
func (m *Program) startWorker(ctx context.Context, reg prometheus.Registerer) error {
	var err error
	log := m.log.With("component", "worker")
	if m.wnc, err = m.embedded.Connect(natsconn.Client{Name: "saleassist-worker (standalone)", Log: log}.Options()...); err != nil {
		return err
	}
	// The worker consumes every account the ingest serves, from the registry the ingest keeps current.
	wc := workerapp.Options{Settings: m.Config.Worker, DB: m.db(), Queue: m.qc, Accounts: m.accounts}
	if m.worker, err = workerapp.Start(ctx, m.wnc, wc, reg, log, m.Fail); err != nil {
		m.wnc.Close()
		return err
	}
	return nil
}

// startConsole serves the console in standalone mode, on the database the in-process worker
// writes (DATABASE_URL, else the data directory's leads.db) and the ingest's own NATS connection. A taken CONSOLE_ADDR is a warning, as a taken
// EMBEDDED_NATS_ADDR is: webhooks matter more than the console. Against an external NATS the
// ingest has no store: run cmd/console there.
func (m *Program) startConsole(ctx context.Context) error {
	c := m.Config
	var err error
	m.console, err = consoleapp.Start(ctx, m.nc, consoleapp.Options{Addr: c.ConsoleAddr, DataDir: c.DataDir, Token: c.ConsoleToken,
		DB: m.db(), Region: c.Worker.DefaultRegion, Zone: c.ConsoleZone, MaxBody: m.maxBody, Queue: m.qc, Accounts: m.accounts},
		m.log.With("component", "console"), m.Fail)
	if errors.Is(err, consoleapp.ErrAddrInUse) {
		m.log.Warn("console not started: its address is taken", "addr", c.ConsoleAddr, "fix", "set CONSOLE_ADDR to a free address, or empty to turn the console off")
		return nil
	}
	if errors.Is(err, consoleapp.ErrTokenFile) {
		// A broken token file is this host's fault, not the configuration's: the console refuses
		// to start, the webhooks keep being taken. (A weak ADMIN_TOKEN beyond loopback is the
		// configuration's, and still stops the start.)
		m.consoleDown = err
		m.log.Error("console not started: its admin token file cannot be used; the webhook serves without it",
			"err", err, "fix", "repair or delete "+consoleapp.TokenPath(c.DataDir)+", or set ADMIN_TOKEN, then restart")
		return nil
	}
	return err
}

// webhookServer returns what builds the webhook server (with /healthz, /readyz and /metrics) for
// a body limit.
func (m *Program) webhookServer(auth *ingest.Auth, reg *prometheus.Registry) func(maxBody int64) http.Handler {
	m.metrics = ingest.NewMetrics(reg)
	metrics := promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})
	ready := func(ctx context.Context) error {
		if err := natsconn.Connected(m.nc); err != nil {
			return err
		}
		_, err := m.pub.JetStream().Stream(ctx, m.qc.Stream)
		return err
	}
	return func(maxBody int64) http.Handler {
		return ingest.NewServer(ingest.Config{Auth: auth, Accounts: m.accounts, MaxBody: maxBody}, m.pub, ready, m.metrics, metrics, m.log)
	}
}

// serve starts the webhook server on whatever the events stream's state has it serve (m.web).
// Requests framed by both Content-Length and Transfer-Encoding are refused and their connection
// closed: the listener lets the handler see them (ingest.GuardFraming).
func (m *Program) serve(context.Context) error {
	var err error
	m.http, err = app.ListenHTTP(m.Config.Addr, &m.web, m.Fail, ingest.GuardFraming)
	return err
}
