package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/nats-io/nats.go"

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
	failed  chan error
}

// NewConsole returns a Console reading the process's environment.
func NewConsole() *Console {
	return &Console{Env: os.LookupEnv, Stdout: os.Stdout, Stderr: os.Stderr, failed: make(chan error, 2)}
}

// ParseFlags reads flags, with environment variables as their defaults.
func (m *Console) ParseFlags(args []string) error {
	c := &m.Config
	fs := newFlagSet("console", m.Env)
	fs.str(&c.Addr, "addr", "CONSOLE_ADDR", DefaultConsoleAddr, "HTTP address of the console; beyond loopback it needs ADMIN_TOKEN (at least 24 characters)")
	fs.str(&c.NatsURL, "nats-url", "NATS_URL", "nats://127.0.0.1:4222", "NATS server URL(s), comma-separated: dead letters, quarantine, consumer lag")
	fs.str(&c.DB, "db", "DATABASE_URL", "./data/leads.db", "the leads database: a SQLite file path, or postgres://user:password@host:5432/dbname (PostgreSQL)")
	fs.str(&c.DataDir, "data-dir", "DATA_DIR", "./data", "where a generated admin token is kept (admin-token)")
	fs.str(&c.DefaultRegion, "default-region", "DEFAULT_PHONE_REGION", "IN", "region for searched phone numbers written without a country code")
	fs.integer(&c.MaxBody, "max-body", "MAX_BODY_BYTES", ingest.DefaultMaxBody, "largest body a quarantine replay submits, as the ingest's")
	if err := fs.parse(args); err != nil {
		return err
	}
	c.Token, _ = m.Env("ADMIN_TOKEN")
	return nil
}

// Failed delivers the error of a component that stopped on its own.
func (m *Console) Failed() <-chan error { return m.failed }

// URL is the console's sign-in page, once Run has returned.
func (m *Console) URL() string { return m.console.URL() }

// Run connects to NATS (retrying in the background if it is not up yet: the leads are readable
// without it), opens the store and serves.
func (m *Console) Run(ctx context.Context) error {
	c := m.Config
	m.log = newLogger(m.Stderr, "console")
	nc, err := nats.Connect(c.NatsURL, nats.Name("saleassist-console"), nats.RetryOnFailedConnect(true),
		nats.MaxReconnects(-1), nats.ReconnectWait(500*time.Millisecond), nats.DisconnectErrHandler(logDisconnect(m.log)))
	if err != nil {
		return fmt.Errorf("connect to NATS at %s: %w", queue.RedactURL(c.NatsURL), err)
	}
	m.nc = nc
	m.console, err = startConsole(ctx, consoleConfig{Addr: c.Addr, DataDir: c.DataDir, Token: c.Token, DB: c.DB,
		Region: c.DefaultRegion, MaxBody: c.MaxBody, Queue: queue.DefaultConfig()}, nc, m.log, m.failed)
	if err != nil {
		return err
	}
	_, _ = io.WriteString(m.Stdout, m.console.banner(c.DataDir)+"\n")
	m.log.Info("started", "addr", m.console.http.Addr(), "nats", queue.RedactURL(c.NatsURL), "db", queue.RedactURL(c.DB))
	return nil
}

// Close stops serving and closes the store and the NATS connection.
func (m *Console) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
	defer cancel()
	err := m.console.stop(ctx)
	closeConn(m.nc)
	if m.log != nil {
		m.log.Info("stopped")
	}
	return err
}
