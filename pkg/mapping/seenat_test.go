package mapping

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A SaleAssist time later than arrival plus the allowed skew is not believed: the arrival time
// orders the lead, and IgnoredSeenAt keeps what was sent. Before the fix a year-3000 updated_on
// became the lead's SeenAt, and every real update after it could only fill gaps.
func TestFarFutureSeenAtIsNotBelieved(t *testing.T) {
	t.Parallel()
	received := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	year3000 := time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)
	doc := func(updated any) map[string]any {
		return personDoc(t, map[string]any{"email": "asha@x.in"}, map[string]any{"updated_on": updated, "created_on": json.Number("1700000000000")})
	}

	m := setup(t).mapper
	require.Equal(t, DefaultMaxClockSkew, m.MaxClockSkew())
	l, err := m.FromEvent("widget_new_conversation", doc(json.Number("32503680000000")), received)
	require.NoError(t, err)
	require.Equal(t, received, l.SeenAt, "the arrival time stands in")
	require.Equal(t, year3000, l.IgnoredSeenAt, "and the lead says what was sent")

	// Within the skew (a sender's clock a few hours fast) the time is believed.
	fast := received.Add(23 * time.Hour)
	l, err = m.FromEvent("widget_new_conversation", doc(json.Number(itoa(fast.UnixMilli()))), received)
	require.NoError(t, err)
	require.Equal(t, fast, l.SeenAt)
	require.Zero(t, l.IgnoredSeenAt)

	// Past times are believed as before.
	l, err = m.FromEvent("widget_new_conversation", doc(json.Number("1720694558068")), received)
	require.NoError(t, err)
	require.Equal(t, time.UnixMilli(1720694558068).UTC(), l.SeenAt)
	require.Zero(t, l.IgnoredSeenAt)

	// The skew is configurable; 0 believes nothing after arrival.
	strict, err := NewMapper("IN", WithMaxClockSkew(0))
	require.NoError(t, err)
	l, err = strict.FromEvent("widget_new_conversation", doc(json.Number(itoa(received.Add(time.Minute).UnixMilli()))), received)
	require.NoError(t, err)
	require.Equal(t, received, l.SeenAt)
	require.Equal(t, received.Add(time.Minute), l.IgnoredSeenAt)

	_, err = NewMapper("IN", WithMaxClockSkew(-time.Second))
	require.ErrorContains(t, err, "negative")
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }
