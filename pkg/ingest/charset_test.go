package ingest_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline"
	"github.com/saleassist-pipeline/pipeline/pkg/ingest"
)

// latin1 is s (Latin-1 letters only) encoded in ISO-8859-1: one byte per letter.
func latin1(s string) []byte {
	var b []byte
	for _, r := range s {
		b = append(b, byte(r))
	}
	return b
}

// lastBody is the body of the newest message in the events stream.
func (b *testBundle) lastBody(tb testing.TB) []byte {
	tb.Helper()
	info, err := b.stream.Info(tb.Context())
	require.NoError(tb, err)
	m, err := b.stream.GetMsg(tb.Context(), info.State.LastSeq)
	require.NoError(tb, err)
	return m.Data
}

// A body declared in a charset other than UTF-8 is stored transcoded to UTF-8 (the name was
// stored as "Jos� M�ller" before); UTF-8, US-ASCII or no charset leave the body as sent, invalid
// bytes and all; a charset the ingest cannot read is refused with 415 and kept.
func TestDeclaredCharsetIsTranscoded(t *testing.T) {
	t.Parallel()
	b := setup(t)
	const doc = `{"event_type":"x","payload":{"id":"cs-%s","people_detail":{"name":"José Müller"}}}`
	post := func(id, ct string, body []byte) response {
		return b.do(t, http.MethodPost, ingest.WebhookPath, bytes.NewReader(body), ingest.DefaultSecretHeader, testSecret, "Content-Type", ct)
	}
	for _, ct := range []string{"application/json; charset=iso-8859-1", "application/json;charset=ISO-8859-1", `application/json; charset="latin1"`, "application/json; charset=windows-1252"} {
		id := strings.NewReplacer(" ", "", ";", "", "=", "", `"`, "").Replace(ct)
		body := latin1(strings.Replace(doc, "%s", id, 1))
		require.False(t, utf8.Valid(body))
		a := requireAccepted(t, post(id, ct, body))
		require.Equal(t, "cs-"+id, a.EventID)
		stored := b.lastBody(t)
		require.True(t, utf8.Valid(stored), "%s: stored %q", ct, stored)
		require.Contains(t, string(stored), `"name":"José Müller"`, ct)
	}

	// UTF-16 (with its BOM) too.
	u16 := []byte{0xff, 0xfe}
	for _, r := range strings.Replace(doc, "%s", "u16", 1) {
		u16 = append(u16, byte(r), byte(r>>8))
	}
	requireAccepted(t, post("u16", "application/json; charset=utf-16", u16))
	require.Contains(t, string(b.lastBody(t)), `"name":"José Müller"`)

	// Declared UTF-8 or US-ASCII, or nothing declared: stored byte for byte, as before.
	for _, ct := range []string{"application/json; charset=utf-8", "application/json; charset=us-ascii", "application/json", "application/vnd.api+json"} {
		body := latin1(strings.Replace(doc, "%s", "raw-"+strings.ReplaceAll(ct, " ", ""), 1))
		requireAccepted(t, post("", ct, body))
		require.Equal(t, body, b.lastBody(t), ct)
	}

	// Unknown charset: 415, kept.
	res := post("", "application/json; charset=x-klingon", latin1(strings.Replace(doc, "%s", "k", 1)))
	msg := requireError(t, res, http.StatusUnsupportedMediaType, "unsupported_media_type")
	require.Contains(t, msg, `"x-klingon"`)
	require.Contains(t, msg, "UTF-8")
	require.True(t, res.contains("quarantine_id"))
}

// A body nested deeper than pipeline.MaxDepth is refused with 422 and kept; the message names the
// limit and what to do.
func TestDeepBodyIsRefusedAndKept(t *testing.T) {
	t.Parallel()
	b := setup(t)
	n := 1000
	body := []byte(`{"event_type":"x","payload":{"id":"deep","a":` + strings.Repeat("[", n) + strings.Repeat("]", n) + `}}`)
	res := b.post(t, body)
	msg := requireError(t, res, http.StatusUnprocessableEntity, "invalid_envelope")
	require.Contains(t, msg, "1002 levels deep")
	require.Contains(t, msg, "512")
	require.True(t, res.contains("quarantine_id"))
	require.Zero(t, b.msgs(t))

	ok := pipeline.MaxDepth - 2
	body = []byte(`{"event_type":"x","payload":{"id":"deep-ok","a":` + strings.Repeat("[", ok) + strings.Repeat("]", ok) + `}}`)
	requireAccepted(t, b.post(t, body))
}

// Issue 19, case 1, as reported: two utf-16le bodies whose ids differ only in a lone surrogate
// both became "a\ufffd", and the second was answered 202 duplicate:true and never stored. Each is
// now refused with 415 and kept, and nothing reaches the stream; so is a shift_jis id ending in
// bytes invalid there.
func TestUndecodableCharsetIsRefusedAndKept(t *testing.T) {
	t.Parallel()
	b := setup(t)
	u16 := func(unit uint16) []byte {
		var out []byte
		for _, r := range `{"event_type":"x","payload":{"id":"a` {
			out = append(out, byte(r), 0)
		}
		out = append(out, byte(unit), byte(unit>>8))
		for _, r := range `"}}` {
			out = append(out, byte(r), 0)
		}
		return out
	}
	post := func(ct string, body []byte) response {
		return b.do(t, http.MethodPost, ingest.WebhookPath, bytes.NewReader(body), ingest.DefaultSecretHeader, testSecret, "Content-Type", ct)
	}
	for _, tc := range []struct {
		ct   string
		body []byte
	}{
		{"application/json; charset=utf-16le", u16(0xd800)},
		{"application/json; charset=utf-16le", u16(0xdbff)},
		{"application/json; charset=shift_jis", []byte(`{"event_type":"x","payload":{"id":"a` + "\x81\x20" + `"}}`)},
		{"application/json; charset=shift_jis", []byte(`{"event_type":"x","payload":{"id":"a` + "\xa0" + `"}}`)},
	} {
		res := post(tc.ct, tc.body)
		msg := requireError(t, res, http.StatusUnsupportedMediaType, "unsupported_media_type")
		require.Contains(t, msg, "not valid")
		require.Contains(t, msg, "UTF-8")
		require.True(t, res.contains("quarantine_id"))
	}
	require.Zero(t, b.msgs(t))
}
