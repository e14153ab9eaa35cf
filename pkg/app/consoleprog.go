package app

import (
	"context"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/saleassist-pipeline/pipeline/internal/envflag"
	"github.com/saleassist-pipeline/pipeline/internal/natsconn"
	"github.com/saleassist-pipeline/pipeline/pkg/console"
	"github.com/saleassist-pipeline/pipeline/pkg/ingest"
	"github.com/saleassist-pipeline/pipeline/pkg/queue"
)

// ConsoleConfig is cmd/console's configuration; see the README's contract for each setting.
type ConsoleConfig struct {
	Addr    string
	NatsURL string
	DB      string
	DataDir string
	// Token is ADMIN_TOKEN (env only, never a flag: flags show in ps).
	Token         string
	DefaultRegion string
	MaxBody       int64
	// TZ is CONSOLE_TZ, the zone the pages show times in; Zone is it read at ParseFlags.
	TZ   string
	Zone *time.Location
}

// Console is cmd/console: the operator's console as a process of its own, for deployments where
// the ingest runs against an external NATS (and so has no store). It is the same code a
// standalone ingest serves on CONSOLE_ADDR.
type Console struct {
	Config ConsoleConfig
	// Env, Stdout and Stderr default to the process's; tests replace them.
	Env    LookupEnv
	Stdout io.Writer
	Stderr io.Writer

	log     *slog.Logger
	nc      *nats.Conn
	console *runningConsole
	group   *group
}

// NewConsole returns a Console reading the process's environment.
func NewConsole() *Console {
	return &Console{Env: os.LookupEnv, Stdout: os.Stdout, Stderr: os.Stderr, group: newGroup()}
}

// ParseFlags reads flags, with environment variables as their defaults.
func (m *Console) ParseFlags(args []string) error {
	c := &m.Config
	fs := envflag.New("console", m.Env)
	fs.StringEnv(&c.Addr, "addr", "CONSOLE_ADDR", DefaultConsoleAddr, "HTTP address of the console; beyond loopback it needs ADMIN_TOKEN (at least 24 characters)")
	fs.StringEnv(&c.NatsURL, "nats-url", "NATS_URL", "nats://127.0.0.1:4222", "NATS server URL(s), comma-separated: dead letters, quarantine, consumer lag")
	fs.StringEnv(&c.DB, "db", "DATABASE_URL", "./data/leads.db", "the leads database: a SQLite file path, or postgres://user:password@host:5432/dbname (PostgreSQL)")
	fs.StringEnv(&c.DataDir, "data-dir", "DATA_DIR", "./data", "where a generated admin token is kept (admin-token)")
	fs.StringEnv(&c.DefaultRegion, "default-region", "DEFAULT_PHONE_REGION", "IN", "region for searched phone numbers written without a country code")
	fs.Int64Env(&c.MaxBody, "max-body", "MAX_BODY_BYTES", ingest.DefaultMaxBody, "largest body a quarantine replay submits, as the ingest's")
	fs.StringEnv(&c.TZ, "tz", "CONSOLE_TZ", "UTC", "time zone the pages show times in (an IANA name such as Asia/Kolkata); UTC on hover and in the API")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var err error
	if c.Zone, err = console.ParseZone(c.TZ); err != nil {
		return err
	}
	c.Token, _ = m.Env("ADMIN_TOKEN")
	return nil
}

// Failed delivers the error of a part that stopped on its own.
func (m *Console) Failed() <-chan error { return m.group.Failed() }

// URL is the console's sign-in page, once Run has returned.
func (m *Console) URL() string { return m.console.URL() }

// Run connects to NATS (retrying in the background if it is not up yet: the leads are readable
// without it), opens the store and serves. Close stops the console first (requests in flight
// answered, its store closed), then the NATS connection its operations use.
func (m *Console) Run(ctx context.Context) error {
	c := m.Config
	m.log = newLogger(m.Stderr, "console")
	m.group.log = m.log
	g := m.group
	g.add("NATS connection", func(context.Context) error {
		var err error
		m.nc, err = natsconn.Client{Name: "saleassist-console", Log: m.log, RetryConnect: true}.Connect(c.NatsURL)
		return err
	}, func(context.Context) error { natsconn.Close(m.nc); return nil })
	g.add("console", func(ctx context.Context) error {
		var err error
		m.console, err = startConsole(ctx, consoleConfig{Addr: c.Addr, DataDir: c.DataDir, Token: c.Token, DB: c.DB,
			Region: c.DefaultRegion, Zone: c.Zone, MaxBody: c.MaxBody, Queue: queue.DefaultConfig()}, m.nc, m.log, g.fail)
		return err
	}, func(ctx context.Context) error { return m.console.stop(ctx) })
	if err := g.run(ctx); err != nil {
		return err
	}
	_, _ = io.WriteString(m.Stdout, m.console.banner(c.DataDir)+"\n")
	m.log.Info("started", "addr", m.console.http.Addr(), "nats", queue.RedactURL(c.NatsURL), "db", queue.RedactURL(c.DB))
	return nil
}

// Close stops serving, then closes the store and the NATS connection (see Run).
func (m *Console) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
	defer cancel()
	err := m.group.stop(ctx)
	if m.log != nil {
		m.log.Info("stopped")
	}
	return err
}
