package handlers

import (
	"context"
	"fmt"
	"time"

	"github.com/saleassist-pipeline/pipeline"
	"github.com/saleassist-pipeline/pipeline/pkg/mapping"
	"github.com/saleassist-pipeline/pipeline/pkg/route"
)

// Register adds every known event type's handler to r: the router's list of event types, which
// TestEventTypesAgree compares with the schemas' and the default mapping's (see doc.go).
func Register(r *route.Router, m *mapping.Mapper) {
	r.Handle(pipeline.WidgetNewConversation, WidgetNewConversation(m))
}

// NewRouter returns a router with every known handler, Unknown as the fallback, and the given
// middleware.
func NewRouter(m *mapping.Mapper, mw ...pipeline.Middleware) *route.Router {
	r := route.New(Unknown(m))
	Register(r, m)
	r.Use(mw...)
	return r
}

// Unknown keeps an event of a type no handler knows: stored as received, with no lead unless it
// carries payload.people_detail, in which case the person is still recorded. Nothing is dropped,
// and the event is not retried forever.
func Unknown(m *mapping.Mapper) pipeline.HandlerFunc {
	return func(ctx context.Context, ev *pipeline.Event) (*pipeline.Record, error) {
		rec, _, err := withLead(ctx, m, ev)
		return rec, err
	}
}

// withLead returns the record for ev with the lead the mapping finds in it (by default from
// payload.people_detail), if any, and the decoded payload for handlers that need more of it.
func withLead(ctx context.Context, m *mapping.Mapper, ev *pipeline.Event) (*pipeline.Record, map[string]any, error) {
	doc, err := route.Document(ctx, ev)
	if err != nil {
		return nil, nil, pipeline.Permanent(err)
	}
	rec := pipeline.NewRecord(ev)
	payload, _ := doc["payload"].(map[string]any)
	if payload == nil {
		return rec, nil, nil
	}
	l, err := m.FromEvent(ev.Type, doc, ev.ReceivedAt)
	if err != nil {
		return nil, nil, pipeline.Permanent(err)
	}
	if l != nil && !l.IgnoredSeenAt.IsZero() {
		rec.AddInvalid(futureTime(l.IgnoredSeenAt, ev.ReceivedAt, m.MaxClockSkew()))
	}
	rec.Lead = l
	return rec, payload, nil
}

// futureTime says, for events.invalid, that the SaleAssist time sent was not believed.
func futureTime(sent, received time.Time, skew time.Duration) string {
	return fmt.Sprintf("seen_at: SaleAssist time %s is more than MAX_CLOCK_SKEW (%s) after arrival (%s); the lead is ordered by arrival time instead",
		sent.UTC().Format(time.RFC3339Nano), skew, received.UTC().Format(time.RFC3339Nano))
}
