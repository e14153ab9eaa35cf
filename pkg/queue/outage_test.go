package queue_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/internal/testkit"
	"github.com/saleassist-pipeline/pipeline/pkg/queue"
)

// A consumer whose JetStream goes away keeps pulling, quietly: however many pulls fail while it is
// gone (here a nats-server without JetStream answers on its address, as a node does while it
// restarts or a cluster has no leader, so every pull fails at once with "no responders"), its log
// holds one warning when the failures begin and one line when pulling works again (with how many
// failed), and it delivers what is published once JetStream is back. (While no server answers at
// all, a pull is buffered by the connection and simply expires: nothing is logged but the
// connection's own disconnect and reconnect.)
func TestConsumer_RunIsQuietWhileNATSIsDown(t *testing.T) {
	t.Parallel()
	nh := testkit.StartNATSHost(t)
	nc, js := nh.Connect()
	cfg := queue.DefaultConfig()
	cfg.MaxBytes = 64 << 20
	_, err := queue.EnsureStream(t.Context(), js, cfg)
	require.NoError(t, err)

	var logs testkit.SyncBuffer
	c, err := queue.NewConsumer(t.Context(), js, cfg, slog.New(slog.NewJSONHandler(&logs, nil)))
	require.NoError(t, err)
	queue.SetRetryPause(c, 5*time.Millisecond)
	r := newRecorder(t, 10)
	ctx, cancel := context.WithCancel(context.Background())
	done := runConsumer(ctx, c, 10, r)
	defer func() { cancel(); require.NoError(t, waitRun(t, done)) }()

	nh.Stop()
	host, port, err := net.SplitHostPort(nh.Addr())
	require.NoError(t, err)
	portN, err := strconv.Atoi(port)
	require.NoError(t, err)
	plain, err := server.NewServer(&server.Options{Host: host, Port: portN, NoLog: true, NoSigs: true})
	require.NoError(t, err)
	plain.Start()
	t.Cleanup(plain.Shutdown)
	require.True(t, plain.ReadyForConnections(10*time.Second))
	const many = 50
	require.Eventually(t, func() bool { return queue.PullFailures(c) >= many }, 30*time.Second, 5*time.Millisecond,
		"pulls failing while NATS is down")
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	require.Len(t, lines, 1, "one line for %d failed pulls, not one each:\n%s", queue.PullFailures(c), logs.String())
	require.Contains(t, lines[0], `"level":"WARN","msg":"pulling events failed; retrying until NATS answers"`)

	plain.Shutdown()
	plain.WaitForShutdown()
	nh.Start()
	p, err := queue.NewPublisher(nc, cfg, 10*time.Second)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return nc.Status() == nats.CONNECTED }, 30*time.Second, 5*time.Millisecond)
	_, err = p.Publish(t.Context(), newEvent(t, "widget_new_conversation", "after-outage", 0))
	require.NoError(t, err)
	require.Eventually(t, func() bool { r.mu.Lock(); defer r.mu.Unlock(); return r.seen["after-outage"] == 1 },
		30*time.Second, 5*time.Millisecond, "the event published after NATS came back is delivered")

	require.Eventually(t, func() bool { return strings.Count(logs.String(), "\n") >= 2 }, 10*time.Second, 5*time.Millisecond,
		"a line when pulling works again: %s", logs.String())
	lines = strings.Split(strings.TrimSpace(logs.String()), "\n")
	require.Len(t, lines, 2, logs.String())
	var back struct {
		Level, Msg string
		Failures   int64
	}
	require.NoError(t, json.Unmarshal([]byte(lines[1]), &back))
	require.Equal(t, "INFO", back.Level)
	require.Equal(t, "pulling events again", back.Msg)
	require.GreaterOrEqual(t, back.Failures, int64(many), fmt.Sprintf("the recovery line counts the failed pulls: %s", lines[1]))
}
