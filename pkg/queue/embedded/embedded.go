// Package embedded runs the NATS server with JetStream inside the standalone ingest's process.
// It is its own package so that only the programs that embed a server link nats-server: the
// worker, the console and ingestctl reach NATS as clients (pkg/queue) and never carry it.
package embedded

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// Options configures the NATS server standalone mode runs inside the ingest process.
type Options struct {
	// DataDir holds JetStream's files (under DataDir/jetstream).
	DataDir string
	// Listen is where extra worker processes attach (host:port; port 0 picks a free one). Empty
	// means in-process only. When the address is taken (another NATS server on 4222, say), the
	// server listens on a free port of the same host instead, and ClientURL says which: the ingest
	// records it for ingestctl, so nothing ever talks to the other server by mistake.
	Listen string
	// SyncInterval is how often JetStream fsyncs its files; 0 keeps the server's default (2
	// minutes). SyncAlways fsyncs every write, at a large cost in throughput.
	SyncInterval time.Duration
	SyncAlways   bool
	// MaxPayload is the largest message the server accepts; 0 keeps the server's default (1 MiB).
	// It must exceed the ingest's body limit plus room for headers.
	MaxPayload int32
	// Logger receives the server's notices, warnings and errors.
	Logger *slog.Logger
}

// Server is a running embedded NATS server with JetStream.
type Server struct {
	srv       *server.Server
	listening bool
}

// Start starts a JetStream-enabled NATS server in this process and waits until it accepts
// connections.
func Start(o Options) (*Server, error) {
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	opts := &server.Options{
		ServerName:   "saleassist-standalone",
		JetStream:    true,
		StoreDir:     filepath.Join(o.DataDir, "jetstream"),
		SyncInterval: o.SyncInterval,
		SyncAlways:   o.SyncAlways,
		NoSigs:       true,
		DontListen:   true,
		MaxPayload:   o.MaxPayload,
	}
	if o.Listen != "" {
		host, port, err := splitListen(o.Listen)
		if err != nil {
			return nil, err
		}
		opts.Host, opts.Port, opts.DontListen = host, port, false
		if !free(host, port) {
			opts.Port = server.RANDOM_PORT
			log.Warn("embedded NATS address is taken (another NATS server?); listening on a free port of the same host instead, recorded in DATA_DIR/nats-url for ingestctl and extra workers",
				"addr", o.Listen, "fix", "set EMBEDDED_NATS_ADDR to a free address, or empty for in-process only")
		}
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("embedded nats: %w", err)
	}
	srv.SetLoggerV2(slogAdapter{log.With("component", "nats-server")}, false, false, false)
	srv.Start()
	if !srv.ReadyForConnections(30 * time.Second) {
		srv.Shutdown()
		return nil, errors.New("embedded nats: not ready for connections within 30s (see the nats-server log lines above)")
	}
	return &Server{srv: srv, listening: !opts.DontListen}, nil
}

// Listening reports whether the server accepts TCP connections from other processes.
func (e *Server) Listening() bool { return e.listening }

// ClientURL is the URL other processes connect to; empty when the server is in-process only.
func (e *Server) ClientURL() string {
	if !e.listening {
		return ""
	}
	return e.srv.ClientURL()
}

// Connect opens an in-process connection (no TCP) to the server.
func (e *Server) Connect(opts ...nats.Option) (*nats.Conn, error) {
	opts = append([]nats.Option{nats.InProcessServer(e.srv)}, opts...)
	nc, err := nats.Connect("", opts...)
	if err != nil {
		return nil, fmt.Errorf("connect to embedded nats: %w", err)
	}
	return nc, nil
}

// Shutdown stops the server, flushing JetStream's files, and waits until it is down.
func (e *Server) Shutdown() {
	e.srv.Shutdown()
	e.srv.WaitForShutdown()
}

// splitListen parses host:port; port 0 means any free port (the server's -1).
func splitListen(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("embedded NATS address %q: %w (want host:port, e.g. 127.0.0.1:4222)", addr, err)
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("embedded NATS address %q: port must be a number from 0 to 65535", addr)
	}
	if port == 0 {
		port = server.RANDOM_PORT
	}
	if host == "" {
		host = "0.0.0.0"
	}
	return host, port, nil
}

// free reports whether host:port can be listened on. The server itself would exit the process on
// a taken port, so we look first.
func free(host string, port int) bool {
	if port == server.RANDOM_PORT {
		return true
	}
	l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return false
	}
	_ = l.Close()
	return true
}

// slogAdapter routes nats-server's log lines to slog.
type slogAdapter struct{ l *slog.Logger }

func (a slogAdapter) Noticef(f string, v ...any) { a.l.Debug(fmt.Sprintf(f, v...)) }
func (a slogAdapter) Warnf(f string, v ...any)   { a.l.Warn(fmt.Sprintf(f, v...)) }
func (a slogAdapter) Fatalf(f string, v ...any)  { a.l.Error(fmt.Sprintf(f, v...)) }
func (a slogAdapter) Errorf(f string, v ...any)  { a.l.Error(fmt.Sprintf(f, v...)) }
func (a slogAdapter) Debugf(f string, v ...any)  { a.l.Debug(fmt.Sprintf(f, v...)) }
func (a slogAdapter) Tracef(f string, v ...any)  { a.l.Debug(fmt.Sprintf(f, v...)) }
