package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/saleassist-pipeline/pipeline/internal/envflag"
	"github.com/saleassist-pipeline/pipeline/internal/natsconn"
	"github.com/saleassist-pipeline/pipeline/pkg/account"
	"github.com/saleassist-pipeline/pipeline/pkg/admin"
	"github.com/saleassist-pipeline/pipeline/pkg/console"
	"github.com/saleassist-pipeline/pipeline/pkg/ingest"
	"github.com/saleassist-pipeline/pipeline/pkg/queue"
	"github.com/saleassist-pipeline/pipeline/pkg/queue/embedded"
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
	// ConsoleTZ is CONSOLE_TZ, the zone the console shows times in; ConsoleZone is it read.
	ConsoleTZ   string
	ConsoleZone *time.Location
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
	group    *group
	embedded *embedded.Server
	nc       *nats.Conn
	wnc      *nats.Conn // the in-process worker's own connection
	qc       queue.Config
	maxBody  int64 // MAX_BODY_BYTES, lowered to what NATS can carry (set once the stream is ready)
	pub      *queue.Publisher
	stream   *streamWait
	web      webHandler // the webhook port's handler: ingest.NotReady until the stream is ready
	server   func(maxBody int64) http.Handler
	metrics  *ingest.Metrics
	// accounts is every account served: the default one from WEBHOOK_SECRETS at first, then the
	// accounts bucket's too once account.Follow runs (followAccounts).
	accounts   *account.Registry
	envDefault account.Account
	stopFollow context.CancelFunc
	http       *httpServer
	pprof      *httpServer
	worker     *runningWorker
	console    *runningConsole
	// consoleDown is why the console did not start while the webhook did (its token file).
	consoleDown error
	secret      string // set when generated on this start, for the banner
}

// NewIngest returns an Ingest reading the process's environment.
func NewIngest() *Ingest {
	return &Ingest{Env: os.LookupEnv, Stdout: os.Stdout, Stderr: os.Stderr, group: newGroup()}
}

// ParseFlags reads flags, with environment variables as their defaults.
func (m *Ingest) ParseFlags(args []string) error {
	c := &m.Config
	fs := envflag.New("ingest", m.Env)
	fs.StringEnv(&c.Addr, "addr", "INGEST_ADDR", ":8080", "HTTP address for webhooks, /healthz, /readyz and /metrics")
	fs.StringEnv(&c.NatsURL, "nats-url", "NATS_URL", "", "NATS server URL(s), comma-separated; empty runs standalone with an embedded server")
	fs.StringEnv(&c.DataDir, "data-dir", "DATA_DIR", "./data", "directory for the generated secret and, standalone, JetStream files and leads.db")
	fs.StringEnvEmptyOK(&c.DB, "db", "DATABASE_URL", "", "standalone worker: the leads database, a SQLite file path or postgres://user:password@host:5432/dbname; empty = DATA_DIR/leads.db")
	fs.Int64Env(&c.MaxBody, "max-body", "MAX_BODY_BYTES", ingest.DefaultMaxBody, "largest request body accepted, in bytes")
	fs.StringEnvEmptyOK(&c.SecretHeader, "secret-header", "WEBHOOK_SECRET_HEADER", ingest.DefaultSecretHeader, "request header carrying the shared secret; empty turns the check off (a signature is then required)")
	fs.StringEnv(&c.SignatureHeader, "signature-header", "WEBHOOK_SIGNATURE_HEADER", "", "request header carrying an HMAC-SHA256 of the body (hex or base64, optional sha256= prefix); empty = not checked")
	fs.StringEnv(&c.AllowedCIDRs, "allowed-cidrs", "WEBHOOK_ALLOWED_CIDRS", "", "comma-separated source address ranges accepted; empty = any")
	fs.StringEnv(&c.TrustedProxies, "trusted-proxies", "TRUSTED_PROXY_CIDRS", "", "comma-separated proxy ranges whose CF-Connecting-IP / X-Forwarded-For name the client")
	fs.Int64Env(&c.QuarantineMax, "quarantine-max-bytes", "QUARANTINE_MAX_BYTES", queue.DefaultQuarantineMaxBytes, "size limit of the quarantine stream")
	fs.StringEnvEmptyOK(&c.EmbeddedNATSAddr, "embedded-nats-addr", "EMBEDDED_NATS_ADDR", "127.0.0.1:4222", "standalone: address where extra workers attach to the embedded NATS; empty = in-process only")
	fs.BoolEnv(&c.EmbeddedNATSRemote, "embedded-nats-allow-remote", "EMBEDDED_NATS_ALLOW_REMOTE", false, "standalone: allow -embedded-nats-addr beyond loopback (the embedded NATS has no authentication; only behind a firewall)")
	fs.BoolEnv(&c.RunWorker, "worker", "INGEST_WORKER", true, "standalone: run the worker in this process")
	fs.DurationEnv(&c.PublishTimeout, "publish-timeout", "PUBLISH_TIMEOUT", queue.DefaultPublishTimeout, "how long a request waits for JetStream to store its event before answering 503")
	fs.Int64Env(&c.StreamMaxBytes, "stream-max-bytes", "STREAM_MAX_BYTES", queue.DefaultMaxBytes, "backlog limit of the events stream; when full, webhooks get 503")
	fs.StringEnvEmptyOK(&c.PprofAddr, "pprof-addr", "PPROF_ADDR", "", "serve Go's /debug/pprof/ here (e.g. 127.0.0.1:6060); empty = off")
	fs.DurationEnv(&c.DuplicateWindow, "duplicate-window", "STREAM_DUPLICATE_WINDOW", queue.DefaultDuplicates, "how long JetStream drops a re-sent event id by itself; its memory grows with rate × window (the store's unique event id dedupes for ever)")
	fs.Int64Env(&c.StreamReplicas, "stream-replicas", "STREAM_REPLICAS", 1, "copies of each stream in a JetStream cluster (3 in production clusters; 1 standalone)")
	fs.StringEnv(&c.SyncInterval, "jetstream-sync", "JETSTREAM_SYNC_INTERVAL", "2m", "standalone: how often JetStream fsyncs (a duration, or \"always\")")
	fs.StringEnvEmptyOK(&c.ConsoleAddr, "console-addr", "CONSOLE_ADDR", DefaultConsoleAddr, "standalone: address of the operator's console (leads, dead letters, schema); empty = off; beyond loopback it needs ADMIN_TOKEN")
	fs.StringEnv(&c.ConsoleTZ, "console-tz", "CONSOLE_TZ", "UTC", "standalone: time zone the console shows times in (an IANA name such as Asia/Kolkata); UTC on hover and in the API")
	c.Worker.register(fs, "standalone worker: ")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var err error
	if c.ConsoleZone, err = console.ParseZone(c.ConsoleTZ); err != nil {
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

// Failed delivers the error of a part that stopped on its own.
func (m *Ingest) Failed() <-chan error { return m.group.Failed() }

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

// Run checks the configuration, starts the parts in order and returns once the webhook server
// is listening. Close stops them in reverse order, which is the order they must stop in:
//
//  1. the webhook server stops accepting and answers the requests in flight; each waits for its
//     PubAck, so NATS must still be up (no 202 without a stored event, no stored event unanswered);
//  2. pprof and the console answer theirs (the console's operations use the ingest's NATS
//     connection; it closes its own store handle);
//  3. the in-process worker drains: its batch in flight commits and is acknowledged, its store
//     closes, then its own connection flushes the acks and closes;
//  4. the events stream's set-up stops retrying, if NATS_URL's NATS never let it finish;
//  5. the ingest's NATS connection flushes and closes;
//  6. the embedded NATS server shuts down last, flushing JetStream's files.
//
// Against NATS_URL, Run does not wait for NATS: when it is down, or its cluster cannot place the
// streams yet, Run returns after a few seconds anyway and the webhook port answers 503 (with why,
// on /readyz) until the streams are made in the background (ensureStream).
//
// Metrics are not a part: their registry lives as long as the program, served on the webhook
// port (and the worker's counters with it, standalone).
func (m *Ingest) Run(ctx context.Context) error {
	c := m.Config
	m.log = newLogger(m.Stderr, "ingest")
	m.group.log = m.log
	if c.DuplicateWindow < time.Second {
		return fmt.Errorf("STREAM_DUPLICATE_WINDOW=%s: want at least 1s (the default is %s)", c.DuplicateWindow, queue.DefaultDuplicates)
	}
	if p := portOf(c.ConsoleAddr); c.ConsoleAddr != "" && p != "0" && p == portOf(c.Addr) {
		return fmt.Errorf("CONSOLE_ADDR=%q is on the webhook port: give the console an address of its own (default %s), never where SaleAssist posts", c.ConsoleAddr, DefaultConsoleAddr)
	}
	auth, secrets, err := m.auth()
	if err != nil {
		return err
	}
	// The default account is what a single-account installation always was: WEBHOOK_SECRETS
	// (or the generated secret) in -secret-header, at /webhooks/saleassist. Its mapping is left
	// to the worker's MAPPING_FILE.
	m.envDefault = account.EnvDefault(secrets, c.SecretHeader, "")
	m.accounts = account.NewRegistry(m.envDefault)
	m.qc = queue.DefaultConfig()
	m.qc.MaxBytes = c.StreamMaxBytes
	m.qc.Replicas = int(c.StreamReplicas)
	m.qc.Duplicates = c.DuplicateWindow
	m.qc.QuarantineMaxBytes = c.QuarantineMax
	reg := newRegistry()

	g := m.group
	if m.Standalone() {
		g.add("embedded NATS", m.startEmbedded, func(context.Context) error { m.embedded.Shutdown(); return nil })
	}
	g.add("NATS connection", m.connect, func(context.Context) error { natsconn.Close(m.nc); return nil })
	m.server = m.webhookServer(auth, reg)
	g.add("events stream", m.ensureStream, func(context.Context) error {
		m.stream.stop()
		if m.stopFollow != nil {
			m.stopFollow()
		}
		return nil
	})
	if m.Standalone() && c.RunWorker {
		g.add("worker", func(ctx context.Context) error { return m.startWorker(ctx, reg) }, func(context.Context) error {
			err := m.worker.stop()
			natsconn.Close(m.wnc)
			return err
		})
	}
	if m.Standalone() && c.ConsoleAddr != "" {
		g.add("console", m.startConsole, func(ctx context.Context) error { return m.console.stop(ctx) })
	}
	addPprof(g, c.PprofAddr, m.log, &m.pprof)
	g.add("webhook server", m.serve, func(ctx context.Context) error { return m.http.shutdown(ctx) })
	if err := g.run(ctx); err != nil {
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

// auth builds the authentication from the configuration, and returns the default account's
// secrets. Without WEBHOOK_SECRETS, the data directory's generated secret is the shared secret
// (and the default signing key).
func (m *Ingest) auth() (*ingest.Auth, []string, error) {
	c := m.Config
	secrets := c.Secrets
	if len(secrets) == 0 && (c.SecretHeader != "" || len(c.SignatureSecrets) == 0) {
		secret, created, err := ingest.LoadOrCreateSecret(c.DataDir)
		if err != nil {
			return nil, nil, err
		}
		if created {
			m.secret = secret
		}
		secrets = []string{secret}
	}
	a, err := ingest.NewAuth(ingest.AuthConfig{
		SecretHeader: c.SecretHeader, Secrets: secrets,
		SignatureHeader: c.SignatureHeader, SignatureSecrets: c.SignatureSecrets,
		AllowedCIDRs: ingest.SplitList(c.AllowedCIDRs), TrustedProxies: ingest.SplitList(c.TrustedProxies),
	})
	return a, secrets, err
}

// Close stops the parts in reverse order of their start (see Run): no acknowledged event is
// lost, and the embedded server goes last.
func (m *Ingest) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
	defer cancel()
	err := m.group.stop(ctx)
	if m.log != nil {
		m.log.Info("stopped")
	}
	return err
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
	if m.consoleDown != nil {
		b = fmt.Appendf(b, "\nConsole NOT started (the webhook serves without it): %v\n", m.consoleDown)
	}
	if u := m.EmbeddedNATSURL(); u != "" {
		b = fmt.Appendf(b, "\nMore workers can attach: NATS_URL=%s go run ./cmd/worker -db %s\n", u, queue.RedactURL(m.db()))
		b = fmt.Appendf(b, "Quarantined requests: go run ./cmd/ingestctl -data-dir %s quarantine list\n", c.DataDir)
	}
	_, _ = m.Stdout.Write(append(b, '\n'))
	m.log.Info("started", "addr", m.Addr(), "standalone", m.Standalone(), "accepting_webhooks", m.stream.err() == nil,
		"worker", m.worker != nil, "embedded_nats", m.EmbeddedNATSURL(), "console", m.ConsoleURL())
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
