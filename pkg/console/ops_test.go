package console_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/pkg/console"
	"github.com/saleassist-pipeline/pipeline/pkg/queue"
)

// deadLetter puts body on the dead-letter stream as a worker does when it gives up on an event
// (the headers of queue.DeadLetterer.Move), and returns its id.
func (b *testBundle) deadLetter(t *testing.T, eventID string, body []byte) uint64 {
	t.Helper()
	return b.deadLetterAs(t, eventID, "max_deliver", "database is locked", body)
}

// deadLetterAs is deadLetter with the reason and error a worker gave.
func (b *testBundle) deadLetterAs(t *testing.T, eventID, reason, why string, body []byte) uint64 {
	t.Helper()
	return b.deadLetterOf(t, "", eventID, reason, why, body)
}

// deadLetterOf is deadLetterAs for an event of account acct (empty: one from before accounts,
// without the header).
func (b *testBundle) deadLetterOf(t *testing.T, acct, eventID, reason, why string, body []byte) uint64 {
	t.Helper()
	ctx := context.Background()
	_, err := queue.NewDeadLetterer(ctx, b.js.JS, b.js.Config)
	require.NoError(t, err)
	h := nats.Header{}
	h.Set(queue.HeaderEventID, eventID)
	h.Set(queue.HeaderEventType, "widget_new_conversation")
	h.Set(queue.HeaderDLQReason, reason)
	h.Set(queue.HeaderDLQError, why)
	h.Set(queue.HeaderDLQSubject, b.js.Config.Subject(acct, "widget_new_conversation"))
	if acct != "" {
		h.Set(queue.HeaderAccount, acct)
	}
	h.Set(queue.HeaderDLQFirstFailure, time.Now().UTC().Format(time.RFC3339Nano))
	ack, err := b.js.JS.PublishMsg(ctx, &nats.Msg{Subject: b.js.Config.DeadLetterSubject, Header: h, Data: body})
	require.NoError(t, err)
	return ack.Sequence
}

// The console lists and replays dead letters and quarantined requests through admin.Ops: the
// replayed event is back in the events stream and gone from the list; replaying it again is 404.
func TestDeadLettersAndQuarantineAPI(t *testing.T) {
	t.Parallel()
	b := setup(t, withJetStream(t))
	var empty struct {
		DeadLetters []any `json:"dead_letters"`
	}
	b.getJSON(t, "/api/deadletters", &empty)
	require.NotNil(t, empty.DeadLetters)
	require.Empty(t, empty.DeadLetters)

	id := b.deadLetter(t, "dl-1", person("dl-1", "Dee", "dee@example.com", ""))
	var list struct {
		DeadLetters []struct {
			ID      uint64 `json:"id"`
			EventID string `json:"event_id"`
			Reason  string `json:"reason"`
		} `json:"dead_letters"`
	}
	b.getJSON(t, "/api/deadletters", &list)
	require.Len(t, list.DeadLetters, 1)
	require.Equal(t, id, list.DeadLetters[0].ID)
	require.Equal(t, "max_deliver", list.DeadLetters[0].Reason)

	code, body := b.do(t, http.MethodPost, "/api/deadletters/"+itoa(id)+"/replay", nil, true)
	require.Equal(t, http.StatusOK, code, string(body))
	require.Contains(t, string(body), `"event_id":"dl-1"`)
	require.EqualValues(t, 1, b.streamMsgs(t, queue.DefaultStream))
	b.getJSON(t, "/api/deadletters", &list)
	require.Empty(t, list.DeadLetters)
	code, body = b.do(t, http.MethodPost, "/api/deadletters/"+itoa(id)+"/replay", nil, true)
	require.Equal(t, http.StatusNotFound, code)
	c, _ := apiErr(t, body)
	require.Equal(t, "not_found", c)
	code, _ = b.do(t, http.MethodGet, "/api/deadletters/1/replay", nil, true)
	require.Equal(t, http.StatusMethodNotAllowed, code, "replay is a POST")

	pub, err := queue.NewPublisher(b.js.Conn, b.js.Config, 2*time.Second)
	require.NoError(t, err)
	qid, err := pub.Quarantine(context.Background(), &queue.Rejected{Reason: "invalid_json", Message: "not JSON",
		Body: []byte(`{"event_type":"x" "payload":{}}`), ReceivedAt: time.Now()})
	require.NoError(t, err)
	var ql struct {
		Quarantine []struct {
			ID     uint64 `json:"id"`
			Reason string `json:"reason"`
		} `json:"quarantine"`
	}
	b.getJSON(t, "/api/quarantine", &ql)
	require.Len(t, ql.Quarantine, 1)
	require.Equal(t, "invalid_json", ql.Quarantine[0].Reason)
	// Still malformed: refused with the reason, and kept.
	code, body = b.do(t, http.MethodPost, "/api/quarantine/"+itoa(qid)+"/replay", nil, true)
	require.Equal(t, http.StatusUnprocessableEntity, code, string(body))
	c, msg := apiErr(t, body)
	require.Equal(t, "replay_failed", c)
	require.Contains(t, msg, "still not an acceptable event")
	// A corrected body is accepted, and the entry leaves quarantine.
	fixed := `{"event_type":"x","payload":{"id":"q-1"}}`
	code, body = b.do(t, http.MethodPost, "/api/quarantine/"+itoa(qid)+"/replay", strings.NewReader(fixed), true, "Content-Type", "application/json")
	require.Equal(t, http.StatusOK, code, string(body))
	require.JSONEq(t, `{"replayed":{"event_id":"q-1","event_type":"x","duplicate":false}}`, string(body))
	b.getJSON(t, "/api/quarantine", &ql)
	require.Empty(t, ql.Quarantine)
	metrics := b.metrics(t)
	require.Contains(t, metrics, `saleassist_console_replays_total{kind="quarantine",outcome="refused"} 1`)
	require.Contains(t, metrics, `saleassist_console_replays_total{kind="quarantine",outcome="replayed"} 1`)
	require.Contains(t, metrics, `saleassist_console_replays_total{kind="dead_letter",outcome="replayed"} 1`)
	require.Contains(t, metrics, `saleassist_console_replays_total{kind="dead_letter",outcome="refused"} 1`, "the second replay found nothing")
}

// /api/stats: the store's counts, 60 minutes of throughput, and JetStream's figures.
func TestStats(t *testing.T) {
	t.Parallel()
	b := setup(t, withJetStream(t))
	b.store(t, person("st-1", "A", "a@example.com", ""), person("st-2", "B", "b@example.com", ""))
	b.deadLetter(t, "dl-s", []byte(`{}`))
	var s struct {
		Leads           int64 `json:"leads"`
		Events          int64 `json:"events"`
		StoredPerMinute []struct {
			Minute time.Time `json:"minute"`
			Events int64     `json:"events"`
		} `json:"stored_per_minute"`
		Consumer    *struct{ Lag uint64 } `json:"consumer"`
		DeadLetters *uint64               `json:"dead_letters"`
		Quarantined *uint64               `json:"quarantined"`
	}
	b.getJSON(t, "/api/stats", &s)
	require.EqualValues(t, 2, s.Leads)
	require.EqualValues(t, 2, s.Events)
	require.Len(t, s.StoredPerMinute, 60)
	require.EqualValues(t, 2, s.StoredPerMinute[59].Events+s.StoredPerMinute[58].Events)
	require.NotNil(t, s.DeadLetters)
	require.EqualValues(t, 1, *s.DeadLetters)
	require.EqualValues(t, 0, *s.Quarantined)
	require.Nil(t, s.Consumer, "no worker has created the consumer")

	_, err := b.js.JS.CreateOrUpdateConsumer(context.Background(), queue.DefaultStream, b.js.Config.ConsumerConfig())
	require.NoError(t, err)
	b.getJSON(t, "/api/stats", &s)
	require.NotNil(t, s.Consumer)

	code, page := b.do(t, http.MethodGet, "/stats", nil, true)
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, string(page), `<svg class="chart"`)
	require.Contains(t, string(page), "<rect")

	// A worker paused on an unavailable store says since when and why (issue 21, item 3).
	kv, err := queue.WorkersKV(context.Background(), b.js.JS, b.js.Config)
	require.NoError(t, err)
	since := time.Date(2026, 12, 6, 10, 14, 2, 0, time.UTC)
	for _, w := range []queue.WorkerState{
		{ID: "w-ok", Reported: time.Now()},
		{ID: "w-paused", Paused: true, PausedSince: since, Reason: "unreachable", Error: "dial tcp 10.0.0.5:5432: connect: connection refused", Reported: time.Now()},
	} {
		raw, err := json.Marshal(w)
		require.NoError(t, err)
		_, err = kv.Put(context.Background(), w.ID, raw)
		require.NoError(t, err)
	}
	var withWorkers struct {
		Workers []queue.WorkerState `json:"workers"`
	}
	b.getJSON(t, "/api/stats", &withWorkers)
	require.Len(t, withWorkers.Workers, 2)
	code, page = b.do(t, http.MethodGet, "/stats", nil, true)
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, string(page), `<b id="stat-workers">2 (1)</b>`)
	require.Contains(t, string(page), `Worker w-paused is paused since <time datetime="2026-12-06T10:14:02Z" title="2026-12-06 10:14:02 UTC">2026-12-06 10:14:02 UTC</time>: the store is unavailable (unreachable)`)
	require.NotContains(t, string(page), "Worker w-ok is paused")
}

func (b *testBundle) streamMsgs(t *testing.T, name string) uint64 {
	t.Helper()
	s, err := b.js.JS.Stream(context.Background(), name)
	require.NoError(t, err)
	info, err := s.Info(context.Background())
	require.NoError(t, err)
	return info.State.Msgs
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }

// A flash message comes from the server, never from the URL: /deadletters?done=<text> shows
// nothing, a replay's own message shows once (a cookie the server signed for this session), and
// a flash cookie made up by someone else is ignored.
func TestFlashComesFromTheServerNotTheURL(t *testing.T) {
	t.Parallel()
	b := setup(t, withJetStream(t))
	client, csrf := b.signedIn(t)
	const spoof = "Your account is locked: call +1-555-0100"
	for _, p := range []string{"/deadletters?done=", "/quarantine?done="} {
		resp, err := client.Get(b.srv.URL + p + url.QueryEscape(spoof))
		require.NoError(t, err)
		page := readAll(t, resp)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.NotContains(t, page, "Your account is locked", p)
		require.NotContains(t, page, `id="flash"`, p)
	}

	id := b.deadLetter(t, "dl-flash", person("dl-flash", "Dee", "dee@example.com", ""))
	resp, err := client.PostForm(b.srv.URL+"/deadletters/"+itoa(id)+"/replay", url.Values{"csrf": {csrf}})
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	require.Equal(t, "/deadletters", resp.Header.Get("Location"), "the message is not in the URL")
	resp, err = client.Get(b.srv.URL + "/deadletters")
	require.NoError(t, err)
	page := readAll(t, resp)
	require.Contains(t, page, `id="flash"`)
	require.Contains(t, page, "Replayed dead letter "+itoa(id))
	resp, err = client.Get(b.srv.URL + "/deadletters")
	require.NoError(t, err)
	require.NotContains(t, readAll(t, resp), `id="flash"`, "a flash shows once")

	u, _ := url.Parse(b.srv.URL)
	client.Jar.SetCookies(u, []*http.Cookie{{Name: console.FlashCookie, Value: "WW91ciBhY2NvdW50IGlzIGxvY2tlZA.forged", Path: "/"}})
	resp, err = client.Get(b.srv.URL + "/deadletters")
	require.NoError(t, err)
	page = readAll(t, resp)
	require.NotContains(t, page, `id="flash"`)
	require.NotContains(t, page, "locked")
}
