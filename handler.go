package pipeline

import (
	"context"
	"errors"
)

// HandlerFunc turns one event into what must be stored for it. It must not write anything itself:
// the worker stores the record in the same transaction as the event's dedupe key, and acks the
// message only after that commit. An error marked Permanent means retrying cannot help; any other
// error is retried later with a growing delay. pkg/route sends each event to the HandlerFunc of
// its type; pkg/handlers holds one per event type.
type HandlerFunc func(ctx context.Context, ev *Event) (*Record, error)

// Middleware wraps a handler, for every event type (pkg/route has Recover and Validate).
type Middleware func(HandlerFunc) HandlerFunc

// permanent marks an error that retrying cannot fix.
type permanent struct{ err error }

func (p permanent) Error() string { return p.err.Error() }
func (p permanent) Unwrap() error { return p.err }

// Permanent marks err as one that retrying cannot fix (a malformed event, a handler bug). nil
// stays nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanent{err}
}

// IsPermanent reports whether err, or an error it wraps, was marked Permanent.
func IsPermanent(err error) bool {
	var p permanent
	return errors.As(err, &p)
}

// InvalidError says an event cannot be made sense of: it is permanent, and the worker
// dead-letters the event (reason "invalid") instead of storing it; it can be replayed once the
// sender or the schema is fixed. route.Validate returns it for an envelope without a payload
// object; a handler returns it when the schema violations leave it nothing to store (see
// handlers.WidgetNewConversation).
type InvalidError struct{ Err error }

func (e *InvalidError) Error() string { return "schema validation failed: " + e.Err.Error() }
func (e *InvalidError) Unwrap() error { return e.Err }

// IsInvalid reports whether err, or an error it wraps, is an InvalidError.
func IsInvalid(err error) bool {
	var ie *InvalidError
	return errors.As(err, &ie)
}
