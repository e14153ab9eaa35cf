package ctl_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/internal/testkit"
	"github.com/saleassist-pipeline/pipeline/pkg/account"
	"github.com/saleassist-pipeline/pipeline/pkg/ingest"
	"github.com/saleassist-pipeline/pipeline/pkg/queue"
)

// agreeCorpus is what senders send, well and badly: every way a body is read (encoding, charset,
// byte order mark, envelope) with bodies that pass and bodies that fail each step.
func agreeCorpus(t *testing.T) []struct {
	name, ct, enc string
	body          []byte
} {
	doc := `{"event_type":"x","payload":{"id":"agree-%s","people_detail":{"name":"Renée"}}}`
	with := func(id string) string { return string(bytes.Replace([]byte(doc), []byte("%s"), []byte(id), 1)) }
	latin1 := func(s string) []byte {
		var b []byte
		for _, r := range s {
			b = append(b, byte(r))
		}
		return b
	}
	utf16le := func(s string, bom bool) []byte {
		var b []byte
		if bom {
			b = []byte{0xff, 0xfe}
		}
		for _, r := range s {
			b = append(b, byte(r), byte(r>>8))
		}
		return b
	}
	return []struct {
		name, ct, enc string
		body          []byte
	}{
		{"fixture", "application/json; charset=UTF-8", "", testkit.Fixture(t)},
		{"fixture-gzip", "application/json", "gzip", testkit.Gzip(t, testkit.WithID(testkit.Fixture(t), "agree-gz"))},
		{"latin1", "application/json; charset=iso-8859-1", "", latin1(with("l1"))},
		{"latin1-unparsable-type", "application/json; charset=iso-8859-1; foo", "", latin1(with("l1u"))},
		{"utf16-bom", "application/json; charset=utf-16", "", utf16le(with("u16"), true)},
		{"utf16-no-label", "", "", utf16le(with("u16n"), true)},
		{"utf16-lone-surrogate", "application/json; charset=utf-16le", "", append(utf16le(`{"event_type":"x","payload":{"id":"a`, false), append([]byte{0x00, 0xd8}, utf16le(`"}}`, false)...)...)},
		{"shift-jis-invalid", "application/json; charset=shift_jis", "", []byte(`{"event_type":"x","payload":{"id":"a` + "\x81\x20" + `"}}`)},
		{"utf8-bom", "application/json", "", append([]byte{0xef, 0xbb, 0xbf}, with("bom")...)},
		{"text-plain", "text/plain", "", []byte(with("plain"))},
		{"klingon", "application/json; charset=x-klingon", "", []byte(with("k"))},
		{"brotli", "application/json", "br", []byte(with("br"))},
		{"corrupt-gzip", "application/json", "gzip", []byte("not gzip")},
		{"invalid-json", "application/json", "", []byte(`{"event_type":"x",`)},
		{"no-payload", "application/json", "", []byte(`{"event_type":"x"}`)},
		{"c1-in-id", "application/json", "", []byte(`{"event_type":"x","payload":{"id":"a\u0085b"}}`)},
	}
}

// Issue 24's "one Accept": the webhook and the quarantine replay read a request with the same
// code, so they agree on every body of the corpus: accepted by both (and stored byte for byte the
// same), or refused by both with the same error code.
func TestWebhookAndReplayAgree(t *testing.T) {
	t.Parallel()
	// The webhook publishes to one server, the replay to another: each stores its own copy (on one
	// server, JetStream's dedupe would keep only the first).
	b, hooked := setup(t), setup(t)
	secrets := []string{"agree-secret-0123456789abcdef"}
	auth, err := ingest.NewAuth(ingest.AuthConfig{SecretHeader: ingest.DefaultSecretHeader, Secrets: secrets})
	require.NoError(t, err)
	reg := prometheus.NewRegistry()
	accounts := account.NewRegistry(account.EnvDefault(secrets, ingest.DefaultSecretHeader, ""))
	srv := ingest.NewServer(ingest.Config{Auth: auth, Accounts: accounts, MaxBody: 1 << 20}, hooked.Pub, func(context.Context) error { return nil },
		ingest.NewMetrics(reg), http.NotFoundHandler(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	last := func(b *testBundle) []byte {
		events, err := b.JS.JS.Stream(t.Context(), queue.DefaultStream)
		require.NoError(t, err)
		info, err := events.Info(t.Context())
		require.NoError(t, err)
		m, err := events.GetMsg(t.Context(), info.State.LastSeq)
		require.NoError(t, err)
		return m.Data
	}

	accepted, refused := 0, 0
	for _, c := range agreeCorpus(t) {
		req, err := http.NewRequest(http.MethodPost, hs.URL+ingest.WebhookPath, bytes.NewReader(c.body))
		require.NoError(t, err)
		req.Header.Set(ingest.DefaultSecretHeader, "agree-secret-0123456789abcdef")
		h := http.Header{}
		if c.ct != "" {
			h.Set("Content-Type", c.ct)
		}
		if c.enc != "" {
			h.Set("Content-Encoding", c.enc)
		}
		for k, v := range h {
			req.Header[k] = v
		}
		res, err := hs.Client().Do(req)
		require.NoError(t, err)
		var answer struct{ Error string }
		require.NoError(t, json.NewDecoder(res.Body).Decode(&answer))
		res.Body.Close()
		var webhookStored []byte
		if res.StatusCode == http.StatusAccepted {
			webhookStored = last(hooked)
		}

		// The same request as the quarantine keeps it, replayed.
		id := b.Quarantine(t, "agree", c.body, h)
		code, out, errOut := b.run(t, "quarantine", "replay", strconv.FormatUint(id, 10))
		if res.StatusCode == http.StatusAccepted {
			accepted++
			require.Equal(t, 0, code, "%s: the webhook accepted it, the replay refused: %s", c.name, errOut)
			require.Contains(t, out, "duplicate: false", c.name)
			require.Equal(t, string(webhookStored), string(last(b)), "%s: stored differently", c.name)
			continue
		}
		refused++
		require.Equal(t, 1, code, "%s: the webhook answered %d (%s), the replay accepted it", c.name, res.StatusCode, answer.Error)
		require.Contains(t, errOut, "("+answer.Error+": ", "%s: refused for another reason", c.name)
		require.Contains(t, errOut, "it stays in quarantine", c.name)
	}
	require.Equal(t, 6, accepted, "the corpus's bodies that are events")
	require.Equal(t, 10, refused, "the corpus's bodies that are not")
}
