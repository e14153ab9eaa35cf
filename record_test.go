package pipeline_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline"
)

func TestNewRecord(t *testing.T) {
	t.Parallel()

	ev := &pipeline.Event{ID: "e4", Type: "t", ReceivedAt: time.Date(2024, 7, 11, 10, 0, 0, 0, time.UTC), Body: []byte(`{"x":1}`)}
	rec := pipeline.NewRecord(ev)
	require.Equal(t, &pipeline.Record{EventID: "e4", EventType: "t", ReceivedAt: ev.ReceivedAt, Payload: ev.Body}, rec)
}

func TestAddInvalid(t *testing.T) {
	t.Parallel()

	var rec pipeline.Record
	rec.AddInvalid("")
	require.Empty(t, rec.Invalid)
	rec.AddInvalid("schema: /payload: must be object")
	rec.AddInvalid("")
	rec.AddInvalid("seen_at: in the future")
	require.Equal(t, "schema: /payload: must be object"+pipeline.InvalidSep+"seen_at: in the future", rec.Invalid)
}

// A meeting not yet scheduled marshals without scheduled_at (not as year 1).
func TestMeetingJSONOmitsUnscheduledTime(t *testing.T) {
	t.Parallel()
	b, err := json.Marshal(pipeline.Meeting{ID: "m-1"})
	require.NoError(t, err)
	require.JSONEq(t, `{"id":"m-1"}`, string(b))
}
