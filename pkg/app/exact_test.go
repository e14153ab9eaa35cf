package app_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/internal/testkit"
	"github.com/saleassist-pipeline/pipeline/pkg/account"
	"github.com/saleassist-pipeline/pipeline/pkg/queue"
)

// envelopeWith is the fixture with another event id and event_type, both exactly as given.
func envelopeWith(t *testing.T, typ, id string) []byte {
	t.Helper()
	doc := testkit.Document(t, testkit.Fixture(t))
	doc["event_type"] = typ
	doc["payload"].(map[string]any)["id"] = id
	b, err := json.Marshal(doc)
	require.NoError(t, err)
	return b
}

// Ids and types reach the store byte for byte as sent, through NATS (which trims header values):
// "abc " and "abc" are two events, neither answered as the other's duplicate; " other " is stored
// as " other "; and " widget_new_conversation" is not the documented type, so it is routed as an
// unknown type (stored, not dead-lettered by that type's schema).
func TestIDsAndTypesAreStoredExactlyAsSent(t *testing.T) {
	t.Parallel()
	tb := setup(t)
	cases := []struct{ typ, id string }{
		{" other ", "abc "},
		{"other", "abc"},
		{" widget_new_conversation", " abc"},
		{"widget_new_conversation\u00a0", "50%off"},
	}
	for _, c := range cases {
		a := tb.post(t, envelopeWith(t, c.typ, c.id))
		require.Equal(t, c.id, a.EventID, "the 202 names the id as sent")
		require.False(t, a.Duplicate, "%q taken for a duplicate", c.id)
	}
	st := tb.openStore(t)
	awaitEvents(t, st, int64(len(cases)))
	for _, c := range cases {
		ev, err := st.Event(context.Background(), account.Default, c.id)
		require.NoError(t, err, "event %q", c.id)
		require.Equal(t, c.typ, ev.EventType, "event %q", c.id)
	}
	requireConsumerSettled(t, tb)
	dlq, err := tb.js(t).Stream(context.Background(), queue.DefaultDeadLetterStream)
	require.NoError(t, err)
	info, err := dlq.Info(context.Background())
	require.NoError(t, err)
	require.Zero(t, info.State.Msgs, "nothing dead-lettered")
}

// Ids that only a lone surrogate escape tells apart cannot be carried as text: they are refused
// with 422 and kept, rather than collapsing into one id and the second being lost as a duplicate.
func TestLoneSurrogateIDIsRefusedAndKept(t *testing.T) {
	t.Parallel()
	tb := setup(t)
	for _, id := range []string{`a\ud800`, `a\udbff`} {
		body := []byte(`{"event_type":"x","payload":{"id":"` + id + `"}}`)
		code, a := post(t, tb.url, testSecret, body)
		require.Equal(t, http.StatusUnprocessableEntity, code, "answer: %+v", a)
		require.Equal(t, "invalid_envelope", a.Error)
		require.Contains(t, a.Message, "payload.id")
		require.Contains(t, a.Message, "surrogate")
		require.NotEmpty(t, a.QuarantineID)
	}
}

// The real program refuses a request framed by both Content-Length and Transfer-Encoding and
// closes its connection: the request smuggled after the chunked body gets no answer.
func TestAmbiguousFramingClosesTheConnection(t *testing.T) {
	t.Parallel()
	tb := setup(t)
	conn, err := net.Dial("tcp", strings.TrimPrefix(tb.url, "http://"))
	require.NoError(t, err)
	defer conn.Close()
	body := `{"event_type":"x","payload":{"id":"smuggle"}}`
	_, err = io.WriteString(conn, "POST /webhooks/saleassist HTTP/1.1\r\nHost: ingest\r\nX-Webhook-Secret: "+testSecret+
		"\r\nContent-Type: application/json\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"+
		strconv.FormatInt(int64(len(body)), 16)+"\r\n"+body+"\r\n0\r\n\r\n"+
		"GET /healthz HTTP/1.1\r\nHost: ingest\r\n\r\n")
	require.NoError(t, err)
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
	all, err := io.ReadAll(conn)
	require.NoError(t, err, "closed by the server, not left open")
	require.Equal(t, 1, strings.Count(string(all), "HTTP/1.1 "), "one answer only: %s", all)
	require.True(t, strings.HasPrefix(string(all), "HTTP/1.1 400 "), "%s", all)
	require.Contains(t, string(all), "ambiguous_framing")
}
