package mapping

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline"
)

func TestMeetingFromPayloadFixture(t *testing.T) {
	t.Parallel()

	mt := MeetingFromPayload(loadFixture(t))
	require.NotNil(t, mt)
	require.Equal(t, pipeline.Meeting{
		ID:           "6380dc9b-3af9-4362-b7b1-32d47c13df4f",
		Name:         "Meeting with +918765875687",
		ScheduledAt:  time.UnixMilli(1720695600000).UTC(),
		Status:       "SCHEDULED",
		MeetingURL:   "https://meet.saleassist.ai/82dcc3da-8f70-45fb-ac26-c265af7838f4?user_identity=+918765875687",
		Participants: []string{"+918765875687"},
		Timezone:     "Asia/Calcutta",
		DurationMin:  30,
	}, *mt)
	// The sample's date_time_ist is "2024-07-11T16:30": scheduled_time is that instant.
	ist := time.FixedZone("IST", 5*3600+1800)
	require.Equal(t, "2024-07-11T16:30", mt.ScheduledAt.In(ist).Format("2006-01-02T15:04"))
	require.Equal(t, time.UTC, mt.ScheduledAt.Location())
}

func TestMeetingFromPayloadNone(t *testing.T) {
	t.Parallel()

	for name, payload := range map[string]map[string]any{
		"no meta":        {"id": "e1"},
		"meta null":      {"meta": nil},
		"meta object":    {"meta": map[string]any{"id": "m1"}},
		"meta empty":     {"meta": []any{}},
		"meta[0] string": {"meta": []any{"m1"}},
		"meta[0] null":   {"meta": []any{nil, map[string]any{"id": "m1"}}},
		"no id":          {"meta": []any{map[string]any{"meeting_name": "Demo"}}},
		"blank id":       {"meta": []any{map[string]any{"id": "  "}}},
		"object id":      {"meta": []any{map[string]any{"id": map[string]any{}}}},
	} {
		require.Nil(t, MeetingFromPayload(payload), name)
	}
}

func TestMeetingFromPayloadFields(t *testing.T) {
	t.Parallel()

	meeting := func(fields map[string]any) map[string]any {
		m0 := map[string]any{"id": "m1"}
		for k, v := range fields {
			m0[k] = v
		}
		return map[string]any{"meta": []any{m0}}
	}
	tests := []struct {
		name    string
		payload map[string]any
		want    pipeline.Meeting
	}{
		{"id only", meeting(nil), pipeline.Meeting{ID: "m1"}},
		{
			"meeting_url from meta[0] when not at top level",
			meeting(map[string]any{"meeting_url": "https://meet.example/x"}),
			pipeline.Meeting{ID: "m1", MeetingURL: "https://meet.example/x"},
		},
		{
			"top-level meeting_url wins",
			func() map[string]any {
				p := meeting(map[string]any{"meeting_url": "https://meet.example/meta"})
				p["meeting_url"] = "https://meet.example/top"
				return p
			}(),
			pipeline.Meeting{ID: "m1", MeetingURL: "https://meet.example/top"},
		},
		{
			"duration without mode is minutes",
			meeting(map[string]any{"duration": json.Number("45")}),
			pipeline.Meeting{ID: "m1", DurationMin: 45},
		},
		{
			"duration in an unknown mode is left out",
			meeting(map[string]any{"duration": json.Number("2"), "duration_mode": "hour"}),
			pipeline.Meeting{ID: "m1"},
		},
		{
			"fractional and string durations",
			meeting(map[string]any{"duration": "29.6", "duration_mode": "MIN"}),
			pipeline.Meeting{ID: "m1", DurationMin: 30},
		},
		{
			"negative duration",
			meeting(map[string]any{"duration": json.Number("-5")}),
			pipeline.Meeting{ID: "m1"},
		},
		{
			"scheduled_time 0 stays zero",
			meeting(map[string]any{"scheduled_time": json.Number("0")}),
			pipeline.Meeting{ID: "m1"},
		},
		{
			"participants skip blanks and keep numbers as text",
			meeting(map[string]any{"participants": []any{" a@b.in ", "", nil, json.Number("8373916383"), map[string]any{}}}),
			pipeline.Meeting{ID: "m1", Participants: []string{"a@b.in", "8373916383"}},
		},
		{
			"numeric id",
			map[string]any{"meta": []any{map[string]any{"id": json.Number("17")}}},
			pipeline.Meeting{ID: "17"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			mt := MeetingFromPayload(tt.payload)
			require.NotNil(t, mt)
			require.Equal(t, tt.want, *mt)
		})
	}
}
