package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/saleassist-pipeline/pipeline/pkg/admin"
	"github.com/saleassist-pipeline/pipeline/pkg/ingest"
	"github.com/saleassist-pipeline/pipeline/pkg/queue"
)

// IngestConfig is cmd/ingest's configuration; see the README's contract for each setting.
type IngestConfig struct {
	Addr    string
	NatsURL string
	DataDir string
	// DB is the standalone worker's database (storeurl); empty means DataDir/leads.db.
	DB               string
	MaxBody          int64
	SecretHeader     string
	Secrets          []string
	SignatureHeader  string
	SignatureSecrets []string
	AllowedCIDRs     string
	TrustedProxies   string
	QuarantineMax    int64
	EmbeddedNATSAddr string
	// EmbeddedNATSRemote allows EmbeddedNATSAddr beyond loopback (the server has no auth).
	EmbeddedNATSRemote bool
	RunWorker          bool
	PublishTimeout     time.Duration
	StreamMaxBytes     int64
	StreamReplicas     int64
	DuplicateWindow    time.Duration
	PprofAddr          string
	SyncInterval       string
	// ConsoleAddr is where a standalone ingest serves the operator's console; empty = off.
	// ConsoleToken is ADMIN_TOKEN (env only); empty = generated into the data directory.
	ConsoleAddr  string
	ConsoleToken string
	// Worker configures the standalone in-process worker.
	Worker WorkerSettings
}

// Ingest is cmd/ingest: the webhook server, and in standalone mode (no NATS_URL) also the
// embedded NATS server and an in-process worker.
type Ingest struct {
	Config IngestConfig
	// Env, Stdout and Stderr default to the process's; tests replace them.
	Env    LookupEnv
	Stdout io.Writer
	Stderr io.Writer

	log      *slog.Logger
	embedded *queue.Embedded
	nc       *nats.Conn
	http     *httpServer
	pprof    *httpServer
	worker   *runningWorker
	console  *runningConsole
	failed   chan error
	secret   string // set when generated on this start, for the banner
}

// NewIngest returns an Ingest reading the process's environment.
func NewIngest() *Ingest {
	return &Ingest{Env: os.LookupEnv, Stdout: os.Stdout, Stderr: os.Stderr, failed: make(chan error, 4)}
}

// ParseFlags reads flags, with environment variables as their defaults.
func (m *Ingest) ParseFlags(args []string) error {
	c := &m.Config
	fs := newFlagSet("ingest", m.Env)
	fs.str(&c.Addr, "addr", "INGEST_ADDR", ":8080", "HTTP address for webhooks, /healthz, /readyz and /metrics")
	fs.str(&c.NatsURL, "nats-url", "NATS_URL", "", "NATS server URL(s), comma-separated; empty runs standalone with an embedded server")
	fs.str(&c.DataDir, "data-dir", "DATA_DIR", "./data", "directory for the generated secret and, standalone, JetStream files and leads.db")
	fs.strEmptyOK(&c.DB, "db", "DATABASE_URL", "", "standalone worker: the leads database, a SQLite file path or postgres://user:password@host:5432/dbname; empty = DATA_DIR/leads.db")
	fs.integer(&c.MaxBody, "max-body", "MAX_BODY_BYTES", ingest.DefaultMaxBody, "largest request body accepted, in bytes")
	fs.strEmptyOK(&c.SecretHeader, "secret-header", "WEBHOOK_SECRET_HEADER", ingest.DefaultSecretHeader, "request header carrying the shared secret; empty turns the check off (a signature is then required)")
	fs.str(&c.SignatureHeader, "signature-header", "WEBHOOK_SIGNATURE_HEADER", "", "request header carrying an HMAC-SHA256 of the body (hex or base64, optional sha256= prefix); empty = not checked")
	fs.str(&c.AllowedCIDRs, "allowed-cidrs", "WEBHOOK_ALLOWED_CIDRS", "", "comma-separated source address ranges accepted; empty = any")
	fs.str(&c.TrustedProxies, "trusted-proxies", "TRUSTED_PROXY_CIDRS", "", "comma-separated proxy ranges whose CF-Connecting-IP / X-Forwarded-For name the client")
	fs.integer(&c.QuarantineMax, "quarantine-max-bytes", "QUARANTINE_MAX_BYTES", queue.DefaultQuarantineMaxBytes, "size limit of the quarantine stream")
	fs.strEmptyOK(&c.EmbeddedNATSAddr, "embedded-nats-addr", "EMBEDDED_NATS_ADDR", "127.0.0.1:4222", "standalone: address where extra workers attach to the embedded NATS; empty = in-process only")
	fs.boolean(&c.EmbeddedNATSRemote, "embedded-nats-allow-remote", "EMBEDDED_NATS_ALLOW_REMOTE", false, "standalone: allow -embedded-nats-addr beyond loopback (the embedded NATS has no authentication; only behind a firewall)")
	fs.boolean(&c.RunWorker, "worker", "INGEST_WORKER", true, "standalone: run the worker in this process")
	fs.duration(&c.PublishTimeout, "publish-timeout", "PUBLISH_TIMEOUT", queue.DefaultPublishTimeout, "how long a request waits for JetStream to store its event before answering 503")
	fs.integer(&c.StreamMaxBytes, "stream-max-bytes", "STREAM_MAX_BYTES", queue.DefaultMaxBytes, "backlog limit of the events stream; when full, webhooks get 503")
	fs.strEmptyOK(&c.PprofAddr, "pprof-addr", "PPROF_ADDR", "", "serve Go's /debug/pprof/ here (e.g. 127.0.0.1:6060); empty = off")
	fs.duration(&c.DuplicateWindow, "duplicate-window", "STREAM_DUPLICATE_WINDOW", queue.DefaultDuplicates, "how long JetStream drops a re-sent event id by itself; its memory grows with rate × window (the store's unique event id dedupes for ever)")
	fs.integer(&c.StreamReplicas, "stream-replicas", "STREAM_REPLICAS", 1, "copies of each stream in a JetStream cluster (3 in production clusters; 1 standalone)")
	fs.str(&c.SyncInterval, "jetstream-sync", "JETSTREAM_SYNC_INTERVAL", "2m", "standalone: how often JetStream fsyncs (a duration, or \"always\")")
	fs.strEmptyOK(&c.ConsoleAddr, "console-addr", "CONSOLE_ADDR", DefaultConsoleAddr, "standalone: address of the operator's console (leads, dead letters, schema); empty = off; beyond loopback it needs ADMIN_TOKEN")
	c.Worker.register(fs, "standalone worker: ")
	if err := fs.parse(args); err != nil {
		return err
	}
	if v, ok := m.Env("WEBHOOK_SECRETS"); ok {
		c.Secrets = ingest.SplitList(v)
	}
	if v, ok := m.Env("WEBHOOK_SIGNATURE_SECRETS"); ok {
		c.SignatureSecrets = ingest.SplitList(v)
	}
	c.ConsoleToken, _ = m.Env("ADMIN_TOKEN")
	return nil
}

// Standalone reports whether Run embeds NATS (no NATS_URL given).
func (m *Ingest) Standalone() bool { return m.Config.NatsURL == "" }

// Failed delivers the error of a component that stopped on its own.
func (m *Ingest) Failed() <-chan error { return m.failed }

// Addr is the HTTP address listened on, once Run has returned.
func (m *Ingest) Addr() string { return m.http.Addr() }

// ConsoleURL is the console's sign-in page once Run has returned; empty when it is not served.
func (m *Ingest) ConsoleURL() string { return m.console.URL() }

// EmbeddedNATSURL is where extra workers attach in standalone mode; empty when not listening.
func (m *Ingest) EmbeddedNATSURL() string {
	if m.embedded == nil {
		return ""
	}
	return m.embedded.ClientURL()
}

// Run starts everything and returns once the server is listening.
func (m *Ingest) Run(ctx context.Context) error {
	c := m.Config
	m.log = newLogger(m.Stderr, "ingest")
	if c.DuplicateWindow < time.Second {
		return fmt.Errorf("STREAM_DUPLICATE_WINDOW=%s: want at least 1s (the default is %s)", c.DuplicateWindow, queue.DefaultDuplicates)
	}
	if p := portOf(c.ConsoleAddr); c.ConsoleAddr != "" && p != "0" && p == portOf(c.Addr) {
		return fmt.Errorf("CONSOLE_ADDR=%q is on the webhook port: give the console an address of its own (default %s), never where SaleAssist posts", c.ConsoleAddr, DefaultConsoleAddr)
	}
	auth, err := m.auth()
	if err != nil {
		return err
	}
	qc := queue.DefaultConfig()
	qc.MaxBytes = c.StreamMaxBytes
	qc.Replicas = int(c.StreamReplicas)
	qc.Duplicates = c.DuplicateWindow
	qc.QuarantineMaxBytes = c.QuarantineMax
	if err := m.connect(); err != nil {
		return err
	}
	maxBody := c.MaxBody
	if fit := m.nc.MaxPayload() - queue.HeaderRoom; maxBody > fit {
		// A larger body could never be published: it would get 503s and be retried forever.
		m.log.Warn("MAX_BODY_BYTES lowered to fit the NATS server's max_payload; raise max_payload in the nats-server configuration to accept larger events",
			"max_body_bytes", c.MaxBody, "lowered_to", fit, "max_payload", m.nc.MaxPayload())
		maxBody = fit
	}
	pub, err := queue.NewPublisher(m.nc, qc, c.PublishTimeout)
	if err != nil {
		return err
	}
	if _, err := queue.EnsureStream(ctx, pub.JetStream(), qc); err != nil {
		return err
	}
	reg := newRegistry()
	if m.Standalone() && c.RunWorker {
		wnc, err := m.embedded.Connect(nats.Name("saleassist-worker (standalone)"))
		if err != nil {
			return err
		}
		wc := workerConfig{WorkerSettings: c.Worker, DB: m.db(), Queue: qc}
		m.worker, err = startWorker(ctx, wnc, wc, reg, m.log.With("component", "worker"), m.failed)
		if err != nil {
			wnc.Close()
			return err
		}
		m.worker.onStop = func() { closeConn(wnc) }
	}
	ready := func(ctx context.Context) error {
		if st := m.nc.Status(); st != nats.CONNECTED {
			return fmt.Errorf("NATS connection is %s", st)
		}
		_, err := pub.JetStream().Stream(ctx, qc.Stream)
		return err
	}
	srv := ingest.NewServer(ingest.Config{Auth: auth, MaxBody: maxBody},
		pub, ready, ingest.NewMetrics(reg), promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}), m.log)
	// Requests framed by both Content-Length and Transfer-Encoding are refused and their
	// connection closed: the listener lets the handler see them (ingest.GuardFraming).
	m.http, err = listenHTTP(c.Addr, srv, m.failed, ingest.GuardFraming)
	if err != nil {
		return err
	}
	if err := m.startConsole(ctx, maxBody, qc); err != nil {
		return err
	}
	if m.pprof, err = startPprof(c.PprofAddr, m.log, m.failed); err != nil {
		return err
	}
	if err := m.writeNATSURL(); err != nil {
		return err
	}
	m.banner()
	return nil
}

// writeNATSURL tells ingestctl (run with the same DATA_DIR) where the embedded server listens, and
// removes a stale file when it does not.
func (m *Ingest) writeNATSURL() error {
	if !m.Standalone() {
		return nil
	}
	path := filepath.Join(m.Config.DataDir, admin.NATSURLFile)
	u := m.EmbeddedNATSURL()
	if u == "" {
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("remove %s: %w", path, err)
		}
		return nil
	}
	if err := os.WriteFile(path, []byte(u+"\n"), 0o600); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// auth builds the authentication from the configuration. Without WEBHOOK_SECRETS, the data
// directory's generated secret is the shared secret (and the default signing key).
func (m *Ingest) auth() (*ingest.Auth, error) {
	c := m.Config
	secrets := c.Secrets
	if len(secrets) == 0 && (c.SecretHeader != "" || len(c.SignatureSecrets) == 0) {
		secret, created, err := ingest.LoadOrCreateSecret(c.DataDir)
		if err != nil {
			return nil, err
		}
		if created {
			m.secret = secret
		}
		secrets = []string{secret}
	}
	return ingest.NewAuth(ingest.AuthConfig{
		SecretHeader: c.SecretHeader, Secrets: secrets,
		SignatureHeader: c.SignatureHeader, SignatureSecrets: c.SignatureSecrets,
		AllowedCIDRs: ingest.SplitList(c.AllowedCIDRs), TrustedProxies: ingest.SplitList(c.TrustedProxies),
	})
}

// connect starts the embedded server (standalone) or connects to NATS_URL. Publishing
// connections never buffer while disconnected: a publish then fails at once (503) instead of being
// stored later behind the sender's back.
func (m *Ingest) connect() error {
	c := m.Config
	opts := []nats.Option{
		nats.Name("saleassist-ingest"),
		nats.ReconnectBufSize(-1),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(500 * time.Millisecond),
		nats.DisconnectErrHandler(logDisconnect(m.log)),
		nats.ReconnectHandler(func(nc *nats.Conn) { m.log.Info("reconnected to NATS", "url", queue.RedactURL(nc.ConnectedUrl())) }),
	}
	if !m.Standalone() {
		nc, err := nats.Connect(c.NatsURL, opts...)
		if err != nil {
			return fmt.Errorf("connect to NATS at %s: %w (is it running? or leave NATS_URL empty to run standalone)", queue.RedactURL(c.NatsURL), err)
		}
		m.nc = nc
		return nil
	}
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
	if err != nil {
		return err
	}
	m.nc, err = m.embedded.Connect(opts...)
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

// Close stops in order: no new requests and in-flight ones answered; the worker drained, its
// batch committed and acknowledged; the NATS connection flushed; the embedded server last.
func (m *Ingest) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
	defer cancel()
	var errs []error
	errs = append(errs, m.http.shutdown(ctx), m.pprof.shutdown(ctx), m.console.stop(ctx))
	errs = append(errs, m.worker.stop())
	closeConn(m.nc)
	if m.embedded != nil {
		m.embedded.Shutdown()
	}
	if m.log != nil {
		m.log.Info("stopped")
	}
	return errors.Join(errs...)
}

// banner tells the operator what to enter in SaleAssist. It goes to stdout, not the log: the
// secret is shown once, when it is generated, and never logged.
func (m *Ingest) banner() {
	c := m.Config
	var b []byte
	b = fmt.Appendf(b, "\nSaleAssist webhook pipeline is listening on %s", m.Addr())
	if m.Standalone() {
		b = fmt.Appendf(b, " (standalone: embedded JetStream in %s", c.DataDir)
		if c.RunWorker {
			b = fmt.Appendf(b, ", leads in %s", queue.RedactURL(m.db()))
		}
		b = append(b, ')')
	}
	b = fmt.Appendf(b, "\n\nIn SaleAssist (Settings -> API -> Webhooks), enter:\n")
	b = fmt.Appendf(b, "  POST URL:      https://<your public host>%s  (locally: http://localhost:%s%s)\n",
		ingest.WebhookPath, portOf(m.Addr()), ingest.WebhookPath)
	where := "the secret in " + filepath.Join(c.DataDir, ingest.SecretFile)
	switch {
	case m.secret != "":
		where = m.secret + "\n  (generated now and kept in " + filepath.Join(c.DataDir, ingest.SecretFile) + "; shown only this once)"
	case len(c.Secrets) > 0:
		where = "one of the secrets in WEBHOOK_SECRETS"
	}
	if c.SecretHeader != "" {
		b = fmt.Appendf(b, "  Custom header: %s = %s\n", c.SecretHeader, where)
	}
	if c.SignatureHeader != "" {
		b = fmt.Appendf(b, "  Signature:     %s = HMAC-SHA256 of the body (hex or base64)\n", c.SignatureHeader)
	}
	if c.AllowedCIDRs != "" {
		b = fmt.Appendf(b, "  Accepted from: %s\n", c.AllowedCIDRs)
	}
	b = append(b, m.console.banner(c.DataDir)...)
	if u := m.EmbeddedNATSURL(); u != "" {
		b = fmt.Appendf(b, "\nMore workers can attach: NATS_URL=%s go run ./cmd/worker -db %s\n", u, queue.RedactURL(m.db()))
		b = fmt.Appendf(b, "Quarantined requests: go run ./cmd/ingestctl -data-dir %s quarantine list\n", c.DataDir)
	}
	_, _ = m.Stdout.Write(append(b, '\n'))
	m.log.Info("started", "addr", m.Addr(), "standalone", m.Standalone(), "worker", m.worker != nil, "embedded_nats", m.EmbeddedNATSURL(), "console", m.ConsoleURL())
}

// db is the standalone worker's database: DATABASE_URL, else leads.db in the data directory.
func (m *Ingest) db() string {
	if m.Config.DB != "" {
		return m.Config.DB
	}
	return filepath.Join(m.Config.DataDir, "leads.db")
}

func portOf(addr string) string {
	for i := len(addr) - 1; i >= 0; i-- {
		if addr[i] == ':' {
			return addr[i+1:]
		}
	}
	return addr
}

// startConsole serves the console in standalone mode, on the database the in-process worker
// writes (DATABASE_URL, else the data directory's leads.db) and the ingest's own NATS connection. A taken CONSOLE_ADDR is a warning, as a taken
// EMBEDDED_NATS_ADDR is: webhooks matter more than the console. Against an external NATS the
// ingest has no store: run cmd/console there.
func (m *Ingest) startConsole(ctx context.Context, maxBody int64, qc queue.Config) error {
	c := m.Config
	if !m.Standalone() || c.ConsoleAddr == "" {
		return nil
	}
	var err error
	m.console, err = startConsole(ctx, consoleConfig{Addr: c.ConsoleAddr, DataDir: c.DataDir, Token: c.ConsoleToken,
		DB: m.db(), Region: c.Worker.DefaultRegion, MaxBody: maxBody, Queue: qc},
		m.nc, m.log.With("component", "console"), m.failed)
	if errors.Is(err, errConsoleAddrInUse) {
		m.log.Warn("console not started: its address is taken", "addr", c.ConsoleAddr, "fix", "set CONSOLE_ADDR to a free address, or empty to turn the console off")
		return nil
	}
	return err
}
