package ingest_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline"
	"github.com/saleassist-pipeline/pipeline/internal/testkit"
	"github.com/saleassist-pipeline/pipeline/pkg/ingest"
	"github.com/saleassist-pipeline/pipeline/pkg/queue"
)

// down is the real publisher while up is true, else JetStream unreachable.
type down struct {
	ingest.Publisher
	up *atomic.Bool
}

func (d down) Publish(ctx context.Context, ev *pipeline.Event) (queue.Ack, error) {
	if !d.up.Load() {
		return queue.Ack{}, errors.Join(queue.ErrUnavailable, errors.New("nats: no responders available for request"))
	}
	return d.Publisher.Publish(ctx, ev)
}

// Issue 21, item 2: an outage answered with 503s, and a scan of wrong secrets, log a line per
// state change, not one per request: 300 failed publishes give one warning and one line when
// publishing works again (with the count), and 300 refused requests one line per reason.
func TestRepeatedFailuresLogAFewLines(t *testing.T) {
	t.Parallel()
	var up atomic.Bool
	b := setup(t, withPublisher(func(p ingest.Publisher) ingest.Publisher { return down{p, &up} }))
	for i := range 300 {
		res := b.post(t, testkit.WithID(testkit.Fixture(t), "quiet-"+string(rune('a'+i%26))))
		requireError(t, res, http.StatusServiceUnavailable, "unavailable")
		require.NotEmpty(t, res.header.Get("Retry-After"))
	}
	up.Store(true)
	requireAccepted(t, b.post(t, testkit.WithID(testkit.Fixture(t), "quiet-back")))
	for range 150 {
		res := b.do(t, http.MethodPost, ingest.WebhookPath, strings.NewReader("{}"), ingest.DefaultSecretHeader, "wrong-secret-0123456789")
		require.Equal(t, http.StatusUnauthorized, res.status)
		res = b.do(t, http.MethodPost, ingest.WebhookPath, strings.NewReader("{}"))
		require.Equal(t, http.StatusUnauthorized, res.status)
	}

	logs := b.logs.String()
	require.Equal(t, 1, strings.Count(logs, `"msg":"publish failed, answering 503 with Retry-After"`), logs)
	require.Equal(t, 1, strings.Count(logs, `"msg":"publishing again, answering 202"`), logs)
	require.Contains(t, logs, `"failures":300`)
	require.Equal(t, 1, strings.Count(logs, `"msg":"request refused","reason":"mismatch"`), logs)
	require.Equal(t, 1, strings.Count(logs, `"msg":"request refused","reason":"missing"`), logs)
	require.Less(t, strings.Count(logs, "\n"), 10, "a few lines in all:\n%s", logs)
}
