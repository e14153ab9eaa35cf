package embedded_test

import (
	"log/slog"
	"net"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline"
	"github.com/saleassist-pipeline/pipeline/internal/testkit"
	"github.com/saleassist-pipeline/pipeline/pkg/queue"
	"github.com/saleassist-pipeline/pipeline/pkg/queue/embedded"
)

func startEmbedded(t *testing.T, o embedded.Options) *embedded.Server {
	t.Helper()
	if o.DataDir == "" {
		o.DataDir = t.TempDir()
	}
	o.Logger = slog.New(slog.DiscardHandler)
	e, err := embedded.Start(o)
	require.NoError(t, err)
	t.Cleanup(e.Shutdown)
	return e
}

// requireJetStream checks that nc reaches a JetStream-enabled server.
func requireJetStream(t *testing.T, nc *nats.Conn) {
	t.Helper()
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	_, err = js.AccountInfo(t.Context())
	require.NoError(t, err)
}

func TestStartEmbedded_InProcessOnly(t *testing.T) {
	t.Parallel()
	e := startEmbedded(t, embedded.Options{})
	require.False(t, e.Listening())
	require.Empty(t, e.ClientURL())

	nc, err := e.Connect()
	require.NoError(t, err)
	defer nc.Close()
	requireJetStream(t, nc)
}

func TestStartEmbedded_ListensOnFreePort(t *testing.T) {
	t.Parallel()
	e := startEmbedded(t, embedded.Options{Listen: "127.0.0.1:0"})
	require.True(t, e.Listening())
	url := e.ClientURL()
	require.NotEmpty(t, url)
	require.NotContains(t, url, ":4222", "port 0 must pick a free port, not the default")

	// Another process (here: a plain TCP client) attaches.
	nc, err := nats.Connect(url)
	require.NoError(t, err)
	defer nc.Close()
	requireJetStream(t, nc)
	host, _, err := net.SplitHostPort(nc.ConnectedAddr())
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1", host)
}

func TestStartEmbedded_AddressTaken(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()

	// Issue 23, item 1: with the address taken (another NATS server on 4222), the embedded server
	// used to run in-process only, no URL was recorded, and ingestctl reported on the other server.
	// It now listens on a free port of the same host, and says where.
	e := startEmbedded(t, embedded.Options{Listen: l.Addr().String()})
	require.True(t, e.Listening(), "the address is taken: another port of the same host")
	url := e.ClientURL()
	require.NotEmpty(t, url)
	require.NotContains(t, url, l.Addr().String())
	require.Contains(t, url, "127.0.0.1:")

	nc, err := nats.Connect(url)
	require.NoError(t, err)
	defer nc.Close()
	requireJetStream(t, nc)
}

func TestStartEmbedded_BadListen(t *testing.T) {
	t.Parallel()
	for _, addr := range []string{"nonsense", "127.0.0.1:http-ish", "127.0.0.1:70000", "127.0.0.1:-1"} {
		_, err := embedded.Start(embedded.Options{
			DataDir: t.TempDir(),
			Listen:  addr,
			Logger:  slog.New(slog.DiscardHandler),
		})
		require.Error(t, err, "Listen %q", addr)
		require.ErrorContains(t, err, addr)
	}
}

func TestStartEmbedded_RestartKeepsMessages(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	log := slog.New(slog.DiscardHandler)
	cfg := queue.DefaultConfig()
	cfg.MaxBytes = 64 << 20

	first, err := embedded.Start(embedded.Options{DataDir: dir, Logger: log})
	require.NoError(t, err)
	nc, err := first.Connect(nats.ReconnectBufSize(-1))
	require.NoError(t, err)
	p, err := queue.NewPublisher(nc, cfg, 0)
	require.NoError(t, err)
	_, err = queue.EnsureStream(t.Context(), p.JetStream(), cfg)
	require.NoError(t, err)
	want := testkit.FixtureEvent(t, "kept-0")
	for _, ev := range []*pipeline.Event{want, testkit.FixtureEvent(t, "kept-1"), testkit.FixtureEvent(t, "kept-2")} {
		_, err := p.Publish(t.Context(), ev)
		require.NoError(t, err)
	}
	nc.Close()
	first.Shutdown()

	second := startEmbedded(t, embedded.Options{DataDir: dir})
	nc2, err := second.Connect()
	require.NoError(t, err)
	defer nc2.Close()
	js, err := jetstream.New(nc2)
	require.NoError(t, err)
	s, err := js.Stream(t.Context(), cfg.Stream)
	require.NoError(t, err)
	info, err := s.Info(t.Context())
	require.NoError(t, err)
	require.Equal(t, uint64(3), info.State.Msgs)
	m, err := s.GetMsg(t.Context(), 1)
	require.NoError(t, err)
	require.Equal(t, want.Body, m.Data)
	require.Equal(t, "kept-0", m.Header.Get(queue.HeaderEventID))
}
