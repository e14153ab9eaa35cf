package mapping

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/saleassist-pipeline/pipeline"
)

// MeetingFromPayload extracts the meeting a conversation booked from payload.meta[0], where
// payload is the decoded "payload" object of an event. It returns nil when meta is absent or
// empty, when meta[0] is not an object, or when it has no id: without an id a meeting cannot be
// told apart from the next one.
//
// Fields: id, meeting_name (Name), scheduled_time (epoch milliseconds, as ScheduledAt in UTC; 0
// leaves it zero), meeting_status (Status), participants, timezone, and duration as DurationMin
// when duration_mode is "min" or absent (any other mode leaves it 0 rather than guess a unit).
// MeetingURL is payload.meeting_url, which SaleAssist sends at the top level of the payload,
// else meta[0].meeting_url.
func MeetingFromPayload(payload map[string]any) *pipeline.Meeting {
	meta, _ := payload["meta"].([]any)
	if len(meta) == 0 {
		return nil
	}
	m0, ok := meta[0].(map[string]any)
	if !ok {
		return nil
	}
	id := str(m0["id"])
	if id == "" {
		return nil
	}
	mt := &pipeline.Meeting{
		ID:           id,
		Name:         str(m0["meeting_name"]),
		Status:       str(m0["meeting_status"]),
		Timezone:     str(m0["timezone"]),
		Participants: strList(m0["participants"]),
		MeetingURL:   str(payload["meeting_url"]),
	}
	if mt.MeetingURL == "" {
		mt.MeetingURL = str(m0["meeting_url"])
	}
	if ms, ok := epochMillis(m0["scheduled_time"]); ok {
		mt.ScheduledAt = time.UnixMilli(ms).UTC()
	}
	if mode := str(m0["duration_mode"]); mode == "" || strings.EqualFold(mode, "min") {
		mt.DurationMin = minutes(m0["duration"])
	}
	return mt
}

// str returns v as trimmed text, or "" when it is not a string or a number.
func str(v any) string {
	s, _ := text(v)
	return s
}

// strList returns the non-empty strings (or numbers, as text) of a JSON array, nil when none.
func strList(v any) []string {
	items, _ := v.([]any)
	var out []string
	for _, it := range items {
		if s := str(it); s != "" {
			if out == nil {
				out = make([]string, 0, len(items))
			}
			out = append(out, s)
		}
	}
	return out
}

// minutes reads a duration as a whole, non-negative number of minutes (a fractional one is
// rounded); anything unreadable gives 0.
func minutes(v any) int {
	s := str(v)
	if s == "" {
		return 0
	}
	if n, err := strconv.Atoi(s); err == nil {
		return max(n, 0)
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || !(f > 0 && f < math.MaxInt32) {
		return 0
	}
	return int(math.Round(f))
}
