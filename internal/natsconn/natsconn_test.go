package natsconn_test

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/internal/natsconn"
	"github.com/saleassist-pipeline/pipeline/internal/testkit"
)

// A publisher never buffers while disconnected; a long-running program reconnects for ever; a
// command gives up connecting in seconds.
func TestOptionsByRole(t *testing.T) {
	t.Parallel()
	srv := testkit.StartJetStream(t, testkit.WithListen("127.0.0.1:0")).Server
	connect := func(c natsconn.Client) *nats.Conn {
		nc, err := c.Connect(srv.ClientURL())
		require.NoError(t, err)
		t.Cleanup(nc.Close)
		return nc
	}
	pub := connect(natsconn.Client{Name: "pub", Publisher: true})
	require.Equal(t, -1, pub.Opts.ReconnectBufSize)
	require.Equal(t, -1, pub.Opts.MaxReconnect)
	require.Equal(t, natsconn.ReconnectWait, pub.Opts.ReconnectWait)
	require.Equal(t, "pub", pub.Opts.Name)

	sub := connect(natsconn.Client{Name: "sub"})
	require.NotEqual(t, -1, sub.Opts.ReconnectBufSize, "only publishers refuse to buffer")
	require.Equal(t, -1, sub.Opts.MaxReconnect)

	cmd := connect(natsconn.Client{Name: "cmd", Command: true})
	require.Equal(t, natsconn.CommandTimeout, cmd.Opts.Timeout)
	require.Equal(t, nats.DefaultMaxReconnect, cmd.Opts.MaxReconnect)

	require.NoError(t, natsconn.Connected(pub))
	natsconn.Close(pub)
	require.EqualError(t, natsconn.Connected(pub), "NATS connection is CLOSED")
	natsconn.Close(nil)
}

// A failed connect names the URL without its password, and says what to check.
func TestConnectErrorIsRedactedWithHint(t *testing.T) {
	t.Parallel()
	_, err := natsconn.Client{Name: "x", Command: true, Hint: "is it running?"}.Connect("nats://user:s3cret@127.0.0.1:1")
	require.Error(t, err)
	require.NotContains(t, err.Error(), "s3cret")
	require.Contains(t, err.Error(), "connect to NATS at nats://user:xxxxx@127.0.0.1:1: ")
	require.Contains(t, err.Error(), "(is it running?)")
}

// A lost connection is logged as a warning; a Close we asked for is not.
func TestDisconnectLogging(t *testing.T) {
	t.Parallel()
	srv := testkit.StartJetStream(t, testkit.WithListen("127.0.0.1:0")).Server
	var closed, lost testkit.SyncBuffer
	nc, err := natsconn.Client{Name: "closed", Log: slog.New(slog.NewJSONHandler(&closed, nil))}.Connect(srv.ClientURL())
	require.NoError(t, err)
	other, err := natsconn.Client{Name: "lost", Log: slog.New(slog.NewJSONHandler(&lost, nil))}.Connect(srv.ClientURL())
	require.NoError(t, err)
	t.Cleanup(other.Close)

	natsconn.Close(nc)
	srv.Shutdown()
	require.Eventually(t, func() bool { return strings.Contains(lost.String(), `"msg":"disconnected from NATS"`) },
		5*time.Second, 10*time.Millisecond, lost.String())
	require.NotContains(t, closed.String(), "disconnected", "a Close we asked for is no warning")
}
