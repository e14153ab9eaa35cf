package worker_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline"
	"github.com/saleassist-pipeline/pipeline/internal/testkit"
	"github.com/saleassist-pipeline/pipeline/pkg/account"
	"github.com/saleassist-pipeline/pipeline/pkg/queue"
	"github.com/saleassist-pipeline/pipeline/pkg/worker"
)

// sloppy returns the fixture as event id of type typ, after edit changed its decoded document.
func (b *testBundle) sloppy(t *testing.T, id, typ string, edit func(doc, payload, person map[string]any)) *pipeline.Event {
	t.Helper()
	body := testkit.EditFixture(t, id, func(doc, payload, person map[string]any) {
		doc["event_type"] = typ
		edit(doc, payload, person)
	})
	return testkit.NewEvent(id, typ, body)
}

// One cosmetic field out of shape no longer loses the lead: the event and its lead are stored,
// the violation is recorded in events.invalid and counted, nothing is dead-lettered; an unknown
// type with the same envelope fault is treated the same way. Before the fix each of the
// widget_new_conversation events went to the dead-letter stream with its lead.
func TestSloppyFieldsAreStoredAndRecorded(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.start(t)

	cases := []struct {
		id, typ, pointer string
		edit             func(doc, payload, person map[string]any)
	}{
		{"lat-95", wnc, "/payload/people_detail/widget_latitude", func(_, _, pd map[string]any) { pd["widget_latitude"] = 95 }},
		{"name-num", wnc, "/payload/people_detail/name", func(_, _, pd map[string]any) {
			pd["name"], pd["email"] = 12345, "numbers@x.in" // a person of their own
		}},
		{"neg-duration", wnc, "/payload/meta/0/duration", func(_, p, _ map[string]any) {
			p["meta"].([]any)[0].(map[string]any)["duration"] = -30
		}},
		{"meta-string", wnc, "/metadata", func(doc, _, _ map[string]any) { doc["metadata"] = "x" }},
		{"unknown-meta-string", "widget_something_new", "/metadata", func(doc, _, _ map[string]any) { doc["metadata"] = "x" }},
	}
	for _, tc := range cases {
		b.publish(t, b.qc.NewMsg(b.sloppy(t, tc.id, tc.typ, tc.edit)))
	}
	require.Eventually(t, func() bool { return b.storedEvents(t) == int64(len(cases)) }, waitFor, tick)
	b.requireSettled(t)
	require.Empty(t, b.deadLetters(t))

	for _, tc := range cases {
		ev, err := b.store.Event(context.Background(), account.Default, tc.id)
		require.NoError(t, err, tc.id)
		require.NotZero(t, ev.LeadID, "%s: the lead is stored", tc.id)
		require.Contains(t, ev.Invalid, "schema: document does not match", tc.id)
		require.Contains(t, ev.Invalid, tc.pointer, tc.id)
		require.Equal(t, tc.typ, ev.EventType)
	}
	l, err := b.store.Lead(context.Background(), account.Default, b.leadOf(t, "lat-95"))
	require.NoError(t, err)
	require.Equal(t, "prakashm@athenabpo.in", l.Email)

	require.Equal(t, float64(4), b.events(t, wnc, worker.OutcomeStored))
	require.Equal(t, float64(1), b.events(t, "other", worker.OutcomeUnknownType))
	require.Zero(t, b.events(t, wnc, worker.OutcomeInvalid))
	require.Equal(t, float64(4), testkit.RequireMetric(t, b.reg, "saleassist_worker_events_invalid_total", map[string]string{"account": "default", "event_type": wnc}))
	require.Equal(t, float64(1), testkit.RequireMetric(t, b.reg, "saleassist_worker_events_invalid_total", map[string]string{"account": "default", "event_type": "other"}))
	_, ok := testkit.Metric(t, b.reg, "saleassist_worker_events_invalid_total", map[string]string{"account": "default", "event_type": "widget_something_new"})
	require.False(t, ok, "unknown event types must not become label values")

	// A name sent as a number is kept as its text.
	ev, err := b.store.Event(context.Background(), account.Default, "name-num")
	require.NoError(t, err)
	l, err = b.store.Lead(context.Background(), account.Default, ev.LeadID)
	require.NoError(t, err)
	require.Equal(t, "12345", l.Name)

	list, err := b.store.InvalidEvents(context.Background(), account.Default, 100)
	require.NoError(t, err)
	require.Len(t, list, len(cases))
}

// What the pipeline cannot make sense of still goes to the dead-letter stream, known type or
// not: an envelope without a payload object; a widget_new_conversation from which no person
// could be read.
func TestEventsWithoutUsableShapeAreDeadLettered(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.start(t)

	for _, ev := range []*pipeline.Event{
		{ID: "nopayload-1", Type: wnc, Body: []byte(`{"event_type":"widget_new_conversation","payload":"x"}`)},
		{ID: "nopayload-2", Type: "widget_something_new", Body: []byte(`{"event_type":"widget_something_new","payload":[1]}`)},
		{ID: "noperson-1", Type: wnc, Body: []byte(`{"event_type":"widget_new_conversation","payload":{"id":"noperson-1","people_detail":"Asha, a@b.in"}}`)},
	} {
		ev.ReceivedAt = time.Now()
		b.publish(t, b.qc.NewMsg(ev))
	}
	dls := b.awaitDeadLetters(t, 3)
	b.requireSettled(t)
	for _, dl := range dls {
		require.Equal(t, worker.ReasonInvalid, dl.Header.Get(queue.HeaderDLQReason), dl.Header.Get(queue.HeaderEventID))
		require.Contains(t, dl.Header.Get(queue.HeaderDLQError), "/payload")
	}
	require.Contains(t, dls[2].Header.Get(queue.HeaderDLQError), "no person could be read")
	require.Zero(t, b.storedEvents(t))
	require.Equal(t, float64(2), b.events(t, wnc, worker.OutcomeInvalid))
	require.Equal(t, float64(1), b.events(t, "other", worker.OutcomeInvalid))
}
