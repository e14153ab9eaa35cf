package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline"
	"github.com/saleassist-pipeline/pipeline/pkg/store"
)

// A lead's history is every event linked to it, oldest received first, whatever order they
// were stored in; a lead without events (or no lead) has an empty history.
func testLeadHistory(t *testing.T, s BrowsingStore) {
	late := record("ev-late", &pipeline.Lead{Email: "asha@example.com", SeenAt: t0})
	late.ReceivedAt = t0.Add(time.Hour)
	early := record("ev-early", &pipeline.Lead{Email: "asha@example.com", SeenAt: t0})
	early.ReceivedAt = t0
	id := stored(t, s, late)
	stored(t, s, early)
	stored(t, s, record("ev-other", &pipeline.Lead{Email: "other@example.com", SeenAt: t0}))

	h, err := s.LeadHistory(t.Context(), "", id)
	require.NoError(t, err)
	require.Len(t, h, 2)
	require.Equal(t, "ev-early", h[0].EventID)
	require.Equal(t, "ev-late", h[1].EventID)
	require.Equal(t, "widget_new_conversation", h[0].EventType)
	require.True(t, h[0].ReceivedAt.Equal(t0))
	require.False(t, h[0].StoredAt.IsZero())
	require.False(t, h[1].StoredAt.After(h[0].StoredAt), "ev-late was stored first")

	h, err = s.LeadHistory(t.Context(), "", 999999)
	require.NoError(t, err)
	require.Empty(t, h)
}

func testLeadMeetings(t *testing.T, s BrowsingStore) {
	rec := record("ev-1", &pipeline.Lead{Email: "asha@example.com", SeenAt: t0})
	rec.Meeting = &pipeline.Meeting{ID: "m-2", Name: "Demo", ScheduledAt: t0.Add(48 * time.Hour), Status: "scheduled",
		MeetingURL: "https://example.com/m/2", Participants: []string{"+911", "+912"}, Timezone: "Asia/Kolkata", DurationMin: 30}
	id := stored(t, s, rec)
	rec = record("ev-2", &pipeline.Lead{Email: "asha@example.com", SeenAt: t0})
	rec.Meeting = &pipeline.Meeting{ID: "m-1", ScheduledAt: t0.Add(24 * time.Hour)}
	stored(t, s, rec)

	ms, err := s.LeadMeetings(t.Context(), "", id)
	require.NoError(t, err)
	require.Len(t, ms, 2)
	require.Equal(t, "m-1", ms[0].ID, "earliest scheduled first")
	m := ms[1]
	require.Equal(t, "m-2", m.ID)
	require.Equal(t, id, m.LeadID)
	require.Equal(t, "ev-1", m.EventID)
	require.Equal(t, "Demo", m.Name)
	require.True(t, m.ScheduledAt.Equal(t0.Add(48*time.Hour)))
	require.Equal(t, []string{"+911", "+912"}, m.Participants)
	require.Equal(t, 30, m.DurationMin)
	require.Equal(t, "Asia/Kolkata", m.Timezone)

	ms, err = s.LeadMeetings(t.Context(), "", 999999)
	require.NoError(t, err)
	require.Empty(t, ms)
}

// One batch that names the same meeting four times (and another once) gives what one batch per
// event gives: each later mention overwrites what it sends and keeps the rest, the last event names it.
func testMeetingTwiceInOneBatch(t *testing.T, s BrowsingStore) {
	first := record("ev-1", &pipeline.Lead{Email: "asha@example.com", SeenAt: t0})
	first.Meeting = &pipeline.Meeting{ID: "m-1", Name: "Demo", ScheduledAt: t0.Add(24 * time.Hour), Status: "scheduled",
		MeetingURL: "https://example.com/m/1", Participants: []string{"+911"}, Timezone: "Asia/Kolkata", DurationMin: 30}
	second := record("ev-2", &pipeline.Lead{Email: "asha@example.com", SeenAt: t0.Add(time.Minute)})
	second.Meeting = &pipeline.Meeting{ID: "m-1", Status: "rescheduled", ScheduledAt: t0.Add(48 * time.Hour)}
	other := record("ev-3", &pipeline.Lead{Email: "asha@example.com", SeenAt: t0.Add(2 * time.Minute)})
	other.Meeting = &pipeline.Meeting{ID: "m-2", Name: "Other"}
	third := record("ev-4", &pipeline.Lead{Email: "asha@example.com", SeenAt: t0.Add(3 * time.Minute)})
	third.Meeting = &pipeline.Meeting{ID: "m-1", Status: "completed", Participants: []string{"+911", "+912"}}
	anonymous := record("ev-5", nil) // an event about the meeting that names no person
	anonymous.Meeting = &pipeline.Meeting{ID: "m-1"}
	res := apply(t, s, first, second, other, third, anonymous)
	for i, r := range res {
		require.NoError(t, r.Err, "record %d", i)
		require.Equal(t, pipeline.Stored, r.Outcome, "record %d", i)
	}
	require.Equal(t, store.Counts{Leads: 1, Events: 5, Meetings: 2}, counts(t, s))

	ms, err := s.LeadMeetings(t.Context(), "", res[0].LeadID)
	require.NoError(t, err)
	require.Len(t, ms, 2)
	m := ms[0]
	if m.ID != "m-1" {
		m = ms[1]
	}
	require.Equal(t, "m-1", m.ID)
	require.Equal(t, res[0].LeadID, m.LeadID, "the lead of the last event about it that has one")
	require.Equal(t, "ev-5", m.EventID, "the last event about it")
	require.Equal(t, "Demo", m.Name, "kept from the first")
	require.True(t, m.ScheduledAt.Equal(t0.Add(48*time.Hour)), "from the second: %s", m.ScheduledAt)
	require.Equal(t, "completed", m.Status, "from the third")
	require.Equal(t, []string{"+911", "+912"}, m.Participants)
	require.Equal(t, "https://example.com/m/1", m.MeetingURL)
	require.Equal(t, "Asia/Kolkata", m.Timezone)
	require.Equal(t, 30, m.DurationMin)
}

// Types are counted; the latest events of a type come newest stored first, with payloads.
func testLatestEvents(t *testing.T, s BrowsingStore) {
	for _, id := range []string{"a-1", "a-2", "a-3"} {
		apply(t, s, record(id, nil))
	}
	other := record("b-1", nil)
	other.EventType = "video_tile_click"
	apply(t, s, other)

	types, err := s.EventTypes(t.Context(), "")
	require.NoError(t, err)
	require.Equal(t, []store.TypeCount{{EventType: "video_tile_click", Events: 1}, {EventType: "widget_new_conversation", Events: 3}}, types)

	evs, err := s.LatestEvents(t.Context(), "", "widget_new_conversation", 2)
	require.NoError(t, err)
	require.Len(t, evs, 2)
	require.Equal(t, "a-3", evs[0].EventID)
	require.Equal(t, "a-2", evs[1].EventID)
	require.JSONEq(t, string(record("a-3", nil).Payload), string(evs[0].Payload))

	evs, err = s.LatestEvents(t.Context(), "", "nothing_like_it", 20)
	require.NoError(t, err)
	require.Empty(t, evs)
}

func testStoredPerMinute(t *testing.T, s BrowsingStore) {
	before := time.Now().UTC().Truncate(time.Minute)
	apply(t, s, record("ev-1", nil), record("ev-2", nil))
	apply(t, s, record("ev-3", nil))
	after := time.Now().UTC().Truncate(time.Minute)

	got, err := s.StoredPerMinute(t.Context(), "", time.Now().Add(-time.Hour))
	require.NoError(t, err)
	var total int64
	for _, m := range got {
		require.False(t, m.Minute.Before(before), "minute %v", m.Minute)
		require.False(t, m.Minute.After(after), "minute %v", m.Minute)
		require.Equal(t, m.Minute, m.Minute.Truncate(time.Minute))
		total += m.Events
	}
	require.EqualValues(t, 3, total)

	got, err = s.StoredPerMinute(t.Context(), "", time.Now().Add(time.Hour))
	require.NoError(t, err)
	require.Empty(t, got)
}
