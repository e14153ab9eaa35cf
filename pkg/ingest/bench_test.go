package ingest_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/saleassist-pipeline/pipeline/internal/testkit"
	"github.com/saleassist-pipeline/pipeline/pkg/ingest"
	"github.com/saleassist-pipeline/pipeline/pkg/queue"
)

// BenchmarkWebhook posts the fixture, each time with a new payload.id, straight to the handler
// (no network) with the real publisher and a real embedded JetStream: the cost of authenticating,
// reading, decoding and storing one event.
func BenchmarkWebhook(b *testing.B) {
	tb := setup(b, withStreamMaxBytes(queue.DefaultMaxBytes))
	fix := testkit.Fixture(b)
	var seq atomic.Int64

	// Requests mostly wait for their PubAck, so run more of them than there are CPUs, as a
	// server under load would.
	b.SetParallelism(8)
	b.ReportAllocs()
	b.SetBytes(int64(len(fix)))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		// Each goroutine rewrites the id of its own copy in place; the id keeps the fixture's
		// length (36 bytes), so the body's size does not change.
		body := testkit.WithID(fix, "bench-"+pad(0))
		at := bytes.Index(body, []byte(`"bench-`)) + len(`"bench-`)
		for pb.Next() {
			copy(body[at:], pad(seq.Add(1)))
			req := httptest.NewRequest(http.MethodPost, ingest.WebhookPath, bytes.NewReader(body))
			req.Header.Set(ingest.DefaultSecretHeader, testSecret)
			req.Header.Set("Content-Type", jsonUTF8)
			w := httptest.NewRecorder()
			tb.srv.ServeHTTP(w, req)
			if w.Code != http.StatusAccepted {
				b.Errorf("status %d: %s", w.Code, w.Body)
				return
			}
		}
	})
}

// pad formats n as 30 decimal digits.
func pad(n int64) string {
	s := strconv.FormatInt(n, 10)
	return string(bytes.Repeat([]byte{'0'}, 30-len(s))) + s
}
