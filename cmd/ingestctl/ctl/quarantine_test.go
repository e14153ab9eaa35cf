package ctl_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/internal/natsconn"
	"github.com/saleassist-pipeline/pipeline/internal/testkit"
	"github.com/saleassist-pipeline/pipeline/pkg/queue"
)

// The round trip: a malformed body is listed, shown byte for byte, refused on a plain replay (it
// is still malformed), and accepted with a corrected body — and only then leaves quarantine.
func TestQuarantineListShowReplayRoundTrip(t *testing.T) {
	t.Parallel()
	b := setup(t)
	seed := testkit.SeedSample(t)
	id := b.Quarantine(t, "invalid_json", seed, http.Header{"Content-Type": {"application/json; charset=UTF-8"}})

	code, out, _ := b.run(t, "quarantine", "list")
	require.Equal(t, 0, code)
	require.Contains(t, out, strconv.FormatUint(id, 10))
	require.Contains(t, out, "invalid_json")
	require.Contains(t, out, "1 in quarantine")

	code, out, _ = b.run(t, "quarantine", "list", "--json")
	require.Equal(t, 0, code)
	var listed []map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &listed))
	require.Len(t, listed, 1)
	require.EqualValues(t, id, listed[0]["id"])
	require.EqualValues(t, len(seed), listed[0]["bytes"])

	code, out, _ = b.run(t, "quarantine", "show", strconv.FormatUint(id, 10))
	require.Equal(t, 0, code)
	require.Equal(t, string(seed), out, "show prints the body exactly as received")

	code, _, errOut := b.run(t, "quarantine", "replay", strconv.FormatUint(id, 10))
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "still not an acceptable event")
	require.Contains(t, errOut, "line 143")
	require.Contains(t, errOut, "--body")
	require.Zero(t, b.EventsInStream(t))

	fixed := filepath.Join(t.TempDir(), "fixed.json")
	require.NoError(t, os.WriteFile(fixed, testkit.Fixture(t), 0o600))
	code, out, errOut = b.run(t, "quarantine", "replay", strconv.FormatUint(id, 10), "--body", fixed)
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, testkit.FixtureID)
	require.EqualValues(t, 1, b.EventsInStream(t))

	code, out, _ = b.run(t, "quarantine", "list")
	require.Equal(t, 0, code)
	require.Contains(t, out, "0 in quarantine")
	code, _, errOut = b.run(t, "quarantine", "show", strconv.FormatUint(id, 10))
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "does not exist")
}

// A kept gzip body is decompressed on replay, as the ingest would have; delete drops an entry.
func TestQuarantineReplayGzipAndDelete(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, err := zw.Write(testkit.Fixture(t))
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	id := b.Quarantine(t, "invalid_gzip", gz.Bytes(), http.Header{"Content-Type": {"application/json"}, "Content-Encoding": {"gzip"}})
	other := b.Quarantine(t, "invalid_envelope", []byte(`[1,2,3]`), nil)
	// Labelled as not JSON, it is refused on replay as the webhook refuses it, and kept.
	plain := b.Quarantine(t, "unsupported_media_type", gz.Bytes(), http.Header{"Content-Type": {"text/plain"}, "Content-Encoding": {"gzip"}})
	code, _, errOut := b.run(t, "quarantine", "replay", strconv.FormatUint(plain, 10))
	require.Equal(t, 1, code)
	require.Contains(t, errOut, `"text/plain" is not JSON`)
	require.Contains(t, errOut, "--body")
	require.Zero(t, b.EventsInStream(t))
	code, _, _ = b.run(t, "quarantine", "delete", strconv.FormatUint(plain, 10))
	require.Equal(t, 0, code)

	code, out, errOut := b.run(t, "quarantine", "replay", strconv.FormatUint(id, 10))
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "duplicate: false")
	require.EqualValues(t, 1, b.EventsInStream(t))

	code, out, _ = b.run(t, "quarantine", "delete", strconv.FormatUint(other, 10))
	require.Equal(t, 0, code)
	require.Contains(t, out, "deleted")
	code, out, _ = b.run(t, "quarantine", "list")
	require.Equal(t, 0, code)
	require.Contains(t, out, "0 in quarantine")
}

// Bad command lines get usage (exit 2) and say what is wrong; an unreachable NATS says how to
// point ingestctl at the right one, without the password of its URL.
func TestIngestctlUsageAndConnectionErrors(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, args := range [][]string{{}, {"quarantine"}, {"quarantine", "show"}, {"quarantine", "show", "abc"}, {"quarantine", "explode", "1"}, {"dlq"}} {
		code, _, errOut := b.run(t, args...)
		require.Equal(t, 2, code, "%v", args)
		require.Contains(t, errOut, "usage: ingestctl", "%v", args)
	}
	code, _, errOut := runCtl("-nats-url", "nats://ctl:pw-d6c1e0a7f3@127.0.0.1:1", "quarantine", "list")
	require.Equal(t, 1, code)
	require.True(t, strings.Contains(errOut, "connect to NATS"), errOut)
	// The error names the server, not the password in its URL.
	require.Contains(t, errOut, "nats://ctl:xxxxx@127.0.0.1:1")
	require.NotContains(t, errOut, "pw-d6c1e0a7f3")
}

// Without -nats-url, ingestctl finds a standalone ingest's embedded server through the URL file
// in its data directory.
func TestIngestctlFindsStandaloneThroughDataDir(t *testing.T) {
	t.Parallel()
	b := setup(t)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, natsconn.URLFile), []byte(b.URL+"\n"), 0o600))
	code, out, errOut := runCtl("-data-dir", dir, "quarantine", "list")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "0 in quarantine")
}

// A kept body declared in another charset is replayed transcoded to UTF-8, as the ingest now
// reads it; one in a charset nobody can read says how to replay it.
func TestQuarantineReplayTranscodes(t *testing.T) {
	t.Parallel()
	b := setup(t)
	body := []byte("{\"event_type\":\"x\",\"payload\":{\"id\":\"q-l1\",\"people_detail\":{\"name\":\"Jos\xe9\"}}}")
	id := b.Quarantine(t, "invalid_envelope", body, http.Header{"Content-Type": {"application/json; charset=iso-8859-1"}})
	bad := b.Quarantine(t, "unsupported_media_type", body, http.Header{"Content-Type": {"application/json; charset=x-klingon"}})

	code, _, errOut := b.run(t, "quarantine", "replay", strconv.FormatUint(id, 10))
	require.Equal(t, 0, code, errOut)
	s, err := b.JS.JS.Stream(t.Context(), queue.DefaultStream)
	require.NoError(t, err)
	m, err := s.GetLastMsgForSubject(t.Context(), b.JS.Config.Subject("", "x"))
	require.NoError(t, err)
	require.Contains(t, string(m.Data), `"name":"José"`)

	code, _, errOut = b.run(t, "quarantine", "replay", strconv.FormatUint(bad, 10))
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "x-klingon")
	require.Contains(t, errOut, "--body")
}

// Issue 19, case 2: a Latin-1 body whose Content-Type cannot be parsed (so its charset is
// unknown) was refused by the webhook, kept, and then replayed as UTF-8, storing "Ren\ufffde".
// Replay reads it with the webhook's own code: refused again, kept, and told how to fix it.
func TestQuarantineReplayDecodesAsTheWebhook(t *testing.T) {
	t.Parallel()
	b := setup(t)
	body := []byte("{\"event_type\":\"x\",\"payload\":{\"id\":\"q-rene\",\"people_detail\":{\"name\":\"Ren\xe9e\"}}}")
	id := b.Quarantine(t, "unsupported_media_type", body, http.Header{"Content-Type": {"application/json; charset=iso-8859-1; foo"}})
	code, _, errOut := b.run(t, "quarantine", "replay", strconv.FormatUint(id, 10))
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "cannot be parsed")
	require.Contains(t, errOut, "charset is unknown")
	require.Contains(t, errOut, "it stays in quarantine")
	require.Zero(t, b.EventsInStream(t))
	code, out, _ := b.run(t, "quarantine", "list")
	require.Equal(t, 0, code)
	require.Contains(t, out, "1 in quarantine")

	// An id that its charset cannot decode exactly is refused on replay as by the webhook.
	sj := b.Quarantine(t, "unsupported_media_type", []byte(`{"event_type":"x","payload":{"id":"a`+"\x81\x20"+`"}}`),
		http.Header{"Content-Type": {"application/json; charset=shift_jis"}})
	code, _, errOut = b.run(t, "quarantine", "replay", strconv.FormatUint(sj, 10))
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "not valid shift_jis text")
	require.Zero(t, b.EventsInStream(t))
}

// Issue 23, item 1: ingestctl never reports on the wrong system. With neither -nats-url / NATS_URL
// nor a recorded URL it says so and stops (it used to guess nats://127.0.0.1:4222, another
// server there, and report "not created yet … dead letters: 0"); the first line on stderr names
// the server used and where it came from; a server without the pipeline's streams is "no
// pipeline here", not an empty pipeline; an unknown command is named.
func TestIngestctlNeverGuessesTheServer(t *testing.T) {
	t.Parallel()
	empty := t.TempDir()
	code, out, errOut := runCtl("-data-dir", empty, "status")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "no NATS server to ask")
	require.Contains(t, errOut, filepath.Join(empty, natsconn.URLFile))
	require.Contains(t, errOut, "NATS_URL")
	require.Empty(t, out)

	// Another NATS server, with JetStream but no pipeline on it.
	other := testkit.StartJetStream(t, testkit.WithListen("127.0.0.1:0"))
	code, out, errOut = runCtl("-nats-url", other.Server.ClientURL(), "status")
	require.Equal(t, 1, code)
	lines := strings.Split(errOut, "\n")
	require.Equal(t, "ingestctl: NATS "+other.Server.ClientURL()+" (from -nats-url / NATS_URL)", lines[0])
	require.Contains(t, errOut, "no pipeline here ("+other.Server.ClientURL()+")")
	require.NotContains(t, out, "dead letters")

	b := setup(t)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, natsconn.URLFile), []byte(b.URL+"\n"), 0o600))
	code, _, errOut = runCtl("-data-dir", dir, "status")
	require.Equal(t, 0, code, errOut)
	require.True(t, strings.HasPrefix(errOut, "ingestctl: NATS "+b.URL+" (from "+filepath.Join(dir, natsconn.URLFile)+")"), errOut)

	code, _, errOut = runCtl("frobnicate", "now")
	require.Equal(t, 2, code)
	require.Contains(t, errOut, `unknown command "frobnicate now"`)
}
