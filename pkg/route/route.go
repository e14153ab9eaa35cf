// Package route sends each event to the handler for its event_type. Handlers turn an event into
// the pipeline.Record the worker writes; middleware (recover, schema validation) wraps them all.
package route

import (
	"context"
	"errors"
	"fmt"

	"github.com/saleassist-pipeline/pipeline"
)

// HandlerFunc turns one event into what must be stored for it. It must not write anything itself:
// the worker stores the record in the same transaction as the event's dedupe key, and acks the
// message only after that commit. An error marked Permanent means retrying cannot help; any other
// error is retried later with a growing delay.
type HandlerFunc func(ctx context.Context, ev *pipeline.Event) (*pipeline.Record, error)

// Middleware wraps a handler, for every event type.
type Middleware func(HandlerFunc) HandlerFunc

// Router maps event types to handlers. Register handlers before the first Dispatch; Dispatch is
// then safe for concurrent use.
type Router struct {
	handlers map[string]HandlerFunc
	fallback HandlerFunc
	mw       []Middleware
}

// New returns a Router that sends events of unknown types to fallback.
func New(fallback HandlerFunc) *Router {
	return &Router{handlers: map[string]HandlerFunc{}, fallback: fallback}
}

// Handle registers h for eventType.
func (r *Router) Handle(eventType string, h HandlerFunc) { r.handlers[eventType] = h }

// Use adds middleware around every handler, the first added outermost.
func (r *Router) Use(mw ...Middleware) { r.mw = append(r.mw, mw...) }

// Known reports whether eventType has a handler of its own.
func (r *Router) Known(eventType string) bool {
	_, ok := r.handlers[eventType]
	return ok
}

// Dispatch runs the handler for ev.Type (or the fallback) inside the middleware. Within it,
// Document decodes ev's body only once.
func (r *Router) Dispatch(ctx context.Context, ev *pipeline.Event) (*pipeline.Record, error) {
	ctx = context.WithValue(ctx, docKey{}, &docCache{ev: ev})
	h, ok := r.handlers[ev.Type]
	if !ok {
		h = r.fallback
	}
	for i := len(r.mw) - 1; i >= 0; i-- {
		h = r.mw[i](h)
	}
	return h(ctx, ev)
}

// permanent marks an error that retrying cannot fix.
type permanent struct{ err error }

func (p permanent) Error() string { return p.err.Error() }
func (p permanent) Unwrap() error { return p.err }

// Permanent marks err as one that retrying cannot fix (a malformed event, a handler bug).
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

// Recover turns a handler's panic into a permanent error, so one bad event cannot stop a worker.
func Recover(next HandlerFunc) HandlerFunc {
	return func(ctx context.Context, ev *pipeline.Event) (rec *pipeline.Record, err error) {
		defer func() {
			if v := recover(); v != nil {
				rec, err = nil, Permanent(fmt.Errorf("handler for %q panicked on event %s: %v", ev.Type, ev.ID, v))
			}
		}()
		return next(ctx, ev)
	}
}
