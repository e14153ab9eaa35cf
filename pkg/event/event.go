// Package event holds the domain of the pipeline: the SaleAssist webhook envelope, how an event is
// identified, and the event as it travels from ingest through the queue to the handlers. It
// imports nothing else of this module, so every other package may depend on it.
package event

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sync"
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

	once sync.Once
	doc  map[string]any
	err  error
}

// Document decodes Body once into generic JSON values (numbers as json.Number, so that ids and
// timestamps keep every digit) and returns the same map on every later call. Callers must not
// modify it.
func (e *Event) Document() (map[string]any, error) {
	e.once.Do(func() {
		dec := json.NewDecoder(bytes.NewReader(e.Body))
		dec.UseNumber()
		var doc map[string]any
		if err := dec.Decode(&doc); err != nil {
			e.err = fmt.Errorf("decode event %s: %w", e.ID, err)
			return
		}
		e.doc = doc
	})
	return e.doc, e.err
}

// Payload returns the envelope's payload object, or nil when the body has none.
func (e *Event) Payload() (map[string]any, error) {
	doc, err := e.Document()
	if err != nil {
		return nil, err
	}
	p, _ := doc["payload"].(map[string]any)
	return p, nil
}
