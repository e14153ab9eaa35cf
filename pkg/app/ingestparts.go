package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/saleassist-pipeline/pipeline/internal/natsconn"
	"github.com/saleassist-pipeline/pipeline/pkg/console"
	"github.com/saleassist-pipeline/pipeline/pkg/ingest"
	"github.com/saleassist-pipeline/pipeline/pkg/queue"
)

// The ingest's parts, in the order Ingest.Run adds them; each start is here, each stop beside
// its add in Run.

// startEmbedded starts the embedded NATS server (standalone), its JetStream files in the data
// directory.
func (m *Ingest) startEmbedded(context.Context) error {
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
	m.embedded, err = queue.StartEmbedded(queue.EmbeddedOptions{
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

// connect connects the publisher to the embedded server (standalone) or to NATS_URL, and fits
// the body limit to what that server carries. It is a publishing connection: it never buffers
// while disconnected (natsconn.Client.Publisher).
func (m *Ingest) connect(context.Context) error {
	c := m.Config
	client := natsconn.Client{Name: "saleassist-ingest", Log: m.log, Publisher: true,
		Hint: "is it running? or leave NATS_URL empty to run standalone"}
	var err error
	if m.Standalone() {
		m.nc, err = m.embedded.Connect(client.Options()...)
	} else {
		m.nc, err = client.Connect(c.NatsURL)
	}
	if err != nil {
		return err
	}
	m.maxBody = c.MaxBody
	if fit := m.nc.MaxPayload() - queue.HeaderRoom; m.maxBody > fit {
		// A larger body could never be published: it would get 503s and be retried forever.
		m.log.Warn("MAX_BODY_BYTES lowered to fit the NATS server's max_payload; raise max_payload in the nats-server configuration to accept larger events",
			"max_body_bytes", c.MaxBody, "lowered_to", fit, "max_payload", m.nc.MaxPayload())
		m.maxBody = fit
	}
	return nil
}

// ensureStream makes the publisher and creates or updates the streams.
func (m *Ingest) ensureStream(ctx context.Context) error {
	var err error
	if m.pub, err = queue.NewPublisher(m.nc, m.qc, m.Config.PublishTimeout); err != nil {
		return err
	}
	_, err = queue.EnsureStream(ctx, m.pub.JetStream(), m.qc)
	return err
}

// startWorker runs the standalone worker on its own in-process connection, so its acks and the
// ingest's publishes do not share one connection's buffers.
func (m *Ingest) startWorker(ctx context.Context, reg prometheus.Registerer) error {
	var err error
	log := m.log.With("component", "worker")
	if m.wnc, err = m.embedded.Connect(natsconn.Client{Name: "saleassist-worker (standalone)", Log: log}.Options()...); err != nil {
		return err
	}
	wc := workerConfig{WorkerSettings: m.Config.Worker, DB: m.db(), Queue: m.qc}
	if m.worker, err = startWorker(ctx, m.wnc, wc, reg, log, m.group.fail); err != nil {
		m.wnc.Close()
		return err
	}
	return nil
}

// startConsole serves the console in standalone mode, on the database the in-process worker
// writes (DATABASE_URL, else the data directory's leads.db) and the ingest's own NATS connection. A taken CONSOLE_ADDR is a warning, as a taken
// EMBEDDED_NATS_ADDR is: webhooks matter more than the console. Against an external NATS the
// ingest has no store: run cmd/console there.
func (m *Ingest) startConsole(ctx context.Context) error {
	c := m.Config
	var err error
	m.console, err = startConsole(ctx, consoleConfig{Addr: c.ConsoleAddr, DataDir: c.DataDir, Token: c.ConsoleToken,
		DB: m.db(), Region: c.Worker.DefaultRegion, MaxBody: m.maxBody, Queue: m.qc},
		m.nc, m.log.With("component", "console"), m.group.fail)
	if errors.Is(err, errConsoleAddrInUse) {
		m.log.Warn("console not started: its address is taken", "addr", c.ConsoleAddr, "fix", "set CONSOLE_ADDR to a free address, or empty to turn the console off")
		return nil
	}
	if errors.Is(err, console.ErrTokenFile) {
		// A broken token file is this host's fault, not the configuration's: the console refuses
		// to start, the webhooks keep being taken. (A weak ADMIN_TOKEN beyond loopback is the
		// configuration's, and still stops the start.)
		m.consoleDown = err
		m.log.Error("console not started: its admin token file cannot be used; the webhook serves without it",
			"err", err, "fix", "repair or delete "+filepath.Join(c.DataDir, console.TokenFile)+", or set ADMIN_TOKEN, then restart")
		return nil
	}
	return err
}

// serve starts the webhook server (with /healthz, /readyz and /metrics). Requests framed by both
// Content-Length and Transfer-Encoding are refused and their connection closed: the listener lets
// the handler see them (ingest.GuardFraming).
func (m *Ingest) serve(auth *ingest.Auth, reg *prometheus.Registry) error {
	ready := func(ctx context.Context) error {
		if err := natsconn.Connected(m.nc); err != nil {
			return err
		}
		_, err := m.pub.JetStream().Stream(ctx, m.qc.Stream)
		return err
	}
	srv := ingest.NewServer(ingest.Config{Auth: auth, MaxBody: m.maxBody},
		m.pub, ready, ingest.NewMetrics(reg), promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}), m.log)
	var err error
	m.http, err = listenHTTP(m.Config.Addr, srv, m.group.fail, ingest.GuardFraming)
	return err
}
