package route

import (
	"context"
	"errors"

	"github.com/saleassist-pipeline/pipeline/pkg/event"
	"github.com/saleassist-pipeline/pipeline/pkg/store"
)

// Validator checks a decoded event against the JSON Schema for its type (see pkg/schema).
type Validator interface {
	HasSchema(eventType string) bool
	ValidateEvent(eventType string, doc any) error
}

// InvalidError says an event failed the JSON Schema of its type. It is permanent: the worker
// dead-letters the event (reason "invalid") instead of storing a half-mapped lead; it can be
// replayed once the sender or the schema is fixed.
type InvalidError struct{ Err error }

func (e *InvalidError) Error() string { return "schema validation failed: " + e.Err.Error() }
func (e *InvalidError) Unwrap() error { return e.Err }

// IsInvalid reports whether err, or an error it wraps, is an InvalidError.
func IsInvalid(err error) bool {
	var ie *InvalidError
	return errors.As(err, &ie)
}

// Validate checks every event of a type with a schema before its handler sees it; an event that
// fails gets a permanent InvalidError and never reaches the handler.
func Validate(v Validator) Middleware {
	return func(next HandlerFunc) HandlerFunc {
		return func(ctx context.Context, ev *event.Event) (*store.Record, error) {
			if !v.HasSchema(ev.Type) {
				return next(ctx, ev)
			}
			doc, err := Document(ctx, ev)
			if err != nil {
				return nil, Permanent(err)
			}
			if err := v.ValidateEvent(ev.Type, doc); err != nil {
				return nil, Permanent(&InvalidError{Err: err})
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
