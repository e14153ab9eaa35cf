// Package route sends each event to the handler for its event_type (Router). Handlers turn an
// event into the pipeline.Record the worker writes; middleware (Recover, Validate) wraps them
// all. The function types themselves (pipeline.HandlerFunc, pipeline.Middleware) and the errors
// a handler marks (pipeline.Permanent, pipeline.InvalidError) are the domain's, in the module
// root.
package route

import (
	"context"
	"fmt"
	"slices"

	"github.com/saleassist-pipeline/pipeline"
)

// Router maps event types to handlers. Register handlers before the first Dispatch; Dispatch is
// then safe for concurrent use.
type Router struct {
	handlers map[string]pipeline.HandlerFunc
	fallback pipeline.HandlerFunc
	mw       []pipeline.Middleware
}

// New returns a Router that sends events of unknown types to fallback.
func New(fallback pipeline.HandlerFunc) *Router {
	return &Router{handlers: map[string]pipeline.HandlerFunc{}, fallback: fallback}
}

// Handle registers h for eventType.
func (r *Router) Handle(eventType string, h pipeline.HandlerFunc) { r.handlers[eventType] = h }

// Use adds middleware around every handler, the first added outermost.
func (r *Router) Use(mw ...pipeline.Middleware) { r.mw = append(r.mw, mw...) }

// Known reports whether eventType has a handler of its own.
func (r *Router) Known(eventType string) bool {
	_, ok := r.handlers[eventType]
	return ok
}

// Types returns, sorted, the event types that have a handler of their own.
func (r *Router) Types() []string {
	types := make([]string, 0, len(r.handlers))
	for t := range r.handlers {
		types = append(types, t)
	}
	slices.Sort(types)
	return types
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

// Recover turns a handler's panic into a permanent error, so one bad event cannot stop a worker.
func Recover(next pipeline.HandlerFunc) pipeline.HandlerFunc {
	return func(ctx context.Context, ev *pipeline.Event) (rec *pipeline.Record, err error) {
		defer func() {
			if v := recover(); v != nil {
				rec, err = nil, pipeline.Permanent(fmt.Errorf("handler for %q panicked on event %s: %v", ev.Type, ev.ID, v))
			}
		}()
		return next(ctx, ev)
	}
}
