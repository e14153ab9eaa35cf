package testkit

import (
	"testing"
	"time"

	"github.com/saleassist-pipeline/pipeline"
)

// NewEvent returns the event the ingest would hand on for body: id and type as given, received
// now (UTC).
func NewEvent(id, typ string, body []byte) *pipeline.Event {
	return EventAt(id, typ, body, time.Now().UTC())
}

// EventAt is NewEvent received at a given time, for tests whose outcome depends on it (a lead's
// seen_at falls back to the arrival time).
func EventAt(id, typ string, body []byte, receivedAt time.Time) *pipeline.Event {
	return &pipeline.Event{ID: id, Type: typ, ReceivedAt: receivedAt, Body: body}
}

// FixtureEvent returns the widget_new_conversation fixture as event id, with payload.id set to
// id (WithID), received now.
func FixtureEvent(t testing.TB, id string) *pipeline.Event {
	t.Helper()
	return NewEvent(id, pipeline.WidgetNewConversation, WithID(Fixture(t), id))
}
