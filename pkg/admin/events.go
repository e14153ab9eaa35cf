package admin

import (
	"context"
	"time"

	"github.com/saleassist-pipeline/pipeline/pkg/store"
)

// DefaultInvalidLimit is how many events `events invalid` lists unless --limit says otherwise.
const DefaultInvalidLimit = 100

// InvalidEvent is one event stored with problems: a line of `events invalid`.
type InvalidEvent struct {
	EventID    string    `json:"event_id"`
	EventType  string    `json:"event_type"`
	LeadID     int64     `json:"lead_id,omitempty"`
	ReceivedAt time.Time `json:"received_at"`
	// Invalid is what was wrong with the event as sent (events.invalid): schema violations,
	// prefixed "schema: ", and a SaleAssist time not believed, prefixed "seen_at: ".
	Invalid string `json:"invalid"`
}

// InvalidEvents returns up to limit of the account's events st stored with problems, newest
// first. It is the operation behind `ingestctl events invalid`; it prints nothing.
func InvalidEvents(ctx context.Context, st store.Store, acct string, limit int) ([]InvalidEvent, error) {
	evs, err := st.InvalidEvents(ctx, acct, limit)
	if err != nil {
		return nil, err
	}
	out := make([]InvalidEvent, len(evs))
	for i, ev := range evs {
		out[i] = InvalidEvent{EventID: ev.EventID, EventType: ev.EventType, LeadID: ev.LeadID,
			ReceivedAt: ev.ReceivedAt, Invalid: ev.Invalid}
	}
	return out, nil
}
