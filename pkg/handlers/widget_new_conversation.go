package handlers

import (
	"context"

	"github.com/saleassist-pipeline/pipeline/pkg/event"
	"github.com/saleassist-pipeline/pipeline/pkg/lead"
	"github.com/saleassist-pipeline/pipeline/pkg/route"
	"github.com/saleassist-pipeline/pipeline/pkg/store"
)

// WidgetNewConversation handles widget_new_conversation: a visitor left their details through a
// widget. The lead comes from payload.people_detail, the meeting they booked from payload.meta[0].
func WidgetNewConversation(m *lead.Mapper) route.HandlerFunc {
	return func(ctx context.Context, ev *event.Event) (*store.Record, error) {
		rec, payload, err := withLead(ctx, m, ev)
		if err != nil || payload == nil {
			return rec, err
		}
		rec.Meeting = lead.MeetingFromPayload(payload)
		return rec, nil
	}
}
