package queue_test

import (
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline"
	"github.com/saleassist-pipeline/pipeline/internal/testkit"
	"github.com/saleassist-pipeline/pipeline/pkg/queue"
	"github.com/saleassist-pipeline/pipeline/pkg/queue/embedded"
)

// testBundle is one test's own embedded JetStream server (in-process, nothing listens), a
// connection to it made the way the ingest makes it, and the configuration the test uses.
type testBundle struct {
	srv *embedded.Server
	nc  *nats.Conn
	js  jetstream.JetStream
	cfg queue.Config
	log *slog.Logger
}

func setup(t *testing.T) *testBundle {
	t.Helper()
	k := testkit.StartJetStream(t)
	return &testBundle{srv: k.Server, nc: k.Conn, js: k.JS, cfg: k.Config, log: k.Logger}
}

// publisher ensures the stream for cfg and returns a Publisher on the bundle's connection.
func (b *testBundle) publisher(t *testing.T, cfg queue.Config, timeout time.Duration) *queue.Publisher {
	t.Helper()
	_, err := queue.EnsureStream(t.Context(), b.js, cfg)
	require.NoError(t, err)
	p, err := queue.NewPublisher(b.nc, cfg, timeout)
	require.NoError(t, err)
	return p
}

// newEvent returns an event whose body is a well-formed envelope carrying id, padded with filler
// bytes when pad > 0.
func newEvent(t testing.TB, typ, id string, pad int) *pipeline.Event {
	t.Helper()
	payload := map[string]any{"id": id, "people_detail": map[string]any{"name": "Test " + id}}
	if pad > 0 {
		payload["filler"] = strings.Repeat("x", pad)
	}
	body, err := json.Marshal(map[string]any{"event_type": typ, "payload": payload, "metadata": map[string]any{}})
	require.NoError(t, err)
	return testkit.EventAt(id, typ, body, time.Date(2024, 7, 11, 16, 2, 38, 123456789, time.FixedZone("IST", 19800)))
}
