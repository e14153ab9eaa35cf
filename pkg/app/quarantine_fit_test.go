package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/pkg/queue"
)

// An authenticated bad request just under MAX_BODY_BYTES with several KB of headers (proxies add
// them) does not fit the embedded server's max_payload (sized by the ingest to the body limit
// plus queue.HeaderRoom) together with all its headers. It is kept anyway, without its largest
// headers (named in the entry), and answered with its 400 and quarantine id: not with a 503 the
// sender would retry for ever.
func TestNearLimitBadRequestWithLargeHeadersIsKept(t *testing.T) {
	t.Parallel()
	tb := setup(t)
	body := append([]byte(`{"event_type":"x","payload":{"id":"1","pad":"`), bytes.Repeat([]byte("p"), 1<<20-100)...)
	body = append(body, `"` /* no closing braces: invalid JSON */ ...)
	require.Less(t, len(body), 1<<20)

	req, err := http.NewRequest(http.MethodPost, tb.url+"/webhooks/saleassist", bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json; charset=UTF-8")
	req.Header.Set("X-Webhook-Secret", testSecret)
	for i := range 4 {
		req.Header.Set("X-Proxy-Trace-"+strconv.Itoa(i), strings.Repeat(strconv.Itoa(i), 1500))
	}
	req.Header.Set("X-Request-Id", "req-42")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	resp.Body.Close()
	var a answer
	require.NoError(t, json.Unmarshal(raw, &a), "answer %s", raw)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode, "answer %+v", a)
	require.Equal(t, "invalid_json", a.Error)
	require.NotEmpty(t, a.QuarantineID)
	require.Empty(t, resp.Header.Get("Retry-After"))

	s, err := tb.js(t).Stream(context.Background(), queue.DefaultQuarantineStream)
	require.NoError(t, err)
	id, err := queue.ParseQuarantineID(a.QuarantineID)
	require.NoError(t, err)
	m, err := s.GetMsg(context.Background(), id)
	require.NoError(t, err)
	q := queue.QuarantineEntry(m)
	require.Equal(t, body, q.Body, "the body is kept whole")
	require.Equal(t, "invalid_json", q.Reason)
	require.Equal(t, "application/json; charset=UTF-8", q.Header.Get("Content-Type"), "the headers replay needs are kept")
	require.Equal(t, "req-42", q.Header.Get("X-Request-Id"), "small headers are kept")
	dropped := m.Header.Get(queue.HeaderQuarantineDropped)
	require.Contains(t, dropped, "X-Proxy-Trace-", "the entry names what it could not keep")
	for _, name := range strings.Split(dropped, ", ") {
		require.Empty(t, q.Header.Get(name), "%s is listed as dropped", name)
	}
	require.NotEmpty(t, q.Header.Get("X-Proxy-Trace-0")+q.Header.Get("X-Proxy-Trace-3"), "only as many dropped as needed")
}
