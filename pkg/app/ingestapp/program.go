// Package ingestapp is cmd/ingest: the webhook server (Program). Without NATS_URL it is the whole
// pipeline standalone: it embeds the NATS server (pkg/queue/embedded, linked by this program
// alone) and runs, in-process, the worker (workerapp.Start) and the console (consoleapp.Start),
// which is why it imports workerapp and consoleapp, and they never import it.
package ingestapp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/saleassist-pipeline/pipeline/internal/natsconn"
	"github.com/saleassist-pipeline/pipeline/pkg/account"
	"github.com/saleassist-pipeline/pipeline/pkg/app"
	"github.com/saleassist-pipeline/pipeline/pkg/app/consoleapp"
	"github.com/saleassist-pipeline/pipeline/pkg/app/workerapp"
	"github.com/saleassist-pipeline/pipeline/pkg/ingest"
	"github.com/saleassist-pipeline/pipeline/pkg/queue"
	"github.com/saleassist-pipeline/pipeline/pkg/queue/embedded"
)

// Program is cmd/ingest: the webhook server, and in standalone mode (no NATS_URL) also the
// embedded NATS server, an in-process worker and the console. Its Close stops it (see
// Run).
type Program struct {
	app.Process
	Config Config

	log      *slog.Logger
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
	http       *app.HTTPServer
	worker     *workerapp.Running
	console    *consoleapp.Running
	// consoleDown is why the console did not start while the webhook did (its token file).
	consoleDown error
	secret      string // set when generated on this start, for the banner
}

// New returns a Program reading the process's environment.
func New() *Program {
	return &Program{Process: app.Process{Env: os.LookupEnv, Stdout: os.Stdout, Stderr: os.Stderr}}
}

// Standalone reports whether Run embeds NATS (no NATS_URL given).
func (m *Program) Standalone() bool { return m.Config.NatsURL == "" }

// Addr is the HTTP address listened on, once Run has returned.
func (m *Program) Addr() string { return m.http.Addr() }

// ConsoleURL is the console's sign-in page once Run has returned; empty when it is not served.
func (m *Program) ConsoleURL() string { return m.console.URL() }

// EmbeddedNATSURL is where extra workers attach in standalone mode; empty when not listening.
func (m *Program) EmbeddedNATSURL() string {
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
func (m *Program) Run(ctx context.Context) error {
	c := m.Config
	m.log = m.NewLogger("ingest")
	if c.DuplicateWindow < time.Second {
		return fmt.Errorf("STREAM_DUPLICATE_WINDOW=%s: want at least 1s (the default is %s)", c.DuplicateWindow, queue.DefaultDuplicates)
	}
	if p := portOf(c.ConsoleAddr); c.ConsoleAddr != "" && p != "0" && p == portOf(c.Addr) {
		return fmt.Errorf("CONSOLE_ADDR=%q is on the webhook port: give the console an address of its own (default %s), never where SaleAssist posts", c.ConsoleAddr, consoleapp.DefaultAddr)
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
	reg := app.NewRegistry()

	g := &m.Group
	if m.Standalone() {
		g.Add("embedded NATS", m.startEmbedded, func(context.Context) error { m.embedded.Shutdown(); return nil })
	}
	g.Add("NATS connection", m.connect, func(context.Context) error { natsconn.Close(m.nc); return nil })
	m.server = m.webhookServer(auth, reg)
	g.Add("events stream", m.ensureStream, func(context.Context) error {
		m.stream.stop()
		if m.stopFollow != nil {
			m.stopFollow()
		}
		return nil
	})
	if m.Standalone() && c.RunWorker {
		g.Add("worker", func(ctx context.Context) error { return m.startWorker(ctx, reg) }, func(context.Context) error {
			err := m.worker.Stop()
			natsconn.Close(m.wnc)
			return err
		})
	}
	if m.Standalone() && c.ConsoleAddr != "" {
		g.Add("console", m.startConsole, func(ctx context.Context) error { return m.console.Stop(ctx) })
	}
	app.AddPprof(g, c.PprofAddr, m.log)
	g.Add("webhook server", m.serve, func(ctx context.Context) error { return m.http.Shutdown(ctx) })
	if err := g.Start(ctx); err != nil {
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
func (m *Program) writeNATSURL() error {
	if !m.Standalone() {
		return nil
	}
	path := filepath.Join(m.Config.DataDir, natsconn.URLFile)
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
func (m *Program) auth() (*ingest.Auth, []string, error) {
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

// banner tells the operator what to enter in SaleAssist. It goes to stdout, not the log: the
// secret is shown once, when it is generated, and never logged.
func (m *Program) banner() {
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
	b = append(b, m.console.Banner(c.DataDir)...)
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
func (m *Program) db() string {
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
