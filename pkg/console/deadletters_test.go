package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/pkg/queue"
)

// badPerson is the event a worker dead-letters as invalid: no person can be read from a
// people_detail that is a string.
func badPerson(id string) []byte {
	return fmt.Appendf(nil, `{"event_type":"widget_new_conversation","payload":{"id":%q,"people_detail":"Asha Rao, 9876543210"},"metadata":{}}`, id)
}

const invalidError = "schema validation failed: no person could be read from payload.people_detail"

type dlList struct {
	DeadLetters []struct {
		ID          uint64 `json:"id"`
		EventID     string `json:"event_id"`
		Reason      string `json:"reason"`
		NeedsChange bool   `json:"needs_change"`
	} `json:"dead_letters"`
}

// A dead letter whose reason says the event is bad is not replayed as it is: that was the loop
// ("replayed", then the same event straight back under a new dead-letter id). The plain replay
// is 409 needs_change and publishes nothing; a corrected body that changes the event id, or is
// not an event, is 422 and publishes nothing; a corrected body goes to the events stream with
// the original event id, and the dead letter is gone. Every attempt is counted by outcome.
func TestPermanentDeadLetterNeedsAChangedBody(t *testing.T) {
	t.Parallel()
	b := setup(t, withJetStream(t))
	id := b.deadLetterAs(t, "dl-bad", "invalid", invalidError, badPerson("dl-bad"))
	var l dlList
	b.getJSON(t, "/api/deadletters", &l)
	require.Len(t, l.DeadLetters, 1)
	require.True(t, l.DeadLetters[0].NeedsChange)

	replay := "/api/deadletters/" + itoa(id) + "/replay"
	code, body := b.do(t, http.MethodPost, replay, nil, true)
	require.Equal(t, http.StatusConflict, code, string(body))
	c, msg := apiErr(t, body)
	require.Equal(t, "needs_change", c)
	require.Contains(t, msg, "corrected body")
	require.Zero(t, b.streamMsgs(t, queue.DefaultStream), "a refused replay publishes nothing: the event cannot come back")
	b.getJSON(t, "/api/deadletters", &l)
	require.Len(t, l.DeadLetters, 1)
	require.Equal(t, id, l.DeadLetters[0].ID, "the same dead letter, not a new one")

	// The body it has, re-indented, is no correction: it would come straight back.
	code, body = b.do(t, http.MethodPost, replay, strings.NewReader("  "+string(badPerson("dl-bad"))+"\n"), true, "Content-Type", "application/json")
	require.Equal(t, http.StatusConflict, code, string(body))
	c, msg = apiErr(t, body)
	require.Equal(t, "needs_change", c)
	require.Contains(t, msg, "is the body it has")
	for _, tc := range []struct{ body, code, want string }{
		{string(person("another-id", "Asha Rao", "asha@example.com", "")), "not_replayable", `"another-id"`},
		{`{"event_type":"widget_new_conversation" "payload":{}}`, "not_replayable", "invalid_json"},
		{`[]`, "not_replayable", "not an acceptable event"},
	} {
		code, body = b.do(t, http.MethodPost, replay, strings.NewReader(tc.body), true, "Content-Type", "application/json")
		require.Equal(t, http.StatusUnprocessableEntity, code, string(body))
		c, msg = apiErr(t, body)
		require.Equal(t, tc.code, c)
		require.Contains(t, msg, tc.want)
	}
	require.Zero(t, b.streamMsgs(t, queue.DefaultStream))

	var one struct {
		DeadLetter struct {
			EventID     string `json:"event_id"`
			NeedsChange bool   `json:"needs_change"`
		} `json:"dead_letter"`
		Body string `json:"body"`
	}
	b.getJSON(t, "/api/deadletters/"+itoa(id), &one)
	require.Equal(t, "dl-bad", one.DeadLetter.EventID)
	require.JSONEq(t, string(badPerson("dl-bad")), one.Body)

	fixed := "{\r\n  \"event_type\": \"widget_new_conversation\",\r\n  \"payload\": {\"id\": \"dl-bad\", \"people_detail\": {\"name\": \"Asha Rao\", \"mobile_number\": \"9876543210\"}}\r\n}"
	code, body = b.do(t, http.MethodPost, replay, strings.NewReader(fixed), true, "Content-Type", "application/json")
	require.Equal(t, http.StatusOK, code, string(body))
	var rep struct {
		Replayed struct {
			EventID string `json:"event_id"`
		} `json:"replayed"`
		Corrected bool `json:"corrected"`
	}
	require.NoError(t, json.Unmarshal(body, &rep))
	require.Equal(t, "dl-bad", rep.Replayed.EventID)
	require.True(t, rep.Corrected)
	require.EqualValues(t, 1, b.streamMsgs(t, queue.DefaultStream))
	m := b.lastEvent(t)
	require.Equal(t, "dl-bad", m.Header.Get(queue.HeaderEventID), "the event id stays the original one")
	require.JSONEq(t, fixed, string(m.Data))
	require.NotContains(t, string(m.Data), "\r\n", "the body is compacted, as a sender's is")
	b.getJSON(t, "/api/deadletters", &l)
	require.Empty(t, l.DeadLetters)

	// A transient one is replayed as it is; unchanged=true takes a permanent one as it is.
	tid := b.deadLetter(t, "dl-transient", person("dl-transient", "T", "t@example.com", ""))
	pid := b.deadLetterAs(t, "dl-perm", "permanent", "handler said no", person("dl-perm", "P", "p@example.com", ""))
	code, body = b.do(t, http.MethodPost, "/api/deadletters/"+itoa(tid)+"/replay", nil, true)
	require.Equal(t, http.StatusOK, code, string(body))
	code, body = b.do(t, http.MethodPost, "/api/deadletters/"+itoa(pid)+"/replay?unchanged=maybe", nil, true)
	require.Equal(t, http.StatusBadRequest, code, string(body))
	code, body = b.do(t, http.MethodPost, "/api/deadletters/"+itoa(pid)+"/replay?unchanged=true", nil, true)
	require.Equal(t, http.StatusOK, code, string(body))
	require.EqualValues(t, 3, b.streamMsgs(t, queue.DefaultStream))

	metrics := b.metrics(t)
	require.Contains(t, metrics, `saleassist_console_replays_total{kind="dead_letter",outcome="refused"} 5`)
	require.Contains(t, metrics, `saleassist_console_replays_total{kind="dead_letter",outcome="replayed"} 3`)
	require.Contains(t, metrics, `saleassist_console_replays_total{kind="dead_letter",outcome="failed"} 0`)
}

// lastEvent is the last message of the events stream.
func (b *testBundle) lastEvent(t *testing.T) *struct {
	Header http.Header
	Data   []byte
} {
	t.Helper()
	s, err := b.js.JS.Stream(context.Background(), queue.DefaultStream)
	require.NoError(t, err)
	m, err := s.GetLastMsgForSubject(context.Background(), ">")
	require.NoError(t, err)
	return &struct {
		Header http.Header
		Data   []byte
	}{http.Header(m.Header), m.Data}
}

// metrics is the console's /metrics, which needs no token.
func (b *testBundle) metrics(t *testing.T) string {
	t.Helper()
	code, body := b.do(t, http.MethodGet, "/metrics", nil, false)
	require.Equal(t, http.StatusOK, code)
	return string(body)
}

// Discard takes a reason (refused without one), moves the dead letter to the discarded ones, and
// the Discarded list (API and page) shows the reason and the time.
func TestDiscardDeadLetter(t *testing.T) {
	t.Parallel()
	b := setup(t, withJetStream(t))
	id := b.deadLetterAs(t, "dl-gone", "invalid", invalidError, badPerson("dl-gone"))
	discard := "/api/deadletters/" + itoa(id) + "/discard"
	for _, body := range []string{`{}`, `{"reason":"   "}`} {
		code, out := b.do(t, http.MethodPost, discard, strings.NewReader(body), true, "Content-Type", "application/json")
		require.Equal(t, http.StatusUnprocessableEntity, code, string(out))
		c, msg := apiErr(t, out)
		require.Equal(t, "invalid_reason", c)
		require.Contains(t, msg, "needs a reason")
	}
	code, out := b.do(t, http.MethodPost, discard, strings.NewReader(`{"reason":`), true, "Content-Type", "application/json")
	require.Equal(t, http.StatusBadRequest, code, string(out))

	var empty struct {
		Discarded []any `json:"discarded"`
	}
	b.getJSON(t, "/api/deadletters/discarded", &empty)
	require.NotNil(t, empty.Discarded)
	require.Empty(t, empty.Discarded)

	code, out = b.do(t, http.MethodPost, discard, strings.NewReader(`{"reason":"test lead from the <b>demo</b> widget"}`), true, "Content-Type", "application/json")
	require.Equal(t, http.StatusOK, code, string(out))
	var l dlList
	b.getJSON(t, "/api/deadletters", &l)
	require.Empty(t, l.DeadLetters)
	var list struct {
		Discarded []struct {
			ID            uint64 `json:"id"`
			EventID       string `json:"event_id"`
			Reason        string `json:"reason"`
			DiscardReason string `json:"discard_reason"`
			DiscardedAt   string `json:"discarded_at"`
		} `json:"discarded"`
	}
	b.getJSON(t, "/api/deadletters/discarded", &list)
	require.Len(t, list.Discarded, 1)
	d := list.Discarded[0]
	require.Equal(t, id, d.ID)
	require.Equal(t, "dl-gone", d.EventID)
	require.Equal(t, "invalid", d.Reason)
	require.Equal(t, "test lead from the <b>demo</b> widget", d.DiscardReason)
	require.NotEmpty(t, d.DiscardedAt)

	code, page := b.do(t, http.MethodGet, "/deadletters/discarded", nil, true)
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, string(page), "test lead from the &lt;b&gt;demo&lt;/b&gt; widget")
	require.Contains(t, string(page), "dl-gone")
	require.Zero(t, b.streamMsgs(t, queue.DefaultStream), "a discard replays nothing")
}

// The pages: a permanent dead letter has Edit and replay and Discard, no Replay button; a
// transient one keeps its Replay button. A plain replay posted anyway, or a corrected body that
// is refused, shows the edit page again with the error at the top (focused) and what was typed.
func TestDeadLetterPages(t *testing.T) {
	t.Parallel()
	b := setup(t, withJetStream(t))
	bad := b.deadLetterAs(t, "dl-page-bad", "invalid", invalidError, badPerson("dl-page-bad"))
	ok := b.deadLetter(t, "dl-page-ok", person("dl-page-ok", "O", "o@example.com", ""))
	client, csrf := b.signedIn(t)
	get := func(p string) (int, string) {
		resp, err := client.Get(b.srv.URL + p)
		require.NoError(t, err)
		return resp.StatusCode, readAll(t, resp)
	}
	code, page := get("/deadletters")
	require.Equal(t, http.StatusOK, code)
	require.NotContains(t, page, `id="replay-dl-`+itoa(bad)+`"`, "no plain replay for a permanent dead letter")
	require.Contains(t, page, `id="edit-dl-`+itoa(bad)+`"`)
	require.Contains(t, page, `id="discard-dl-`+itoa(bad)+`"`)
	require.Contains(t, page, `id="replay-dl-`+itoa(ok)+`"`)
	require.NotContains(t, page, `id="edit-dl-`+itoa(ok)+`"`)

	code, page = get("/deadletters/" + itoa(bad))
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, page, `<textarea name="body" id="body"`)
	require.Contains(t, page, "&#34;people_detail&#34;: &#34;Asha Rao, 9876543210&#34;", "the stored body, indented, escaped")
	require.Contains(t, page, `<code id="event-id">dl-page-bad</code>`)

	post := func(p string, form url.Values) (int, string) {
		form.Set("csrf", csrf)
		resp, err := client.PostForm(b.srv.URL+p, form)
		require.NoError(t, err)
		return resp.StatusCode, readAll(t, resp)
	}
	code, page = post("/deadletters/"+itoa(bad)+"/replay", url.Values{})
	require.Equal(t, http.StatusConflict, code)
	require.Contains(t, page, `id="error" role="alert" tabindex="-1" autofocus`)
	require.Contains(t, page, "would fail the same way")
	require.Contains(t, page, `id="edit-form"`)

	typed := `{"event_type":"widget_new_conversation","payload":{"id":"not-the-same","people_detail":{"name":"<i>A</i>"}}}`
	code, page = post("/deadletters/"+itoa(bad)+"/replay", url.Values{"body": {typed}})
	require.Equal(t, http.StatusUnprocessableEntity, code)
	require.Contains(t, page, "keep the event id")
	require.Contains(t, page, "&lt;i&gt;A&lt;/i&gt;", "what was typed is kept, as text")
	require.NotContains(t, page, "<i>A</i>")

	code, page = post("/deadletters/"+itoa(bad)+"/discard", url.Values{"reason": {" "}})
	require.Equal(t, http.StatusUnprocessableEntity, code)
	require.Contains(t, page, "needs a reason")
	require.Zero(t, b.streamMsgs(t, queue.DefaultStream))

	fixed := strings.Replace(typed, "not-the-same", "dl-page-bad", 1)
	resp, err := client.PostForm(b.srv.URL+"/deadletters/"+itoa(bad)+"/replay", url.Values{"csrf": {csrf}, "body": {fixed}})
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	code, page = get("/deadletters")
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, page, "Replayed dead letter "+itoa(bad)+" with the corrected body")
	require.NotContains(t, page, `<tr id="dl-`+itoa(bad)+`"`, "gone from the list")
	require.EqualValues(t, 1, b.streamMsgs(t, queue.DefaultStream))

	resp, err = client.PostForm(b.srv.URL+"/deadletters/"+itoa(ok)+"/discard", url.Values{"csrf": {csrf}, "reason": {"duplicate of a lead entered by hand"}})
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	_, page = get("/deadletters/discarded")
	require.Contains(t, page, "duplicate of a lead entered by hand")
	code, page = get("/deadletters/" + itoa(ok))
	require.Equal(t, http.StatusNotFound, code)
	require.Contains(t, page, "does not exist")
}
