package handlers_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline"
	"github.com/saleassist-pipeline/pipeline/internal/testkit"
	"github.com/saleassist-pipeline/pipeline/pkg/handlers"
	"github.com/saleassist-pipeline/pipeline/pkg/mapping"
)

const meetingID = "6380dc9b-3af9-4362-b7b1-32d47c13df4f"

type testBundle struct {
	mapper   *mapping.Mapper
	fixture  []byte
	received time.Time
}

func setup(t *testing.T) *testBundle {
	t.Helper()
	m, err := mapping.NewMapper("IN")
	require.NoError(t, err)
	return &testBundle{
		mapper:   m,
		fixture:  testkit.Fixture(t),
		received: time.Date(2024, 7, 11, 10, 43, 0, 0, time.UTC),
	}
}

func (b *testBundle) event(id, typ string, body []byte) *pipeline.Event {
	return testkit.EventAt(id, typ, body, b.received)
}

// requireEventFields checks the part of a record that always comes from the event itself.
func requireEventFields(t *testing.T, ev *pipeline.Event, rec *pipeline.Record) {
	t.Helper()
	require.NotNil(t, rec)
	require.Equal(t, ev.ID, rec.EventID)
	require.Equal(t, ev.Type, rec.EventType)
	require.True(t, ev.ReceivedAt.Equal(rec.ReceivedAt), "ReceivedAt %v, want %v", rec.ReceivedAt, ev.ReceivedAt)
	require.Equal(t, ev.Body, rec.Payload)
	require.Empty(t, rec.Invalid)
}

func TestWidgetNewConversationFixture(t *testing.T) {
	t.Parallel()
	b := setup(t)

	ev := b.event(testkit.FixtureID, pipeline.WidgetNewConversation, b.fixture)
	rec, err := handlers.WidgetNewConversation(b.mapper)(context.Background(), ev)
	require.NoError(t, err)
	requireEventFields(t, ev, rec)

	require.NotNil(t, rec.Lead)
	require.Equal(t, "prakashm@athenabpo.in", rec.Lead.Email)
	require.Equal(t, "Prakash Mudhaliyar", rec.Lead.Name)
	require.Equal(t, "Faridabad", rec.Lead.City)
	require.Equal(t, "Haryana", rec.Lead.State)
	require.Equal(t, "India", rec.Lead.Country)
	require.Equal(t, "9d438aaa-1eaa-496a-a8b3-b4f98367bb0d", rec.Lead.SourceID)
	// payload.updated_on, not the arrival time.
	require.Equal(t, time.UnixMilli(1720694558068).UTC(), rec.Lead.SeenAt)

	require.NotNil(t, rec.Meeting)
	require.Equal(t, meetingID, rec.Meeting.ID)
	require.Equal(t, "SCHEDULED", rec.Meeting.Status)
	require.Equal(t, time.UnixMilli(1720695600000).UTC(), rec.Meeting.ScheduledAt)
	require.Equal(t, 30, rec.Meeting.DurationMin)
}

func TestWidgetNewConversationWithoutPeopleDetail(t *testing.T) {
	t.Parallel()
	b := setup(t)
	h := handlers.WidgetNewConversation(b.mapper)

	for name, body := range map[string]string{
		"no people_detail": `{"event_type":"widget_new_conversation","payload":{"id":"e1"}}`,
		"empty people_detail": `{"event_type":"widget_new_conversation","payload":{"id":"e1",` +
			`"people_detail":{"name":"","email":null}}}`,
		"no payload": `{"event_type":"widget_new_conversation"}`,
	} {
		ev := b.event("e1", pipeline.WidgetNewConversation, []byte(body))
		rec, err := h(context.Background(), ev)
		require.NoError(t, err, name)
		requireEventFields(t, ev, rec)
		require.Nil(t, rec.Lead, name)
		require.Nil(t, rec.Meeting, name)
	}
}

func TestUnknownWithPeopleDetailKeepsLeadNotMeeting(t *testing.T) {
	t.Parallel()
	b := setup(t)

	// The fixture's body under a type nobody knows: the person is kept, but meta[0] is only read
	// by the widget_new_conversation handler.
	ev := b.event(testkit.FixtureID, "widget_something_else", b.fixture)
	rec, err := handlers.Unknown(b.mapper)(context.Background(), ev)
	require.NoError(t, err)
	requireEventFields(t, ev, rec)
	require.NotNil(t, rec.Lead)
	require.Equal(t, "prakashm@athenabpo.in", rec.Lead.Email)
	require.Equal(t, "Faridabad", rec.Lead.City)
	require.Nil(t, rec.Meeting)
}

func TestUnknownWithoutPeopleDetail(t *testing.T) {
	t.Parallel()
	b := setup(t)
	h := handlers.Unknown(b.mapper)

	for name, body := range map[string]string{
		"payload without people_detail": `{"event_type":"x","payload":{"id":"e2","people_detail_elsewhere":{"email":"a@b.c"}}}`,
		"people_detail not an object":   `{"event_type":"x","payload":{"id":"e2","people_detail":"a@b.c"}}`,
		"no payload":                    `{"event_type":"x","metadata":{}}`,
		"payload not an object":         `{"event_type":"x","payload":[1,2]}`,
	} {
		ev := b.event("e2", "x", []byte(body))
		rec, err := h(context.Background(), ev)
		require.NoError(t, err, name)
		requireEventFields(t, ev, rec)
		require.Nil(t, rec.Lead, name)
		require.Nil(t, rec.Meeting, name)
	}
}

func TestUndecodableBodyIsPermanent(t *testing.T) {
	t.Parallel()
	b := setup(t)

	for name, h := range map[string]pipeline.HandlerFunc{
		"widget_new_conversation": handlers.WidgetNewConversation(b.mapper),
		"unknown":                 handlers.Unknown(b.mapper),
	} {
		rec, err := h(context.Background(), b.event("e3", "x", []byte(`{"payload": `)))
		require.Error(t, err, name)
		require.Nil(t, rec, name)
		require.True(t, pipeline.IsPermanent(err), name)
	}
}

func TestNewRouter(t *testing.T) {
	t.Parallel()
	b := setup(t)

	var seen []string
	mw := func(next pipeline.HandlerFunc) pipeline.HandlerFunc {
		return func(ctx context.Context, ev *pipeline.Event) (*pipeline.Record, error) {
			seen = append(seen, ev.Type)
			return next(ctx, ev)
		}
	}
	r := handlers.NewRouter(b.mapper, mw)
	require.True(t, r.Known(pipeline.WidgetNewConversation))
	require.False(t, r.Known("other"))

	// The known type gets its handler (with the meeting), any other type the fallback (without),
	// both through the middleware.
	rec, err := r.Dispatch(context.Background(), b.event(testkit.FixtureID, pipeline.WidgetNewConversation, b.fixture))
	require.NoError(t, err)
	require.NotNil(t, rec.Meeting)
	require.NotNil(t, rec.Lead)

	rec, err = r.Dispatch(context.Background(), b.event(testkit.FixtureID, "other", b.fixture))
	require.NoError(t, err)
	require.Nil(t, rec.Meeting)
	require.NotNil(t, rec.Lead)

	require.Equal(t, []string{pipeline.WidgetNewConversation, "other"}, seen)
}
