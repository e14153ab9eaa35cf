package ingest_test

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/pkg/ingest"
)

// rawExchange writes raw to the ingest over one TCP connection and reads every answer until the
// server closes it (or 10 s pass: closed reports which).
func (b *testBundle) rawExchange(t *testing.T, raw string) (answers []*http.Response, bodies []string, closed bool) {
	t.Helper()
	conn, err := net.Dial("tcp", b.http.Listener.Addr().String())
	require.NoError(t, err)
	defer conn.Close()
	_, err = io.WriteString(conn, raw)
	require.NoError(t, err)
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
	all, err := io.ReadAll(conn)
	var ne net.Error
	closed = err == nil || !(errorsAs(err, &ne) && ne.Timeout())
	br := bufio.NewReader(bytes.NewReader(all))
	for {
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			break
		}
		body, _ := io.ReadAll(res.Body)
		answers, bodies = append(answers, res), append(bodies, string(body))
	}
	return answers, bodies, closed
}

func errorsAs(err error, target *net.Error) bool {
	ne, ok := err.(net.Error)
	if ok {
		*target = ne
	}
	return ok
}

// chunkedPost is a webhook POST of body, chunked, with extra header lines.
func chunkedPost(body string, extra ...string) string {
	h := "POST " + ingest.WebhookPath + " HTTP/1.1\r\nHost: ingest\r\n" + ingest.DefaultSecretHeader + ": " + testSecret +
		"\r\nContent-Type: application/json\r\n" + strings.Join(extra, "")
	return h + "Transfer-Encoding: chunked\r\n\r\n" + strconv.FormatInt(int64(len(body)), 16) + "\r\n" + body + "\r\n0\r\n\r\n"
}

// clPost is a webhook POST of body with Content-Length.
func clPost(body string) string {
	return "POST " + ingest.WebhookPath + " HTTP/1.1\r\nHost: ingest\r\n" + ingest.DefaultSecretHeader + ": " + testSecret +
		"\r\nContent-Type: application/json\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
}

// A request with both Content-Length and Transfer-Encoding is answered 400 and the connection
// closed (RFC 9112 §6.3): the request smuggled after its chunked body is never served, and the
// event is not stored. net/http deletes Content-Length from such a request before the handler
// runs, so this goes through the raw connection.
func TestBothContentLengthAndTransferEncodingCloseTheConnection(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ev := `{"event_type":"x","payload":{"id":"smuggle-1"}}`
	smuggled := "GET " + ingest.HealthPath + " HTTP/1.1\r\nHost: ingest\r\n\r\n"
	answers, bodies, closed := b.rawExchange(t, chunkedPost(ev, "Content-Length: 4\r\n")+smuggled)
	require.True(t, closed, "the connection must be closed")
	require.Len(t, answers, 1, "only one answer: %q", bodies)
	require.Equal(t, http.StatusBadRequest, answers[0].StatusCode)
	require.Contains(t, bodies[0], `"error":"ambiguous_framing"`)
	require.Contains(t, bodies[0], "Content-Length")
	require.Zero(t, b.msgs(t), "nothing stored")

	// Well-framed requests pipelined on one connection are all served: the watcher skips their
	// Content-Length bodies, even one that looks like a header block with Transfer-Encoding.
	fake := "\r\nTransfer-Encoding: chunked\r\nContent-Length: 1\r\n\r\n"
	answers, bodies, closed = b.rawExchange(t, clPost(`{"event_type":"x","payload":{"id":"pipe-1"}}`)+clPost(fake)+
		clPost(`{"event_type":"x","payload":{"id":"pipe-2"}}`)+"GET "+ingest.HealthPath+" HTTP/1.1\r\nHost: ingest\r\nConnection: close\r\n\r\n")
	require.True(t, closed)
	require.Len(t, answers, 4, "answers: %q", bodies)
	require.Equal(t, []int{202, 400, 202, 200}, []int{answers[0].StatusCode, answers[1].StatusCode, answers[2].StatusCode, answers[3].StatusCode}, "%q", bodies)
	require.EqualValues(t, 2, b.msgs(t))

	// An ambiguous request after a well-framed one on the same connection, with the header names
	// in other cases.
	conn, err := net.Dial("tcp", b.http.Listener.Addr().String())
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetDeadline(time.Now().Add(10*time.Second)))
	br := bufio.NewReader(conn)
	_, err = io.WriteString(conn, clPost(`{"event_type":"x","payload":{"id":"pipe-3"}}`))
	require.NoError(t, err)
	res, err := http.ReadResponse(br, nil)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, res.Body)
	require.Equal(t, http.StatusAccepted, res.StatusCode)
	_, err = io.WriteString(conn, strings.Replace(chunkedPost(ev, "content-LENGTH: 4\r\n"), "Transfer-Encoding", "TRANSFER-encoding", 1)+smuggled)
	require.NoError(t, err)
	res, err = http.ReadResponse(br, nil)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, res.Body)
	require.Equal(t, http.StatusBadRequest, res.StatusCode)
	rest, err := io.ReadAll(br)
	require.NoError(t, err, "the connection is closed (EOF), not left open")
	require.Empty(t, rest, "no answer to the smuggled request")
	require.EqualValues(t, 3, b.msgs(t))

	// Chunked alone is fine, and its connection is closed after the answer; Content-Length alone
	// keeps the connection open for the next request.
	answers, bodies, closed = b.rawExchange(t, chunkedPost(`{"event_type":"x","payload":{"id":"chunked-1"}}`)+smuggled)
	require.True(t, closed)
	require.Len(t, answers, 1, "answers: %q", bodies)
	require.Equal(t, http.StatusAccepted, answers[0].StatusCode, bodies[0])
	answers, bodies, _ = b.rawExchange(t, clPost(`{"event_type":"x","payload":{"id":"cl-1"}}`)+smuggled+
		"GET "+ingest.HealthPath+" HTTP/1.1\r\nHost: ingest\r\nConnection: close\r\n\r\n")
	require.Len(t, answers, 3, "answers: %q", bodies)
	require.Equal(t, http.StatusOK, answers[1].StatusCode)
}
