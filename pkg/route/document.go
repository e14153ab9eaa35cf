package route

import (
	"context"
	"fmt"

	"github.com/saleassist-pipeline/pipeline"
	"github.com/saleassist-pipeline/pipeline/internal/jsonscan"
)

// docKey is the context key of the decoded body of the event a Dispatch is handling.
type docKey struct{}

// docCache holds one event's decoded body for the middleware and handler of one Dispatch.
type docCache struct {
	ev   *pipeline.Event
	done bool
	doc  map[string]any
	err  error
}

// Document returns ev's body decoded into generic JSON values (numbers as json.Number) by
// jsonscan.Decode, the pipeline's one decoder, once per Dispatch however many middlewares and
// handlers ask. Callers must not modify it. Outside a Dispatch it decodes on every call. The
// cache lives in the Dispatch's context, not on the Event, so a decoded document is garbage as
// soon as its event is handled, while the event itself waits in its batch for the commit.
func Document(ctx context.Context, ev *pipeline.Event) (map[string]any, error) {
	c, ok := ctx.Value(docKey{}).(*docCache)
	if !ok || c.ev != ev {
		return decodeEvent(ev)
	}
	if !c.done {
		c.doc, c.err = decodeEvent(ev)
		c.done = true
	}
	return c.doc, c.err
}

func decodeEvent(ev *pipeline.Event) (map[string]any, error) {
	doc, err := jsonscan.Decode(ev.Body)
	if err != nil {
		return nil, fmt.Errorf("decode event %s: %w", ev.ID, err)
	}
	return doc, nil
}
