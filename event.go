package pipeline

import (
	"time"
)

// WidgetNewConversation is the one event type SaleAssist documents by name: a visitor started a
// conversation (or booked a meeting) through a widget and left their details.
const WidgetNewConversation = "widget_new_conversation"

// MaxEventTypeLen bounds event_type: it becomes part of a NATS subject and a metric label, and no
// real event type comes near it.
const MaxEventTypeLen = 128

// Event is one webhook as it travels through the pipeline. Body is the envelope exactly as it was
// received; everything else is derived from it (or from the moment it arrived) by the ingest.
type Event struct {
	// ID identifies the event for deduplication: payload.id, or the SHA-256 of the body.
	ID string
	// Type is the envelope's event_type, unchanged.
	Type string
	// ReceivedAt is when the ingest accepted the request.
	ReceivedAt time.Time
	// Body is the envelope as received (JSON).
	Body []byte
	// Account is the id of the SaleAssist account the event was sent to (see pkg/account); empty
	// means the default account.
	Account string
}
