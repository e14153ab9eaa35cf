// Package consoleapp is cmd/console: the operator's console as a process of its own (Program);
// and the console serving (Start, Running), which a standalone ingest serves in-process too.
package consoleapp

import (
	"context"
	"io"
	"log/slog"
	"os"

	"github.com/nats-io/nats.go"

	"github.com/saleassist-pipeline/pipeline/internal/natsconn"
	"github.com/saleassist-pipeline/pipeline/pkg/app"
	"github.com/saleassist-pipeline/pipeline/pkg/queue"
)

// Program is cmd/console: the operator's console as a process of its own, for deployments where
// the ingest runs against an external NATS (and so has no store). It is the same code a
// standalone ingest serves on CONSOLE_ADDR. Its Close stops it (see Run).
type Program struct {
	app.Process
	Config Config

	log     *slog.Logger
	nc      *nats.Conn
	console *Running
}

// New returns a Program reading the process's environment.
func New() *Program {
	return &Program{Process: app.Process{Env: os.LookupEnv, Stdout: os.Stdout, Stderr: os.Stderr}}
}

// URL is the console's sign-in page, once Run has returned.
func (m *Program) URL() string { return m.console.URL() }

// Run connects to NATS (retrying in the background if it is not up yet: the leads are readable
// without it), opens the store and serves. Close stops the console first (requests in flight
// answered, its store closed), then the NATS connection its operations use.
func (m *Program) Run(ctx context.Context) error {
	c := m.Config
	m.log = m.NewLogger("console")
	g := &m.Group
	g.Add("NATS connection", func(context.Context) error {
		var err error
		m.nc, err = natsconn.Client{Name: "saleassist-console", Log: m.log, RetryConnect: true}.Connect(c.NatsURL)
		return err
	}, func(context.Context) error { natsconn.Close(m.nc); return nil })
	g.Add("console", func(ctx context.Context) error {
		var err error
		m.console, err = Start(ctx, m.nc, Options{Addr: c.Addr, DataDir: c.DataDir, Token: c.Token, DB: c.DB,
			Region: c.DefaultRegion, Zone: c.Zone, MaxBody: c.MaxBody, Queue: queue.DefaultConfig()}, m.log, g.Fail)
		return err
	}, func(ctx context.Context) error { return m.console.Stop(ctx) })
	if err := g.Start(ctx); err != nil {
		return err
	}
	_, _ = io.WriteString(m.Stdout, m.console.Banner(c.DataDir)+"\n")
	m.log.Info("started", "addr", m.console.http.Addr(), "nats", queue.RedactURL(c.NatsURL), "db", queue.RedactURL(c.DB))
	return nil
}
