package ingest_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/internal/testkit"
	"github.com/saleassist-pipeline/pipeline/pkg/ingest"
	"github.com/saleassist-pipeline/pipeline/pkg/queue"
)

func TestWebhookAcceptsFixture(t *testing.T) {
	t.Parallel()
	b := setup(t)
	body := testkit.Fixture(t)

	before := time.Now().UTC()
	res := b.post(t, body)
	after := time.Now().UTC()

	ab := requireAccepted(t, res)
	require.Equal(t, acceptedBody{Status: "accepted", EventID: testkit.FixtureID, Duplicate: false}, ab)
	require.Equal(t, uint64(1), b.msgs(t))

	subject := "saleassist.events.default.widget_new_conversation"
	msg, err := b.stream.GetLastMsgForSubject(t.Context(), subject)
	require.NoError(t, err)
	require.Equal(t, subject, msg.Subject)
	require.True(t, bytes.Equal(body, msg.Data), "the stored body must be the request body byte for byte")
	require.Equal(t, "widget_new_conversation", msg.Header.Get(queue.HeaderEventType))
	require.Equal(t, testkit.FixtureID, msg.Header.Get(queue.HeaderEventID))
	require.Equal(t, testkit.FixtureID, msg.Header.Get(jetstream.MsgIDHeader))
	got, err := time.Parse(time.RFC3339Nano, msg.Header.Get(queue.HeaderReceivedAt))
	require.NoError(t, err)
	require.False(t, got.Before(before.Truncate(time.Microsecond)) || got.After(after), "received at %s, not within [%s, %s]", got, before, after)
	require.Equal(t, 1.0, testkit.RequireMetric(t, b.reg, "saleassist_ingest_requests_total", map[string]string{"account": "default", "code": "202"}))
}

func TestWebhookDuplicates(t *testing.T) {
	t.Parallel()
	b := setup(t)
	body := testkit.Fixture(t)

	for i := range 3 {
		ab := requireAccepted(t, b.post(t, body))
		require.Equal(t, testkit.FixtureID, ab.EventID)
		require.Equal(t, i > 0, ab.Duplicate, "post #%d", i+1)
	}
	require.Equal(t, uint64(1), b.msgs(t))
	require.Equal(t, 2.0, testkit.RequireMetric(t, b.reg, "saleassist_ingest_duplicates_total", map[string]string{"account": "default"}))
	require.Equal(t, 3.0, testkit.RequireMetric(t, b.reg, "saleassist_ingest_requests_total", map[string]string{"account": "default", "code": "202"}))
}

func TestWebhookBodyTooLarge(t *testing.T) {
	t.Parallel()
	const limit = 1024
	body := testkit.Fixture(t)
	require.Greater(t, len(body), limit, "the fixture must exceed the limit for this test")

	t.Run("ContentLength", func(t *testing.T) {
		t.Parallel()
		b := setup(t, withMaxBody(limit))
		var seen requestShape
		hs := httptest.NewServer(seen.observe(b.srv))
		t.Cleanup(hs.Close)

		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, hs.URL+ingest.WebhookPath, bytes.NewReader(body))
		require.NoError(t, err)
		req.Header.Set(ingest.DefaultSecretHeader, testSecret)
		req.Header.Set("Content-Type", jsonUTF8)
		res := send(t, hs.Client(), req)

		require.Equal(t, int64(len(body)), seen.get().contentLength)
		requireError(t, res, http.StatusRequestEntityTooLarge, "too_large")
		require.Equal(t, uint64(0), b.msgs(t))
	})
	t.Run("Chunked", func(t *testing.T) {
		t.Parallel()
		b := setup(t, withMaxBody(limit))
		var seen requestShape
		hs := httptest.NewServer(seen.observe(b.srv))
		t.Cleanup(hs.Close)

		// A reader of unknown length makes the client send the body chunked, without a
		// Content-Length, so only reading can find the body too large.
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, hs.URL+ingest.WebhookPath,
			struct{ io.Reader }{bytes.NewReader(body)})
		require.NoError(t, err)
		req.Header.Set(ingest.DefaultSecretHeader, testSecret)
		req.Header.Set("Content-Type", jsonUTF8)
		res := send(t, hs.Client(), req)

		shape := seen.get()
		require.Equal(t, int64(-1), shape.contentLength)
		require.Equal(t, []string{"chunked"}, shape.transferEncoding)
		requireError(t, res, http.StatusRequestEntityTooLarge, "too_large")
		require.Equal(t, uint64(0), b.msgs(t))
	})
	t.Run("ChunkedWithinLimit", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		res := b.do(t, http.MethodPost, ingest.WebhookPath, struct{ io.Reader }{bytes.NewReader(body)},
			ingest.DefaultSecretHeader, testSecret, "Content-Type", jsonUTF8)
		requireAccepted(t, res)
		require.Equal(t, uint64(1), b.msgs(t))
	})
}

func TestWebhookRejectsBadBodies(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name    string
		body    string
		status  int
		code    string
		message []string
	}{
		{"Empty", "", http.StatusBadRequest, "invalid_body", []string{"empty"}},
		{"InvalidJSON", "{\n  \"event_type\": \"x\",\n  \"payload\": {\"id\": 1,}\n}", http.StatusBadRequest, "invalid_json", []string{"line 3", "column"}},
		{"Truncated", `{"event_type": "x", "payload": {`, http.StatusBadRequest, "invalid_json", []string{"line", "column"}},
		{"Array", `[{"event_type": "x", "payload": {}}]`, http.StatusUnprocessableEntity, "invalid_envelope", []string{"JSON object"}},
		{"MissingEventType", `{"payload": {"id": "a"}}`, http.StatusUnprocessableEntity, "invalid_envelope", []string{"event_type"}},
		{"EventTypeNotString", `{"event_type": 7, "payload": {"id": "a"}}`, http.StatusUnprocessableEntity, "invalid_envelope", []string{"event_type"}},
		{"PayloadString", `{"event_type": "widget_new_conversation", "payload": "hello"}`, http.StatusUnprocessableEntity, "invalid_envelope", []string{"payload"}},
		{"PayloadMissing", `{"event_type": "widget_new_conversation"}`, http.StatusUnprocessableEntity, "invalid_envelope", []string{"payload"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			msg := requireError(t, b.post(t, []byte(tt.body)), tt.status, tt.code)
			for _, want := range tt.message {
				require.Contains(t, msg, want)
			}
			require.Equal(t, uint64(0), b.msgs(t))
			require.Equal(t, 1.0, testkit.RequireMetric(t, b.reg, "saleassist_ingest_requests_total", map[string]string{"account": "default", "code": strconv.Itoa(tt.status)}))
		})
	}
}

// TestWebhookSeedSample posts the integration page's own sample, which lacks a comma after
// "widget_location_source": the answer must point the sender at that spot.
func TestWebhookSeedSample(t *testing.T) {
	t.Parallel()
	b := setup(t)
	body := testkit.SeedSample(t)

	// The decoder trips over the key that follows the missing comma.
	line := 0
	for i, l := range strings.Split(string(body), "\n") {
		if strings.Contains(l, `"id": "9d438aaa`) {
			require.Zero(t, line, "the sample must hold the id line once")
			line = i + 1
		}
	}
	require.NotZero(t, line)
	require.Contains(t, strings.Split(string(body), "\n")[line-2], `"widget_location_source"`)

	msg := requireError(t, b.post(t, body), http.StatusBadRequest, "invalid_json")
	require.Contains(t, msg, fmt.Sprintf("line %d,", line))
	require.Contains(t, msg, "column")
	require.Equal(t, uint64(0), b.msgs(t))
}

func TestWebhookContentType(t *testing.T) {
	t.Parallel()

	tests := []struct {
		contentType string
		accepted    bool
	}{
		{jsonUTF8, true},
		{"application/json", true},
		{"", true},
		{"application/vnd.saleassist+json", true},
		{"text/plain", false},
		{"application/x-www-form-urlencoded", false},
		{"application/json; charset", false}, // malformed parameters
	}
	for _, tt := range tests {
		t.Run(strconv.Quote(tt.contentType), func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			res := b.do(t, http.MethodPost, ingest.WebhookPath, bytes.NewReader(testkit.Fixture(t)),
				ingest.DefaultSecretHeader, testSecret, "Content-Type", tt.contentType)
			if tt.accepted {
				require.Equal(t, testkit.FixtureID, requireAccepted(t, res).EventID)
				require.Equal(t, uint64(1), b.msgs(t))
				return
			}
			msg := requireError(t, res, http.StatusUnsupportedMediaType, "unsupported_media_type")
			require.Contains(t, msg, "application/json")
			require.Equal(t, uint64(0), b.msgs(t))
		})
	}
}

// TestWebhookConcurrent sends waves of concurrent requests with bodies of different sizes and
// checks every answer and every stored body byte for byte: request bodies are read into reused
// buffers, so a buffer given back too early would show here as a body holding another's bytes.
func TestWebhookConcurrent(t *testing.T) {
	t.Parallel()
	b := setup(t)
	fix := testkit.Fixture(t)

	const waves, n = 3, 50
	sent := make(map[string][]byte, waves*n)
	for wave := range waves {
		bodies := make([][]byte, n)
		for i := range n {
			id := fmt.Sprintf("concurrent-%d-%02d", wave, i)
			// Sizes from a few hundred bytes to about twice the fixture: buffers get reused across
			// sizes.
			bodies[i] = testkit.WithID(fix, id)
			if i%3 == 1 {
				bodies[i] = []byte(`{"event_type":"widget_new_conversation","payload":{"id":"` + id + `"}}`)
			} else if i%3 == 2 {
				bodies[i] = bytes.Replace(bodies[i], []byte(`"payload":{`), []byte(`"payload":{"pad":"`+strings.Repeat("x", len(fix))+`",`), 1)
			}
			sent[id] = bodies[i]
		}
		answers := make([]response, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, b.http.URL+ingest.WebhookPath,
					bytes.NewReader(bodies[i]))
				if err != nil {
					errs[i] = err
					return
				}
				req.Header.Set(ingest.DefaultSecretHeader, testSecret)
				req.Header.Set("Content-Type", jsonUTF8)
				answers[i], errs[i] = roundTrip(b.client, req)
			})
		}
		close(start)
		wg.Wait()
		for i := range n {
			require.NoError(t, errs[i])
			ab := requireAccepted(t, answers[i])
			require.Equal(t, fmt.Sprintf("concurrent-%d-%02d", wave, i), ab.EventID)
			require.False(t, ab.Duplicate)
		}
	}

	require.Equal(t, uint64(waves*n), b.msgs(t))
	require.Equal(t, float64(waves*n), testkit.RequireMetric(t, b.reg, "saleassist_ingest_requests_total", map[string]string{"account": "default", "code": "202"}))
	for seq := uint64(1); seq <= waves*n; seq++ {
		msg, err := b.stream.GetMsg(t.Context(), seq)
		require.NoError(t, err)
		id := msg.Header.Get(queue.HeaderEventID)
		require.Contains(t, sent, id)
		require.True(t, bytes.Equal(sent[id], msg.Data), "stored body of %s is not the body sent", id)
	}
}

// requestShape records how the last request reached the server, to prove a test sent what it
// meant to (a Content-Length, or chunks).
type requestShape struct {
	mu   sync.Mutex
	last shape
}

type shape struct {
	contentLength    int64
	transferEncoding []string
}

func (s *requestShape) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.last = shape{contentLength: r.ContentLength, transferEncoding: r.TransferEncoding}
		s.mu.Unlock()
		next.ServeHTTP(w, r)
	})
}

func (s *requestShape) get() shape {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}

// send does req and reads the whole answer.
func send(t *testing.T, c *http.Client, req *http.Request) response {
	t.Helper()
	res, err := roundTrip(c, req)
	require.NoError(t, err)
	return res
}

// roundTrip does req and reads the whole answer; safe to call from any goroutine.
func roundTrip(c *http.Client, req *http.Request) (response, error) {
	res, err := c.Do(req)
	if err != nil {
		return response{}, err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return response{}, err
	}
	return response{status: res.StatusCode, header: res.Header, body: raw}, nil
}
