// Package natsconn is how every program connects to NATS: cmd/ingest, cmd/worker and cmd/console
// (pkg/app's ingestapp, workerapp and consoleapp) and ingestctl (package admin) describe their
// connection as a Client and get the same names, reconnect settings, disconnect logging and
// password-free error messages. It also holds the readiness check they share (Connected), the
// flush-then-close every program does last (Close), and the name of the file in which a
// standalone ingest tells ingestctl where its embedded server listens (URLFile).
package natsconn

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/saleassist-pipeline/pipeline/internal/redact"
)

// URLFile is where a standalone ingest writes the URL of its embedded NATS server, under its
// data directory, so that ingestctl finds it without being told.
const URLFile = "nats-url"

// ReconnectWait is how long a long-running program waits between reconnect attempts; it
// reconnects for ever (a NATS restart or a cluster's leader change is routine, not fatal).
const ReconnectWait = 500 * time.Millisecond

// CommandTimeout bounds a one-shot command's connect: an operator waits seconds, not minutes.
const CommandTimeout = 5 * time.Second

// Client describes one program's NATS connection.
type Client struct {
	// Name identifies the connection to the server (nats-server's connz, its logs).
	Name string
	// Log receives disconnects and reconnects; nil logs nothing.
	Log *slog.Logger
	// Publisher marks a connection that publishes events: it never buffers while disconnected
	// (nats.ReconnectBufSize(-1)), so a publish during a disconnect fails at once (503) instead
	// of being stored later although the sender was told it failed (a ghost publish).
	Publisher bool
	// Command marks a one-shot command (ingestctl): it gives up connecting after CommandTimeout
	// and keeps nats.go's bounded reconnects, instead of reconnecting for ever.
	Command bool
	// RetryConnect keeps trying in the background when the server is not up at start, for a
	// program that is of use, or must stay up, before NATS is: the console reads leads from the
	// store; an ingest started before its cluster answers 503 until it can publish. Connect then
	// fails only for a malformed URL; the connection is closed later (nats.go gives up) only when
	// the server refuses the credentials twice.
	RetryConnect bool
	// Hint ends a connect error, saying what to check (in parentheses).
	Hint string
}

// FlusherTimeout bounds a write to the server; PingInterval is how often the client asks whether
// the server is still there (two unanswered pings end the connection, which then reconnects).
const (
	FlusherTimeout = 5 * time.Second
	PingInterval   = 10 * time.Second
)

// Options are the connection options c describes; pass them to nats.Connect or to
// embedded.Server.Connect.
func (c Client) Options() []nats.Option {
	opts := []nats.Option{nats.Name(c.Name)}
	if c.Command {
		opts = append(opts, nats.Timeout(CommandTimeout))
	} else {
		opts = append(opts, nats.MaxReconnects(-1), nats.ReconnectWait(ReconnectWait),
			// A link gone silent (a host cut off: drills 13 and 14) is noticed within seconds, not
			// minutes: a write blocked on it fails after FlusherTimeout (nats.go's default, a
			// minute, held the connection's lock and with it every publish past PUBLISH_TIMEOUT),
			// and a server that stops answering pings is left after PingInterval × 2.
			nats.FlusherTimeout(FlusherTimeout), nats.PingInterval(PingInterval), nats.MaxPingsOutstanding(2))
	}
	if c.Publisher {
		opts = append(opts, nats.ReconnectBufSize(-1))
	}
	if c.RetryConnect {
		opts = append(opts, nats.RetryOnFailedConnect(true))
	}
	if log := c.Log; log != nil {
		opts = append(opts,
			// A disconnect we asked for (Close) has no error and is not worth a warning.
			nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
				if err != nil {
					log.Warn("disconnected from NATS", "err", err)
				}
			}),
			nats.ReconnectHandler(func(nc *nats.Conn) {
				log.Info("reconnected to NATS", "url", redact.URL(nc.ConnectedUrl()))
			}))
		if c.RetryConnect {
			opts = append(opts, nats.ConnectHandler(func(nc *nats.Conn) {
				log.Info("connected to NATS", "url", redact.URL(nc.ConnectedUrl()))
			}))
		}
	}
	return opts
}

// Connect connects to url (a comma-separated list) with c's options. The error names the URL
// with its password masked, and c's hint.
func (c Client) Connect(url string) (*nats.Conn, error) {
	nc, err := nats.Connect(url, c.Options()...)
	if err != nil {
		return nil, c.ConnectError(url, err)
	}
	if c.RetryConnect && c.Log != nil && nc.Status() != nats.CONNECTED {
		c.Log.Warn("NATS not reachable yet; connecting in the background, for as long as it takes", "url", redact.URL(url))
	}
	return nc, nil
}

// ConnectError is the error of a connection to url that failed with err: the URL with its
// password masked, and c's hint.
func (c Client) ConnectError(url string, err error) error {
	if c.Hint != "" {
		return fmt.Errorf("connect to NATS at %s: %w (%s)", redact.URL(url), err, c.Hint)
	}
	return fmt.Errorf("connect to NATS at %s: %w", redact.URL(url), err)
}

// Connected is the readiness check of a program that needs NATS: nil when nc is connected, else
// an error saying its state (RECONNECTING, CLOSED, …).
func Connected(nc *nats.Conn) error {
	if st := nc.Status(); st != nats.CONNECTED {
		return fmt.Errorf("NATS connection is %s", st)
	}
	return nil
}

// Close flushes what is buffered (acks, publishes) to the server, then closes nc; nil is a no-op.
func Close(nc *nats.Conn) {
	if nc == nil {
		return
	}
	_ = nc.FlushTimeout(2 * time.Second)
	nc.Close()
}
