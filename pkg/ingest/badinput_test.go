package ingest_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/internal/testkit"
	"github.com/saleassist-pipeline/pipeline/pkg/ingest"
	"github.com/saleassist-pipeline/pipeline/pkg/queue"
)

// Shared by the bad-input, auth and gzip tests.
const (
	testSigHeader = "X-Saleassist-Signature"
	testSigKey    = "signing-key-for-tests-0123456789"
	testSigKey2   = "rotated-signing-key-9876543210fedcba"
	// testClient is where the default bad-input requests say they come from, through the trusted
	// proxy httptest's 127.0.0.1 plays.
	testClient = "203.0.113.10"
	// kept values that must never reach the quarantine stream.
	testBearer = "Bearer token-that-must-not-be-kept"
	testCookie = "session=cookie-that-must-not-be-kept"
)

// quarantineReasons are the codes an authenticated, unacceptable request is kept under.
var quarantineReasons = []string{"invalid_json", "invalid_envelope", "invalid_gzip", "unsupported_media_type"}

// envelope is a well-formed envelope around a payload string of n bytes.
func envelopeOfSize(n int) []byte {
	head := `{"event_type": "widget_new_conversation", "payload": {"id": "big", "pad": "`
	tail := `"}}`
	return []byte(head + strings.Repeat("a", max(n-len(head)-len(tail), 0)) + tail)
}

// TestBadInputClasses sends every class of bad input we know of to an ingest with every check
// configured (shared secret, HMAC signature, source allowlist behind a trusted proxy) and checks
// what each gets: the status, the error code, a message that says how to fix it, and whether the
// body was kept in quarantine (raw, with its safe headers only) or, unauthenticated or too large,
// not kept at all. Nothing is ever published as an event.
func TestBadInputClasses(t *testing.T) {
	t.Parallel()
	const limit = 64 << 10
	fix := testkit.Fixture(t)
	seed := testkit.SeedSample(t)
	gzFix := testkit.Gzip(t, fix)
	badCRC := bytes.Clone(gzFix)
	badCRC[len(badCRC)-8] ^= 0xff // the trailer's CRC-32
	bomb := testkit.Gzip(t, envelopeOfSize(16*limit))
	require.Less(t, len(bomb), limit/10, "the bomb must be small compressed")
	over := envelopeOfSize(limit + 1)
	require.Len(t, over, limit+1)

	tests := []struct {
		name string
		body []byte
		// header sets (or, with "", removes) request headers over the defaults: the secret, a
		// valid signature of body, Content-Type JSON, Authorization, Cookie, and CF-Connecting-IP
		// testClient.
		header  map[string]string
		chunked bool

		status int
		code   string
		hint   string // what the message must name: a field, header, setting or position
		kept   bool
		// authReason is the saleassist_ingest_auth_failures_total reason a refusal counts under.
		authReason string
	}{
		// Not JSON.
		{name: "SeedSample", body: seed, status: 400, code: "invalid_json", hint: "line 143,", kept: true},
		{name: "TruncatedJSON", body: fix[:len(fix)/2], status: 400, code: "invalid_json", hint: "column", kept: true},
		{name: "TrailingGarbage", body: append(bytes.Clone(fix), "garbage"...), status: 400, code: "invalid_json", hint: "line", kept: true},
		{name: "TwoDocuments", body: []byte(`{"event_type":"a","payload":{}} {"event_type":"b","payload":{}}`), status: 400, code: "invalid_json", hint: "column", kept: true},
		{name: "EmptyBody", body: nil, status: 400, code: "invalid_body", hint: "event_type", kept: false},
		{name: "WhitespaceOnly", body: []byte(" \n\t\r\n "), status: 400, code: "invalid_json", hint: "empty", kept: true},
		{name: "SingleQuotes", body: []byte(`{'event_type': 'x', 'payload': {}}`), status: 400, code: "invalid_json", hint: "line 1, column", kept: true},
		// JSON, but not an envelope.
		{name: "TopLevelArray", body: []byte(`[{"event_type": "x", "payload": {}}]`), status: 422, code: "invalid_envelope", hint: "JSON object", kept: true},
		{name: "TopLevelString", body: []byte(`"widget_new_conversation"`), status: 422, code: "invalid_envelope", hint: "JSON object", kept: true},
		{name: "TopLevelNumber", body: []byte(`42`), status: 422, code: "invalid_envelope", hint: "JSON object", kept: true},
		{name: "TopLevelNull", body: []byte(`null`), status: 422, code: "invalid_envelope", hint: "event_type", kept: true},
		{name: "EventTypeMissing", body: []byte(`{"payload": {"id": "a"}}`), status: 422, code: "invalid_envelope", hint: "event_type", kept: true},
		{name: "EventTypeNumber", body: []byte(`{"event_type": 7, "payload": {"id": "a"}}`), status: 422, code: "invalid_envelope", hint: "event_type", kept: true},
		{name: "EventTypeEmpty", body: []byte(`{"event_type": "", "payload": {"id": "a"}}`), status: 422, code: "invalid_envelope", hint: "event_type", kept: true},
		{name: "EventType129Chars", body: []byte(`{"event_type": "` + strings.Repeat("e", 129) + `", "payload": {"id": "a"}}`), status: 422, code: "invalid_envelope", hint: "event_type", kept: true},
		{name: "EventTypeNewline", body: []byte(`{"event_type": "widget\nnew", "payload": {"id": "a"}}`), status: 422, code: "invalid_envelope", hint: "event_type", kept: true},
		{name: "EventTypeInvalidUTF8", body: []byte("{\"event_type\": \"w\xff\", \"payload\": {\"id\": \"a\"}}"), status: 422, code: "invalid_envelope", hint: "event_type", kept: true},
		{name: "PayloadMissing", body: []byte(`{"event_type": "widget_new_conversation"}`), status: 422, code: "invalid_envelope", hint: "payload", kept: true},
		{name: "PayloadString", body: []byte(`{"event_type": "widget_new_conversation", "payload": "hello"}`), status: 422, code: "invalid_envelope", hint: "payload", kept: true},
		{name: "PayloadArray", body: []byte(`{"event_type": "widget_new_conversation", "payload": [{"id": "a"}]}`), status: 422, code: "invalid_envelope", hint: "payload", kept: true},
		{name: "PayloadNull", body: []byte(`{"event_type": "widget_new_conversation", "payload": null}`), status: 422, code: "invalid_envelope", hint: "payload", kept: true},
		{name: "PayloadIDObject", body: []byte(`{"event_type": "widget_new_conversation", "payload": {"id": {"v": 1}}}`), status: 422, code: "invalid_envelope", hint: "payload.id", kept: true},
		{name: "PayloadIDControlChar", body: []byte(`{"event_type": "widget_new_conversation", "payload": {"id": "a\u0007b"}}`), status: 422, code: "invalid_envelope", hint: "payload.id", kept: true},
		{name: "PayloadID257Chars", body: []byte(`{"event_type": "widget_new_conversation", "payload": {"id": "` + strings.Repeat("i", 257) + `"}}`), status: 422, code: "invalid_envelope", hint: "payload.id", kept: true},
		// Formats.
		{name: "ContentTypeTextPlain", body: fix, header: map[string]string{"Content-Type": "text/plain"}, status: 415, code: "unsupported_media_type", hint: "application/json", kept: true},
		{name: "ContentTypeMultipart", body: fix, header: map[string]string{"Content-Type": "multipart/form-data; boundary=xyz"}, status: 415, code: "unsupported_media_type", hint: "application/json", kept: true},
		{name: "ContentTypeMalformed", body: fix, header: map[string]string{"Content-Type": "application/json; charset"}, status: 415, code: "unsupported_media_type", hint: "application/json", kept: true},
		{name: "ContentEncodingBrotli", body: fix, header: map[string]string{"Content-Encoding": "br"}, status: 415, code: "unsupported_media_type", hint: "gzip", kept: true},
		{name: "CorruptGzip", body: []byte("this was never gzip"), header: map[string]string{"Content-Encoding": "gzip"}, status: 400, code: "invalid_gzip", hint: "gzip", kept: true},
		{name: "TruncatedGzip", body: gzFix[:len(gzFix)/2], header: map[string]string{"Content-Encoding": "gzip"}, status: 400, code: "invalid_gzip", hint: "gzip", kept: true},
		{name: "GzipBadChecksum", body: badCRC, header: map[string]string{"Content-Encoding": "gzip"}, status: 400, code: "invalid_gzip", hint: "gzip", kept: true},
		{name: "GzippedSeedSample", body: testkit.Gzip(t, seed), header: map[string]string{"Content-Encoding": "gzip"}, status: 400, code: "invalid_json", hint: "line 143,", kept: true},
		// Limits: too large is never kept.
		{name: "GzipBomb", body: bomb, header: map[string]string{"Content-Encoding": "gzip"}, status: 413, code: "too_large", hint: strconv.Itoa(limit), kept: false},
		{name: "OverLimit", body: over, status: 413, code: "too_large", hint: "MAX_BODY_BYTES", kept: false},
		{name: "OverLimitChunked", body: over, chunked: true, status: 413, code: "too_large", hint: "MAX_BODY_BYTES", kept: false},
		// Authentication: refused bodies are never kept, malformed or not.
		{name: "MissingSecret", body: seed, header: map[string]string{ingest.DefaultSecretHeader: ""}, status: 401, code: "unauthorized", hint: ingest.DefaultSecretHeader, authReason: ingest.ReasonMissingSecret},
		{name: "WrongSecret", body: seed, header: map[string]string{ingest.DefaultSecretHeader: "not-the-secret-but-long-enough"}, status: 401, code: "unauthorized", hint: ingest.DefaultSecretHeader, authReason: ingest.ReasonMismatch},
		{name: "MissingSignature", body: seed, header: map[string]string{testSigHeader: ""}, status: 401, code: "unauthorized", hint: testSigHeader, authReason: ingest.ReasonMissingSignature},
		{name: "BadSignature", body: seed, header: map[string]string{testSigHeader: testkit.HMACHex(testSigKey, fix)}, status: 401, code: "unauthorized", hint: testSigHeader, authReason: ingest.ReasonBadSignature},
		{name: "SignedWithSharedSecret", body: seed, header: map[string]string{testSigHeader: testkit.HMACHex(testSecret, seed)}, status: 401, code: "unauthorized", hint: testSigHeader, authReason: ingest.ReasonBadSignature},
		{name: "SourceNotAllowed", body: seed, header: map[string]string{"Cf-Connecting-Ip": "198.51.100.9"}, status: 403, code: "forbidden", hint: "WEBHOOK_ALLOWED_CIDRS", authReason: ingest.ReasonSourceIP},
	}
	require.GreaterOrEqual(t, len(tests), 24)

	b := setup(t, withMaxBody(limit), withAuth(ingest.AuthConfig{
		SecretHeader:     ingest.DefaultSecretHeader,
		Secrets:          []string{testSecret},
		SignatureHeader:  testSigHeader,
		SignatureSecrets: []string{testSigKey},
		AllowedCIDRs:     []string{"203.0.113.0/24"},
		TrustedProxies:   []string{"127.0.0.0/8", "::1"},
	}))
	counter := func(name, label, value string) float64 {
		return testkit.RequireMetric(t, b.reg, name, map[string]string{"account": "default", label: value})
	}
	quarantined := func() map[string]float64 {
		m := map[string]float64{}
		for _, r := range quarantineReasons {
			m[r] = counter("saleassist_ingest_quarantined_total", "reason", r)
		}
		return m
	}
	kept := func(t *testing.T) uint64 {
		info, err := b.quarantine.Info(t.Context())
		require.NoError(t, err)
		return info.State.Msgs
	}

	// The rows share one ingest and run in order, so each compares counts with those before it.
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			header := http.Header{}
			header.Set(ingest.DefaultSecretHeader, testSecret)
			header.Set(testSigHeader, testkit.HMACHex(testSigKey, tt.body))
			header.Set("Content-Type", jsonUTF8)
			header.Set("Authorization", testBearer)
			header.Set("Cookie", testCookie)
			header.Set("Cf-Connecting-Ip", testClient)
			header.Set("X-Request-Id", tt.name)
			for k, v := range tt.header {
				if v == "" {
					header.Del(k)
				} else {
					header.Set(k, v)
				}
			}
			var body io.Reader = bytes.NewReader(tt.body)
			if tt.chunked {
				body = struct{ io.Reader }{body}
			}
			req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, b.http.URL+ingest.WebhookPath, body)
			require.NoError(t, err)
			req.Header = header

			keptBefore, countsBefore := kept(t), quarantined()
			authBefore := 0.0
			if tt.authReason != "" {
				authBefore = counter("saleassist_ingest_auth_failures_total", "reason", tt.authReason)
			}

			res := send(t, b.client, req)

			msg := requireError(t, res, tt.status, tt.code)
			require.Contains(t, msg, tt.hint, "the message must say what to fix")
			for _, secret := range []string{testSecret, testSigKey} {
				require.False(t, res.contains(secret), "the answer must not echo a secret: %s", res.body)
			}
			var answer struct {
				QuarantineID string `json:"quarantine_id"`
			}
			require.NoError(t, json.Unmarshal(res.body, &answer))
			require.Zero(t, b.msgs(t), "nothing may reach the events stream")
			if tt.authReason != "" {
				require.Equal(t, authBefore+1, counter("saleassist_ingest_auth_failures_total", "reason", tt.authReason))
			}

			countsAfter := quarantined()
			if !tt.kept {
				require.Empty(t, answer.QuarantineID, "body: %s", res.body)
				require.Equal(t, keptBefore, kept(t), "the quarantine stream must not grow")
				require.Equal(t, countsBefore, countsAfter)
				return
			}

			require.NotEmpty(t, answer.QuarantineID, "body: %s", res.body)
			require.Contains(t, msg, answer.QuarantineID)
			seq, err := queue.ParseQuarantineID(answer.QuarantineID)
			require.NoError(t, err)
			require.Equal(t, keptBefore+1, kept(t))
			raw, err := b.quarantine.GetMsg(t.Context(), seq)
			require.NoError(t, err)
			q := queue.QuarantineEntry(raw)
			require.True(t, bytes.Equal(tt.body, q.Body), "the kept body must be the raw request body")
			require.Equal(t, tt.code, raw.Header.Get(queue.HeaderQuarantineReason))
			require.Equal(t, tt.code, q.Reason)
			require.Equal(t, testClient, q.RemoteAddr)
			require.Equal(t, header.Get("Content-Type"), q.Header.Get("Content-Type"))
			require.Equal(t, tt.name, q.Header.Get("X-Request-Id"))
			if ce := header.Get("Content-Encoding"); ce != "" {
				require.Equal(t, ce, q.Header.Get("Content-Encoding"), "a replay needs the encoding")
			}
			for _, h := range []string{ingest.DefaultSecretHeader, testSigHeader, "Authorization", "Cookie"} {
				require.NotContains(t, q.Header, h, "%s must not be kept", h)
			}
			for name, values := range raw.Header {
				for _, v := range values {
					for _, never := range []string{testSecret, testSigKey, header.Get(testSigHeader), "must-not-be-kept"} {
						require.NotContains(t, v, never, "kept header %s", name)
					}
				}
			}
			for _, r := range quarantineReasons {
				want := countsBefore[r]
				if r == tt.code {
					want++
				}
				require.Equal(t, want, countsAfter[r], "saleassist_ingest_quarantined_total{reason=%q}", r)
			}
		})
	}
}
