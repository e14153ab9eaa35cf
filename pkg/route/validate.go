package route

import (
	"context"

	"github.com/saleassist-pipeline/pipeline/pkg/event"
	"github.com/saleassist-pipeline/pipeline/pkg/store"
)

// Validator checks a decoded event against the JSON Schema for its type (see pkg/schema).
type Validator interface {
	HasSchema(eventType string) bool
	ValidateEvent(eventType string, doc any) error
}

// Validate checks every event of a type with a schema before its handler sees it. An event that
// fails is stored as it came, with the validation error and no lead, so nobody has to guess from a
// half-mapped lead; it can be replayed once the sender or the schema is fixed.
func Validate(v Validator) Middleware {
	return func(next HandlerFunc) HandlerFunc {
		return func(ctx context.Context, ev *event.Event) (*store.Record, error) {
			if !v.HasSchema(ev.Type) {
				return next(ctx, ev)
			}
			doc, err := ev.Document()
			if err != nil {
				return nil, Permanent(err)
			}
			if err := v.ValidateEvent(ev.Type, doc); err != nil {
				rec := NewRecord(ev)
				rec.Invalid = err.Error()
				return rec, nil
			}
			return next(ctx, ev)
		}
	}
}

// NewRecord returns the record that stores ev itself, with no lead or meeting yet.
func NewRecord(ev *event.Event) *store.Record {
	return &store.Record{
		EventID:    ev.ID,
		EventType:  ev.Type,
		ReceivedAt: ev.ReceivedAt,
		Payload:    ev.Body,
	}
}
