package route

import (
	"context"

	"github.com/saleassist-pipeline/pipeline"
)

// Validator checks a decoded event against the JSON Schema for its type, or against the
// envelope schema when its type has none (see pkg/schema).
type Validator interface {
	ValidateEvent(eventType string, doc any) error
}

// violationKey is the context key of the schema violation Validate found.
type violationKey struct{}

// Violation returns the schema violation Validate found in the event being dispatched, or nil
// when it has none (or no Validate ran).
func Violation(ctx context.Context) error {
	err, _ := ctx.Value(violationKey{}).(error)
	return err
}

// Validate checks every event, of a known type or not, against the schema of its type or, for a
// type without one, the envelope schema: one envelope rule for all. Where the line falls
// between stored and dead-lettered (the README's "Bad data" says the same):
//
//   - a body that is not a JSON object: a permanent error (dead letter, reason permanent);
//   - an envelope whose payload is missing or not an object: there is nothing to read an event
//     from, a pipeline.InvalidError (dead letter, reason invalid);
//   - any other violation (a latitude of 95, a name sent as a number, a negative meeting
//     duration, metadata as a string, a payload.id missing): the handler runs as usual, with the
//     violation at hand (Violation), and the record keeps it in Invalid, prefixed "schema: ",
//     so the event and its lead are stored, and the worker counts it. The handler may still
//     refuse the event when the violations leave it no person to store.
func Validate(v Validator) pipeline.Middleware {
	return func(next pipeline.HandlerFunc) pipeline.HandlerFunc {
		return func(ctx context.Context, ev *pipeline.Event) (*pipeline.Record, error) {
			doc, err := Document(ctx, ev)
			if err != nil {
				return nil, pipeline.Permanent(err)
			}
			verr := v.ValidateEvent(ev.Type, doc)
			if verr == nil {
				return next(ctx, ev)
			}
			if _, ok := doc["payload"].(map[string]any); !ok {
				return nil, pipeline.Permanent(&pipeline.InvalidError{Err: verr})
			}
			rec, err := next(context.WithValue(ctx, violationKey{}, verr), ev)
			if err != nil || rec == nil {
				return rec, err
			}
			problems := rec.Invalid
			rec.Invalid = ""
			rec.AddInvalid("schema: " + verr.Error())
			rec.AddInvalid(problems)
			return rec, nil
		}
	}
}
