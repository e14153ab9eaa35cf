package handlers

import (
	"context"
	"fmt"

	"github.com/saleassist-pipeline/pipeline"
	"github.com/saleassist-pipeline/pipeline/pkg/mapping"
	"github.com/saleassist-pipeline/pipeline/pkg/route"
)

// WidgetNewConversation handles widget_new_conversation: a visitor left their details through a
// widget. The lead comes from payload.people_detail, the meeting they booked from payload.meta[0].
//
// Such an event exists to name a person. When it broke its schema and no person could be read
// from it at all (people_detail missing, not an object, or without a usable value), it is
// refused as invalid and dead-lettered, to be fixed and replayed, rather than stored as an
// event about nobody. Any other violation is recorded on the stored event (see route.Validate).
func WidgetNewConversation(m *mapping.Mapper) pipeline.HandlerFunc {
	return func(ctx context.Context, ev *pipeline.Event) (*pipeline.Record, error) {
		rec, payload, err := withLead(ctx, m, ev)
		if err != nil {
			return rec, err
		}
		if v := route.Violation(ctx); v != nil && rec.Lead == nil {
			return nil, pipeline.Permanent(&pipeline.InvalidError{Err: fmt.Errorf("no person could be read from payload.people_detail: %w", v)})
		}
		if payload == nil {
			return rec, nil
		}
		rec.Meeting = mapping.MeetingFromPayload(payload)
		return rec, nil
	}
}
