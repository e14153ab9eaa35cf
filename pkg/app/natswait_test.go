package app_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/internal/testkit"
	"github.com/saleassist-pipeline/pipeline/pkg/account"
	"github.com/saleassist-pipeline/pipeline/pkg/queue"
)

// get answers a GET of url: its status, Retry-After and decoded JSON body.
func get(t *testing.T, url string) (int, string, answer) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var a answer
	require.NoError(t, json.Unmarshal(raw, &a), "answer %s", raw)
	return resp.StatusCode, resp.Header.Get("Retry-After"), a
}

// An ingest started while its NATS is down does not exit: it serves /healthz, says on /readyz why
// it is not ready, answers webhooks 503 with Retry-After, and logs that once; when NATS comes up
// it creates the streams, fits its body limit to the server's max_payload, reports ready and
// stores events.
func TestIngestWaitsForNATS(t *testing.T) {
	t.Parallel()
	addr := freeAddr(t) // nothing listens there yet
	tb := startIngest(t, t.TempDir(), nil, "-nats-url", "nats://"+addr)

	code, _, a := get(t, tb.url+"/healthz")
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "ok", a.Status)
	code, retry, a := get(t, tb.url+"/readyz")
	require.Equal(t, http.StatusServiceUnavailable, code)
	require.Equal(t, "5", retry)
	require.Equal(t, "unavailable", a.Error)
	require.Contains(t, a.Message, "NATS at nats://"+addr+" is not reachable yet")

	body := variant(t, "before-nats", "before@example.com", "")
	req, err := http.NewRequest(http.MethodPost, tb.url+"/webhooks/saleassist", bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("X-Webhook-Secret", testSecret)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	raw := readAll(t, resp)
	resp.Body.Close()
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, raw)
	require.Equal(t, "5", resp.Header.Get("Retry-After"))
	require.Contains(t, raw, `"error":"unavailable"`)
	require.Contains(t, raw, "cannot store events yet")
	require.Contains(t, raw, "retry later with the same body")
	require.Contains(t, scrape(t, tb.url), `saleassist_ingest_requests_total{account="default",code="503"} 1`)
	// An account's URL waits too: its account may well be in the bucket, not read yet.
	code, _ = postTo(t, tb.url+"/webhooks/saleassist/"+account.NewSecret(), testSecret, body)
	require.Equal(t, http.StatusServiceUnavailable, code)
	require.Contains(t, scrape(t, tb.url), `saleassist_ingest_requests_total{account="none",code="503"} 1`)

	k := testkit.StartJetStream(t, testkit.WithListen(addr))
	require.Eventually(t, func() bool {
		code, _, _ := get(t, tb.url+"/readyz")
		return code == http.StatusOK
	}, 30*time.Second, 20*time.Millisecond, "ready once NATS is up")
	a = tb.post(t, body)
	require.Equal(t, "before-nats", a.EventID)
	s, err := k.JS.Stream(t.Context(), queue.DefaultStream)
	require.NoError(t, err)
	msg, err := s.GetLastMsgForSubject(t.Context(), queue.DefaultSubjectPrefix+".>")
	require.NoError(t, err)
	require.Equal(t, "before-nats", msg.Header.Get(jetstream.MsgIDHeader))
	require.Equal(t, body, msg.Data)

	// The limit is the connected server's: its max_payload (1 MiB) cannot carry a body at the
	// default MAX_BODY_BYTES, so a body near it is refused as too large, not retried for ever.
	big := append(body[:len(body)-1:len(body)-1], []byte(`,"padding":"`+strings.Repeat("x", 1<<20-len(body)-64)+`"}`)...)
	code, a = post(t, tb.url, testSecret, big)
	require.Equal(t, http.StatusRequestEntityTooLarge, code, "%+v", a)

	logs := tb.stderr.String()
	for msg, n := range map[string]int{
		"NATS not reachable yet; connecting in the background, for as long as it takes": 1,
		"events stream not ready: webhooks get 503 until it is; retrying with backoff":  1,
		"connected to NATS":                       1,
		"events stream ready: accepting webhooks": 1,
		"MAX_BODY_BYTES lowered to fit the NATS server's max_payload; raise max_payload in the nats-server configuration to accept larger events": 1,
	} {
		require.Equal(t, n, strings.Count(logs, `"msg":"`+msg+`"`), "%q in the log:\n%s", msg, logs)
	}
	require.Less(t, strings.Count(logs, "\n"), 12, "a few lines for the wait, not one per attempt:\n%s", logs)
}

// An ingest waiting for a NATS that is down gives up once that NATS answers and refuses its
// credentials (twice, as nats.go does): a wrong password is no outage to wait out. The error names
// the server, never the password.
func TestIngestWaitingForNATSStopsOnRefusedCredentials(t *testing.T) {
	t.Parallel()
	addr := freeAddr(t)
	tb := startIngest(t, t.TempDir(), nil, "-nats-url", "nats://pipeline:not-the-password@"+addr)
	code, _, _ := get(t, tb.url+"/readyz")
	require.Equal(t, http.StatusServiceUnavailable, code)

	host, p, err := net.SplitHostPort(addr)
	require.NoError(t, err)
	port, err := strconv.Atoi(p)
	require.NoError(t, err)
	srv, err := server.NewServer(&server.Options{Host: host, Port: port, JetStream: true, StoreDir: t.TempDir(),
		Username: "pipeline", Password: "the-password", NoLog: true, NoSigs: true})
	require.NoError(t, err)
	srv.Start()
	t.Cleanup(srv.Shutdown)
	require.True(t, srv.ReadyForConnections(10*time.Second))

	select {
	case err := <-tb.ingest.Failed():
		require.ErrorContains(t, err, "connect to NATS at nats://pipeline:xxxxx@"+addr)
		require.ErrorContains(t, err, "nats: Authorization Violation (NATS closed the connection: check the user and password, or token, in NATS_URL)")
		require.NotContains(t, err.Error(), "not-the-password")
	case <-time.After(30 * time.Second):
		t.Fatalf("the ingest still waits for a NATS that refuses its credentials:\n%s", tb.stderr)
	}
}
