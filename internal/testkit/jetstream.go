package testkit

import (
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/pkg/queue"
	"github.com/saleassist-pipeline/pipeline/pkg/queue/embedded"
)

// JetStream is one test's own embedded JetStream server, a connection to it made the way the
// ingest makes it, and the configuration the test should use.
type JetStream struct {
	Server *embedded.Server
	Conn   *nats.Conn
	JS     jetstream.JetStream
	// Config is queue.DefaultConfig with a smaller MaxBytes; the stream is not created.
	Config queue.Config
	// Logger discards everything; it is the server's logger, for components the test builds.
	Logger *slog.Logger
}

// JetStreamOption varies what StartJetStream starts.
type JetStreamOption func(*jetStreamOptions)

type jetStreamOptions struct {
	listen   string
	connOpts []nats.Option
}

// WithListen makes the server also accept TCP connections on addr (host:port; port 0 picks a free
// one), for programs that attach by URL (Server.ClientURL).
func WithListen(addr string) JetStreamOption {
	return func(o *jetStreamOptions) { o.listen = addr }
}

// WithConnOptions adds options to Conn, after nats.ReconnectBufSize(-1).
func WithConnOptions(opts ...nats.Option) JetStreamOption {
	return func(o *jetStreamOptions) { o.connOpts = append(o.connOpts, opts...) }
}

// StartJetStream starts an in-process embedded nats-server with JetStream, its files in a
// temporary directory, and connects to it with nats.ReconnectBufSize(-1) (as the ingest does: a
// publish while disconnected fails at once instead of being buffered). The connection is closed
// and the server shut down when the test ends.
func StartJetStream(t testing.TB, opts ...JetStreamOption) *JetStream {
	t.Helper()
	var o jetStreamOptions
	for _, opt := range opts {
		opt(&o)
	}
	log := slog.New(slog.DiscardHandler)
	srv, err := embedded.Start(embedded.Options{DataDir: t.TempDir(), Listen: o.listen, Logger: log})
	require.NoError(t, err)
	t.Cleanup(srv.Shutdown)
	nc, err := srv.Connect(append([]nats.Option{nats.ReconnectBufSize(-1)}, o.connOpts...)...)
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	cfg := queue.DefaultConfig()
	// The default 1 GiB need not fit on the test machine's disk: JetStream refuses a stream whose
	// MaxBytes exceeds the space it can reserve.
	cfg.MaxBytes = 64 << 20
	return &JetStream{Server: srv, Conn: nc, JS: js, Config: cfg, Logger: log}
}

// NATSHost is an embedded JetStream server that a test stops and starts again on the same
// address and data directory: NATS restarting under clients that stay connected by URL.
type NATSHost struct {
	t    testing.TB
	addr string
	dir  string
	srv  *embedded.Server
}

// StartNATSHost starts one on a free loopback port; it is shut down when the test ends.
func StartNATSHost(t testing.TB) *NATSHost {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	h := &NATSHost{t: t, addr: l.Addr().String(), dir: t.TempDir()}
	require.NoError(t, l.Close())
	h.Start()
	t.Cleanup(func() {
		if h.srv != nil {
			h.srv.Shutdown()
		}
	})
	return h
}

// Addr is the host:port the server listens on, the same across restarts.
func (h *NATSHost) Addr() string { return h.addr }

// URL is what clients connect to; it stays the same across restarts.
func (h *NATSHost) URL() string { return "nats://" + h.addr }

// Stop shuts the server down: its clients see a disconnect.
func (h *NATSHost) Stop() {
	h.srv.Shutdown()
	h.srv = nil
}

// Start starts the server (again) on its address, with what it had stored.
func (h *NATSHost) Start() {
	h.t.Helper()
	srv, err := embedded.Start(embedded.Options{DataDir: h.dir, Listen: h.addr, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(h.t, err)
	require.True(h.t, srv.Listening(), "listening on %s", h.addr)
	h.srv = srv
}

// Connect returns a client that reconnects for ever, every 20 ms, and its JetStream; it is closed
// when the test ends.
func (h *NATSHost) Connect() (*nats.Conn, jetstream.JetStream) {
	h.t.Helper()
	nc, err := nats.Connect(h.URL(), nats.MaxReconnects(-1), nats.ReconnectWait(20*time.Millisecond))
	require.NoError(h.t, err)
	h.t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	require.NoError(h.t, err)
	return nc, js
}
