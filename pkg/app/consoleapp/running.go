package consoleapp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/saleassist-pipeline/pipeline/pkg/account"
	"github.com/saleassist-pipeline/pipeline/pkg/admin"
	"github.com/saleassist-pipeline/pipeline/pkg/app"
	"github.com/saleassist-pipeline/pipeline/pkg/console"
	"github.com/saleassist-pipeline/pipeline/pkg/queue"
	"github.com/saleassist-pipeline/pipeline/pkg/store"
	"github.com/saleassist-pipeline/pipeline/pkg/store/storeurl"
)

// DefaultAddr is where the console listens unless CONSOLE_ADDR says otherwise: loopback,
// and never the webhook port, so the console is not exposed where SaleAssist posts.
const DefaultAddr = "127.0.0.1:8081"

// Options is what Start needs; the standalone ingest and cmd/console fill it.
type Options struct {
	Addr    string
	DataDir string // where a generated admin token is kept
	Token   string // ADMIN_TOKEN, empty = generated
	DB      string // DATABASE_URL of the leads store
	Region  string
	// Zone is CONSOLE_TZ, read (ParseZone); nil is UTC.
	Zone    *time.Location
	MaxBody int64
	Queue   queue.Config
	// Accounts is the registry of a program that follows the accounts already (the standalone
	// ingest's); nil: the console follows the accounts bucket itself (consoleAccounts).
	Accounts *account.Registry
}

// Running is a console serving, with its own store handle.
type Running struct {
	http  *app.HTTPServer
	store store.Store
	// token is set when it was generated on this start, for the banner (shown once, never logged).
	token string
	// explicit says the token came from ADMIN_TOKEN.
	explicit bool
	// stopFollowing ends the console's own watch of the accounts bucket.
	stopFollowing context.CancelFunc
}

// ErrAddrInUse marks a console that could not listen because its address is taken.
var ErrAddrInUse = errors.New("address in use")

// ErrTokenFile marks a console that could not start because of the data directory's admin token
// file (console.ErrTokenFile): a fault of this host, not of the configuration given, so a
// standalone ingest keeps its webhook serving without the console.
var ErrTokenFile = console.ErrTokenFile

// TokenPath is where a generated admin token is kept under dataDir.
func TokenPath(dataDir string) string { return filepath.Join(dataDir, console.TokenFile) }

// Start opens the store and serves the console on c.Addr, its JetStream operations over
// nc (nil: none). The token checks (LoadToken) run first, so a console beyond loopback without a
// strong ADMIN_TOKEN never starts.
func Start(ctx context.Context, nc *nats.Conn, c Options, log *slog.Logger, fail func(error)) (*Running, error) {
	token, generated, err := console.LoadToken(c.DataDir, c.Token, c.Addr)
	if err != nil {
		return nil, err
	}
	st, err := storeurl.Open(ctx, c.DB, storeurl.Options{})
	if err != nil {
		return nil, err
	}
	browser, ok := st.(console.Store)
	if !ok {
		st.Close()
		return nil, fmt.Errorf("the store at %s has no console reads", queue.RedactURL(c.DB))
	}
	followCtx, stopFollowing := context.WithCancel(context.WithoutCancel(ctx))
	if c.Accounts == nil {
		c.Accounts = consoleAccounts(followCtx, nc, c.Queue, log)
	}
	cfg := console.Config{Token: token, Accounts: c.Accounts, Store: browser, DefaultRegion: c.Region, Zone: c.Zone, Log: log, Metrics: app.NewRegistry()}
	if nc != nil {
		if cfg.Ops, err = admin.NewOps(nc, c.Queue, c.MaxBody); err != nil {
			stopFollowing()
			st.Close()
			return nil, err
		}
	}
	srv, err := console.New(cfg)
	if err != nil {
		stopFollowing()
		st.Close()
		return nil, err
	}
	h, err := app.ListenHTTP(c.Addr, srv, fail)
	if err != nil {
		stopFollowing()
		st.Close()
		if errors.Is(err, syscall.EADDRINUSE) {
			err = fmt.Errorf("console: %w: %w", ErrAddrInUse, err)
		}
		return nil, err
	}
	r := &Running{http: h, store: st, explicit: c.Token != "", stopFollowing: stopFollowing}
	if generated {
		r.token = token
	}
	return r, nil
}

// URL is where the console is, with the sign-in page.
func (r *Running) URL() string {
	if r == nil {
		return ""
	}
	return "http://" + r.http.Addr() + "/signin"
}

// Stop answers requests in flight, then closes the store handle.
func (r *Running) Stop(ctx context.Context) error {
	if r == nil {
		return nil
	}
	defer r.stopFollowing()
	return errors.Join(r.http.Shutdown(ctx), r.store.Close())
}

// Banner is the console's lines of a start-up banner.
func (r *Running) Banner(dataDir string) string {
	if r == nil {
		return ""
	}
	file := TokenPath(dataDir)
	where := "the token in " + file
	switch {
	case r.explicit:
		where = "ADMIN_TOKEN"
	case r.token != "":
		where = r.token + "\n  (generated now and kept in " + file + "; shown only this once)"
	}
	return fmt.Sprintf("\nConsole (leads, dead letters, schema): %s\n  Admin token: %s\n", r.URL(), where)
}
