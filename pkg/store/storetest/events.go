package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline"
	"github.com/saleassist-pipeline/pipeline/pkg/store"
)

func testDuplicateSeparateBatches(t *testing.T, s store.Store) {
	id := stored(t, s, record("ev-1", &pipeline.Lead{Email: "asha@example.com", Name: "Asha", SeenAt: t0}))
	before := getLead(t, s, id)

	// A retry carrying newer information is still the same event: nothing may change.
	dup := record("ev-1", &pipeline.Lead{Email: "asha@example.com", Name: "Changed", SeenAt: t0.Add(time.Hour)})
	dup.Meeting = &pipeline.Meeting{ID: "m-1"}
	r := apply(t, s, dup)[0]
	require.Equal(t, pipeline.Duplicate, r.Outcome)
	require.Equal(t, id, r.LeadID)
	require.Equal(t, store.Counts{Leads: 1, Events: 1}, counts(t, s))
	require.Equal(t, before, getLead(t, s, id))
}

func testDuplicateOneBatch(t *testing.T, s store.Store) {
	first := record("ev-1", &pipeline.Lead{Email: "asha@example.com", Name: "Asha", SeenAt: t0})
	second := record("ev-1", &pipeline.Lead{Email: "other@example.com", Name: "Other", SeenAt: t0.Add(time.Hour)})
	res := apply(t, s, first, second)
	require.Equal(t, pipeline.Stored, res[0].Outcome)
	require.Equal(t, pipeline.Duplicate, res[1].Outcome)
	require.Equal(t, res[0].LeadID, res[1].LeadID)
	require.Equal(t, store.Counts{Leads: 1, Events: 1}, counts(t, s))
	require.Equal(t, "Asha", getLead(t, s, res[0].LeadID).Name)
	_, err := s.LeadByEmail(t.Context(), "", "other@example.com")
	require.ErrorIs(t, err, store.ErrNotFound)
}

func testNoLead(t *testing.T, s store.Store) {
	rec := record("ev-1", nil)
	rec.EventType = "some_undocumented_event"
	r := apply(t, s, rec)[0]
	require.Equal(t, pipeline.Stored, r.Outcome)
	require.Zero(t, r.LeadID)
	ev, err := s.Event(t.Context(), "", "ev-1")
	require.NoError(t, err)
	require.Zero(t, ev.LeadID)
	require.Equal(t, "some_undocumented_event", ev.EventType)
	require.Equal(t, store.Counts{Events: 1}, counts(t, s))
}

func testInvalid(t *testing.T, s store.Store) {
	bad := record("ev-1", nil)
	bad.Invalid = "payload.people_detail: expected object, got string"
	apply(t, s, bad, record("ev-2", nil))
	ev, err := s.Event(t.Context(), "", "ev-1")
	require.NoError(t, err)
	require.Equal(t, bad.Invalid, ev.Invalid)
	ev, err = s.Event(t.Context(), "", "ev-2")
	require.NoError(t, err)
	require.Empty(t, ev.Invalid)
}

func testInvalidEvents(t *testing.T, s store.Store) {
	none, err := s.InvalidEvents(t.Context(), "", 10)
	require.NoError(t, err)
	require.NotNil(t, none)
	require.Empty(t, none)

	var recs []pipeline.Record
	for i, id := range []string{"ev-a", "ev-b", "ev-c", "ev-d", "ev-e"} {
		rec := record(id, &pipeline.Lead{Email: "asha@example.com", SeenAt: t0})
		rec.ReceivedAt = t0.Add(time.Duration(i) * time.Minute)
		if id != "ev-c" { // valid: never listed
			rec.Invalid = "schema: " + id
		}
		recs = append(recs, rec)
	}
	recs[4].ReceivedAt = recs[3].ReceivedAt // a tie: the larger event id first
	apply(t, s, recs...)

	got, err := s.InvalidEvents(t.Context(), "", 3)
	require.NoError(t, err)
	require.Len(t, got, 3)
	var ids []string
	for _, ev := range got {
		ids = append(ids, ev.EventID)
		require.Equal(t, "schema: "+ev.EventID, ev.Invalid)
		require.NotZero(t, ev.LeadID)
		require.Equal(t, "widget_new_conversation", ev.EventType)
		require.NotEmpty(t, ev.Payload)
	}
	require.Equal(t, []string{"ev-e", "ev-d", "ev-b"}, ids)
	require.Equal(t, t0.Add(3*time.Minute), got[0].ReceivedAt)

	all, err := s.InvalidEvents(t.Context(), "", 100)
	require.NoError(t, err)
	require.Len(t, all, 4)
	zero, err := s.InvalidEvents(t.Context(), "", 0)
	require.NoError(t, err)
	require.Empty(t, zero)
}

func testMeeting(t *testing.T, s store.Store) {
	rec := record("ev-1", &pipeline.Lead{Email: "asha@example.com", SeenAt: t0})
	rec.Meeting = &pipeline.Meeting{ID: "m-1", Name: "Sofa demo", ScheduledAt: t0.Add(24 * time.Hour),
		Status: "scheduled", MeetingURL: "https://example.com/m/1",
		Participants: []string{"+919876543210"}, Timezone: "Asia/Kolkata", DurationMin: 30}
	id := stored(t, s, rec)
	require.Equal(t, store.Counts{Leads: 1, Events: 1, Meetings: 1}, counts(t, s))

	again := record("ev-2", &pipeline.Lead{Email: "asha@example.com", SeenAt: t0.Add(time.Hour)})
	again.Meeting = &pipeline.Meeting{ID: "m-1", Status: "completed"}
	require.Equal(t, id, stored(t, s, again))
	require.Equal(t, store.Counts{Leads: 1, Events: 2, Meetings: 1}, counts(t, s))

	other := record("ev-3", nil)
	other.Meeting = &pipeline.Meeting{ID: "m-2"}
	stored(t, s, other)
	require.Equal(t, store.Counts{Leads: 1, Events: 3, Meetings: 2}, counts(t, s))
}

func testBadRecordIsolated(t *testing.T, s store.Store) {
	// An empty event id and a meeting without an id are rejected; their leads must leave no trace.
	noID := record("", &pipeline.Lead{Email: "noid@example.com", SeenAt: t0})
	badMeeting := record("ev-bad", &pipeline.Lead{Email: "meeting@example.com", SeenAt: t0})
	badMeeting.Meeting = &pipeline.Meeting{ID: ""}
	good1 := record("ev-1", &pipeline.Lead{Email: "one@example.com", SeenAt: t0})
	good2 := record("ev-2", &pipeline.Lead{Email: "two@example.com", SeenAt: t0})

	res, err := s.Apply(t.Context(), []pipeline.Record{good1, noID, badMeeting, good2})
	require.NoError(t, err)
	require.Len(t, res, 4)
	for _, i := range []int{0, 3} {
		require.NoError(t, res[i].Err)
		require.Equal(t, pipeline.Stored, res[i].Outcome)
	}
	for _, i := range []int{1, 2} {
		require.Error(t, res[i].Err, "record %d", i)
		require.True(t, store.IsDataError(res[i].Err), "record %d: a data error, no retry can fix it: %v", i, res[i].Err)
		require.Zero(t, res[i].LeadID)
	}
	require.Equal(t, store.Counts{Leads: 2, Events: 2}, counts(t, s))
	for _, email := range []string{"noid@example.com", "meeting@example.com"} {
		_, err := s.LeadByEmail(t.Context(), "", email)
		require.ErrorIs(t, err, store.ErrNotFound, email)
	}
	_, err = s.Event(t.Context(), "", "ev-bad")
	require.ErrorIs(t, err, store.ErrNotFound)

	// The failed event id is free: a corrected retry is stored.
	badMeeting.Meeting.ID = "m-1"
	stored(t, s, badMeeting)
	require.Equal(t, store.Counts{Leads: 3, Events: 3, Meetings: 1}, counts(t, s))
}

func testConcurrent(t *testing.T, s store.Store) {
	const (
		workers = 8
		events  = 60
		batch   = 7
	)
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		storedN = map[string]int{}
		errs    []error
	)
	for w := range workers {
		wg.Go(func() {
			// Each worker sends every event, starting at a different offset, in batches.
			var recs []pipeline.Record
			for i := range events {
				n := (i + w*events/workers) % events
				recs = append(recs, record(fmt.Sprintf("ev-%d", n),
					&pipeline.Lead{Email: fmt.Sprintf("l%d@example.com", n%10), SeenAt: t0.Add(time.Duration(n) * time.Second)}))
			}
			for len(recs) > 0 {
				k := min(batch, len(recs))
				res, err := s.Apply(t.Context(), recs[:k])
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
				}
				for i, r := range res {
					if r.Err != nil {
						errs = append(errs, r.Err)
					} else if r.Outcome == pipeline.Stored {
						storedN[recs[i].EventID]++
					}
				}
				mu.Unlock()
				recs = recs[k:]
			}
		})
	}
	wg.Wait()
	require.NoError(t, errors.Join(errs...))
	require.Len(t, storedN, events)
	for id, n := range storedN {
		require.Equal(t, 1, n, id)
	}
	require.Equal(t, store.Counts{Leads: 10, Events: events}, counts(t, s))
}

func testCounts(t *testing.T, s store.Store) {
	require.Equal(t, store.Counts{}, counts(t, s))
	res, err := s.Apply(t.Context(), nil)
	require.NoError(t, err)
	require.Empty(t, res)
	m := record("ev-1", &pipeline.Lead{Email: "a@example.com", SeenAt: t0})
	m.Meeting = &pipeline.Meeting{ID: "m-1"}
	apply(t, s, m, record("ev-2", &pipeline.Lead{Email: "b@example.com", SeenAt: t0}), record("ev-3", nil))
	require.Equal(t, store.Counts{Leads: 2, Events: 3, Meetings: 1}, counts(t, s))
}

func testNotFound(t *testing.T, s store.Store) {
	stored(t, s, record("ev-1", &pipeline.Lead{Email: "a@example.com", SeenAt: t0}))
	_, err := s.Lead(t.Context(), "", 999999)
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.LeadByEmail(t.Context(), "", "nobody@example.com")
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.LeadByEmail(t.Context(), "", "")
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.Event(t.Context(), "", "no-such-event")
	require.ErrorIs(t, err, store.ErrNotFound)
}

// testNULStorable: a record carrying U+0000 (valid in a JSON string) in the name, an attribute
// key and value, the email and the meeting, made storable by store.Storable (as the worker does
// before Apply), is stored whole by every store, which all read back the same lead: U+FFFD in
// place of each U+0000, the event saying so, the payload byte for byte as sent.
func testNULStorable(t *testing.T, s store.Store) {
	rec := record("ev-nul", &pipeline.Lead{
		Name:  "Asha\x00 Rao",
		Email: "asha\x00@example.com",
		Attributes: map[string]json.RawMessage{
			"no\x00te": json.RawMessage(`"a\u0000b"`),
			"list":     json.RawMessage(`["\u0000",{"k\u0000":"\ud800"}]`),
		},
		SeenAt: t0,
	})
	rec.Payload = []byte(`{"event_type":"widget_new_conversation","payload":{"id":"ev-nul","people_detail":{"name":"Asha\u0000 Rao"}},"metadata":{}}`)
	rec.Meeting = &pipeline.Meeting{ID: "m\x00", Name: "demo\x00", Participants: []string{"p\x00"}, ScheduledAt: t0}
	require.True(t, store.Storable(&rec))
	id := stored(t, s, rec)

	requireLead(t, pipeline.Lead{
		Name:  "Asha\uFFFD Rao",
		Email: "asha\uFFFD@example.com",
		Attributes: attrs(
			"no\uFFFDte", strings.ReplaceAll(`"a<?>b"`, "<?>", "\uFFFD"),
			"list", strings.ReplaceAll(`["<?>",{"k<?>":"<?>"}]`, "<?>", "\uFFFD"),
		),
		SeenAt: t0,
	}, getLead(t, s, id))
	byEmail, err := s.LeadByEmail(t.Context(), "", "asha\uFFFD@example.com")
	require.NoError(t, err)
	require.Equal(t, id, byEmail.ID)

	ev, err := s.Event(t.Context(), "", "ev-nul")
	require.NoError(t, err)
	require.Equal(t, "text: U+0000 or bytes not UTF-8 replaced by U+FFFD in name, email, attributes, meeting.id, meeting.name, meeting.participants", ev.Invalid)
	require.Equal(t, string(rec.Payload), string(ev.Payload))
	require.Equal(t, store.Counts{Leads: 1, Events: 1, Meetings: 1}, counts(t, s))
}
