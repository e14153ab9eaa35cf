package ingest_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline"
	"github.com/saleassist-pipeline/pipeline/internal/testkit"
	"github.com/saleassist-pipeline/pipeline/pkg/ingest"
	"github.com/saleassist-pipeline/pipeline/pkg/queue"
)

func TestRoutes(t *testing.T) {
	t.Parallel()
	b := setup(t)

	t.Run("GetWebhook", func(t *testing.T) {
		t.Parallel()
		res := b.do(t, http.MethodGet, ingest.WebhookPath, nil, ingest.DefaultSecretHeader, testSecret)
		msg := requireError(t, res, http.StatusMethodNotAllowed, "method_not_allowed")
		require.Equal(t, http.MethodPost, res.header.Get("Allow"))
		require.Contains(t, msg, "POST")
	})
	t.Run("UnknownPath", func(t *testing.T) {
		t.Parallel()
		res := b.do(t, http.MethodPost, "/webhooks/other", bytes.NewReader(testkit.Fixture(t)),
			ingest.DefaultSecretHeader, testSecret, "Content-Type", jsonUTF8)
		msg := requireError(t, res, http.StatusNotFound, "not_found")
		require.Contains(t, msg, ingest.WebhookPath)
	})
	t.Run("PostHealthz", func(t *testing.T) {
		t.Parallel()
		res := b.do(t, http.MethodPost, ingest.HealthPath, strings.NewReader("{}"))
		requireError(t, res, http.StatusMethodNotAllowed, "method_not_allowed")
		require.Contains(t, res.header.Get("Allow"), http.MethodGet)
	})
	t.Run("AllowIsHonest", func(t *testing.T) {
		t.Parallel()
		// Every method a 405 names in Allow must in fact be served.
		for _, path := range []string{ingest.HealthPath, ingest.ReadyPath, ingest.MetricsPath} {
			res := b.do(t, http.MethodDelete, path, nil)
			requireError(t, res, http.StatusMethodNotAllowed, "method_not_allowed")
			allow := res.header.Get("Allow")
			require.NotEmpty(t, allow, path)
			for _, m := range strings.Split(allow, ",") {
				got := b.do(t, strings.TrimSpace(m), path, nil)
				require.Equal(t, http.StatusOK, got.status, "%s %s (Allow: %s)", m, path, allow)
			}
		}
	})
	t.Run("Healthz", func(t *testing.T) {
		t.Parallel()
		res := b.do(t, http.MethodGet, ingest.HealthPath, nil)
		require.Equal(t, http.StatusOK, res.status)
		require.JSONEq(t, `{"status":"ok"}`, string(res.body))
	})
	t.Run("Readyz", func(t *testing.T) {
		t.Parallel()
		res := b.do(t, http.MethodGet, ingest.ReadyPath, nil)
		require.Equal(t, http.StatusOK, res.status, "body: %s", res.body)
		require.JSONEq(t, `{"status":"ready"}`, string(res.body))
	})
}

// TestUnavailable stops JetStream under a running ingest: readiness must fail and webhooks must be
// refused quickly with 503 and Retry-After, never accepted.
func TestUnavailable(t *testing.T) {
	t.Parallel()
	b := setup(t, withPublishTimeout(300*time.Millisecond))
	fix := testkit.Fixture(t)
	// Before the shutdown the event is accepted; on a loaded machine (the race detector, other
	// tests) the 300 ms publish timeout may pass first, and the answer is then 503: the sender
	// retries the same body, as the contract says, until it is accepted.
	res := b.post(t, testkit.WithID(fix, "before-shutdown"))
	for deadline := time.Now().Add(10 * time.Second); res.status == http.StatusServiceUnavailable && time.Now().Before(deadline); {
		res = b.post(t, testkit.WithID(fix, "before-shutdown"))
	}
	requireAccepted(t, res)

	b.embedded.Shutdown()

	// Right after the shutdown, whether or not the client has noticed yet.
	start := time.Now()
	res = b.post(t, testkit.WithID(fix, "right-after-shutdown"))
	require.Less(t, time.Since(start), 3*time.Second)
	requireError(t, res, http.StatusServiceUnavailable, "unavailable")
	require.NotEmpty(t, res.header.Get("Retry-After"))

	select {
	case <-b.disconnected:
	case <-time.After(10 * time.Second):
		require.FailNow(t, "the NATS connection did not notice the shutdown")
	}

	res = b.do(t, http.MethodGet, ingest.ReadyPath, nil)
	requireError(t, res, http.StatusServiceUnavailable, "unavailable")

	for i := range 3 {
		start := time.Now()
		res := b.post(t, testkit.WithID(fix, fmt.Sprintf("after-disconnect-%d", i)))
		require.Less(t, time.Since(start), 3*time.Second)
		msg := requireError(t, res, http.StatusServiceUnavailable, "unavailable")
		require.Contains(t, msg, "retry")
		require.NotEmpty(t, res.header.Get("Retry-After"))
	}
	require.Equal(t, 4.0, testkit.RequireMetric(t, b.reg, "saleassist_ingest_requests_total", map[string]string{"account": "default", "code": "503"}))
	require.Equal(t, 1.0, testkit.RequireMetric(t, b.reg, "saleassist_ingest_requests_total", map[string]string{"account": "default", "code": "202"}))

	// Still alive, though not ready.
	res = b.do(t, http.MethodGet, ingest.HealthPath, nil)
	require.Equal(t, http.StatusOK, res.status)
}

func TestMetricsEndpoint(t *testing.T) {
	t.Parallel()
	b := setup(t)
	fix := testkit.Fixture(t)

	requireAccepted(t, b.post(t, fix))
	requireAccepted(t, b.post(t, fix))
	requireError(t, b.post(t, []byte("[")), http.StatusBadRequest, "invalid_json")
	requireError(t, b.do(t, http.MethodPost, ingest.WebhookPath, bytes.NewReader(fix)), http.StatusUnauthorized, "unauthorized")

	res := b.do(t, http.MethodGet, ingest.MetricsPath, nil)
	require.Equal(t, http.StatusOK, res.status)
	text := string(res.body)
	for _, line := range []string{
		`saleassist_ingest_requests_total{account="default",code="202"} 2`,
		`saleassist_ingest_requests_total{account="default",code="400"} 1`,
		`saleassist_ingest_requests_total{account="default",code="401"} 1`,
		`saleassist_ingest_requests_total{account="default",code="503"} 0`,
		`saleassist_ingest_duplicates_total{account="default"} 1`,
		`saleassist_ingest_auth_failures_total{account="default",reason="missing"} 1`,
		`saleassist_ingest_request_duration_seconds_count{account="default"} 4`,
		`saleassist_ingest_publish_duration_seconds_count{account="default"} 2`,
		`saleassist_ingest_panics_total 0`,
	} {
		require.Contains(t, strings.Split(text, "\n"), line, "metrics:\n%s", text)
	}
}

// panicOnce panics on its first Publish and then hands events to the real publisher: the one fake
// in these tests, since nothing real panics on demand.
type panicOnce struct {
	next  ingest.Publisher
	calls atomic.Int32
}

func (p *panicOnce) Publish(ctx context.Context, ev *pipeline.Event) (queue.Ack, error) {
	if p.calls.Add(1) == 1 {
		panic("publisher exploded")
	}
	return p.next.Publish(ctx, ev)
}

func (p *panicOnce) Quarantine(ctx context.Context, r *queue.Rejected) (uint64, error) {
	return p.next.Quarantine(ctx, r)
}

func TestWebhookPanic(t *testing.T) {
	t.Parallel()
	var p *panicOnce
	b := setup(t, withPublisher(func(real ingest.Publisher) ingest.Publisher {
		p = &panicOnce{next: real}
		return p
	}))
	fix := testkit.Fixture(t)

	res := b.post(t, testkit.WithID(fix, "panics"))
	msg := requireError(t, res, http.StatusInternalServerError, "internal")
	require.Contains(t, msg, "retry")
	require.Equal(t, 1.0, testkit.RequireMetric(t, b.reg, "saleassist_ingest_panics_total", nil))
	require.Equal(t, 1.0, testkit.RequireMetric(t, b.reg, "saleassist_ingest_requests_total", map[string]string{"account": "default", "code": "500"}))
	require.Contains(t, b.logs.String(), "publisher exploded", "the panic must be logged")
	require.Equal(t, uint64(0), b.msgs(t))

	// The server keeps serving.
	ab := requireAccepted(t, b.post(t, testkit.WithID(fix, "after-panic")))
	require.Equal(t, "after-panic", ab.EventID)
	require.Equal(t, int32(2), p.calls.Load())
	require.Equal(t, uint64(1), b.msgs(t))
	require.Equal(t, 1.0, testkit.RequireMetric(t, b.reg, "saleassist_ingest_panics_total", nil))
}
