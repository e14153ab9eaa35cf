package route_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline"
	"github.com/saleassist-pipeline/pipeline/internal/testkit"
	"github.com/saleassist-pipeline/pipeline/pkg/route"
	"github.com/saleassist-pipeline/pipeline/pkg/schema"
)

type testBundle struct {
	validator *schema.Validator
	fixture   []byte
}

func setup(t *testing.T) *testBundle {
	t.Helper()
	v, err := schema.New()
	require.NoError(t, err)
	return &testBundle{validator: v, fixture: testkit.Fixture(t)}
}

// newEvent is testkit's event, received at a fixed time so that outcomes that fall back to the
// arrival time do not depend on when the test runs.
func newEvent(id, typ string, body []byte) *pipeline.Event {
	return testkit.EventAt(id, typ, body, time.Date(2024, 7, 11, 10, 0, 0, 0, time.UTC))
}

// named returns a handler that answers with a record whose EventType says which handler ran.
func named(name string) pipeline.HandlerFunc {
	return func(_ context.Context, ev *pipeline.Event) (*pipeline.Record, error) {
		return &pipeline.Record{EventID: ev.ID, EventType: name}, nil
	}
}

func TestDispatchByTypeWithFallback(t *testing.T) {
	t.Parallel()

	r := route.New(named("fallback"))
	r.Handle("a", named("handler-a"))
	r.Handle("b", named("handler-b"))

	for typ, want := range map[string]string{"a": "handler-a", "b": "handler-b", "c": "fallback", "": "fallback"} {
		rec, err := r.Dispatch(context.Background(), newEvent("id-"+typ, typ, nil))
		require.NoError(t, err)
		require.Equal(t, want, rec.EventType, "event type %q", typ)
		require.Equal(t, "id-"+typ, rec.EventID)
	}
}

func TestKnown(t *testing.T) {
	t.Parallel()

	r := route.New(named("fallback"))
	r.Handle("a", named("handler-a"))
	require.True(t, r.Known("a"))
	require.False(t, r.Known("b"))
	require.False(t, r.Known(""))
	require.Equal(t, []string{"a"}, r.Types())
	r.Handle("0", named("handler-0"))
	require.Equal(t, []string{"0", "a"}, r.Types(), "sorted")
	require.Empty(t, route.New(named("fallback")).Types(), "the fallback is no type of its own")
}

func TestMiddlewareOrderFirstUseOutermost(t *testing.T) {
	t.Parallel()

	var (
		mu    sync.Mutex
		calls []string
	)
	record := func(s string) {
		mu.Lock()
		defer mu.Unlock()
		calls = append(calls, s)
	}
	mw := func(name string) pipeline.Middleware {
		return func(next pipeline.HandlerFunc) pipeline.HandlerFunc {
			return func(ctx context.Context, ev *pipeline.Event) (*pipeline.Record, error) {
				record(name + " before")
				rec, err := next(ctx, ev)
				record(name + " after")
				return rec, err
			}
		}
	}
	r := route.New(func(_ context.Context, ev *pipeline.Event) (*pipeline.Record, error) {
		record("fallback")
		return pipeline.NewRecord(ev), nil
	})
	r.Handle("a", func(_ context.Context, ev *pipeline.Event) (*pipeline.Record, error) {
		record("handler")
		return pipeline.NewRecord(ev), nil
	})
	r.Use(mw("first"))
	r.Use(mw("second"), mw("third"))

	_, err := r.Dispatch(context.Background(), newEvent("1", "a", nil))
	require.NoError(t, err)
	require.Equal(t, []string{
		"first before", "second before", "third before",
		"handler",
		"third after", "second after", "first after",
	}, calls)

	// The fallback is wrapped the same way.
	calls = nil
	_, err = r.Dispatch(context.Background(), newEvent("2", "unknown", nil))
	require.NoError(t, err)
	require.Equal(t, []string{
		"first before", "second before", "third before",
		"fallback",
		"third after", "second after", "first after",
	}, calls)
}

func TestRecoverTurnsPanicIntoPermanentError(t *testing.T) {
	t.Parallel()

	r := route.New(named("fallback"))
	r.Handle("boom", func(context.Context, *pipeline.Event) (*pipeline.Record, error) {
		panic("kaboom")
	})
	r.Use(route.Recover)

	rec, err := r.Dispatch(context.Background(), newEvent("evt-42", "boom", nil))
	require.Error(t, err)
	require.Nil(t, rec)
	require.True(t, pipeline.IsPermanent(err))
	require.Contains(t, err.Error(), "evt-42")
	require.Contains(t, err.Error(), "panicked")
	require.Contains(t, err.Error(), "kaboom")

	// A handler that does not panic passes through untouched.
	rec, err = r.Dispatch(context.Background(), newEvent("evt-43", "other", nil))
	require.NoError(t, err)
	require.Equal(t, "fallback", rec.EventType)
}

// validateRouter returns a router whose handlers count their calls, behind Validate.
func validateRouter(b *testBundle) (*route.Router, *int) {
	var called int
	h := func(_ context.Context, ev *pipeline.Event) (*pipeline.Record, error) {
		called++
		return pipeline.NewRecord(ev), nil
	}
	r := route.New(h)
	r.Handle(pipeline.WidgetNewConversation, h)
	r.Use(route.Validate(b.validator))
	return r, &called
}

func TestValidateValidEventReachesHandler(t *testing.T) {
	t.Parallel()
	b := setup(t)
	r, called := validateRouter(b)

	ev := newEvent(testkit.FixtureID, pipeline.WidgetNewConversation, b.fixture)
	rec, err := r.Dispatch(context.Background(), ev)
	require.NoError(t, err)
	require.Equal(t, 1, *called)
	require.Empty(t, rec.Invalid)
	require.Equal(t, testkit.FixtureID, rec.EventID)
}

// Schema violations that leave an event readable are recorded on its record, for known and
// unknown types alike, and the handler runs (with the violation at hand). Before, a known type
// was dead-lettered for any of them, and an unknown type was not checked at all.
func TestValidateViolationsAreRecordedNotDeadLettered(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var seen error
	h := func(ctx context.Context, ev *pipeline.Event) (*pipeline.Record, error) {
		seen = route.Violation(ctx)
		rec := pipeline.NewRecord(ev)
		rec.AddInvalid("seen_at: from the handler")
		return rec, nil
	}
	r := route.New(h)
	r.Handle(pipeline.WidgetNewConversation, h)
	r.Use(route.Validate(b.validator))

	wnc := pipeline.WidgetNewConversation
	for _, tc := range []struct {
		name, typ, body, pointer string
	}{
		{"people_detail missing", wnc, `{"event_type":"widget_new_conversation","payload":{"id":"e1"}}`, "/payload/people_detail"},
		{"email of the wrong type", wnc, `{"event_type":"widget_new_conversation","payload":{"id":"e1","people_detail":{"email":5}}}`, "/payload/people_detail/email"},
		{"latitude 95", wnc, `{"event_type":"widget_new_conversation","payload":{"id":"e1","people_detail":{"email":"a@b.in","widget_latitude":95}}}`, "/payload/people_detail/widget_latitude"},
		{"name as a number", wnc, `{"event_type":"widget_new_conversation","payload":{"id":"e1","people_detail":{"name":42,"email":"a@b.in"}}}`, "/payload/people_detail/name"},
		{"negative duration", wnc, `{"event_type":"widget_new_conversation","payload":{"id":"e1","people_detail":{"email":"a@b.in"},"meta":[{"duration":-30}]}}`, "/payload/meta/0/duration"},
		{"metadata a string", wnc, `{"event_type":"widget_new_conversation","payload":{"id":"e1","people_detail":{"email":"a@b.in"}},"metadata":"x"}`, "/metadata"},
		{"unknown type, metadata a string", "some_other_type", `{"event_type":"some_other_type","payload":{"id":"e1"},"metadata":"x"}`, "/metadata"},
	} {
		seen = nil
		ev := newEvent("e1", tc.typ, []byte(tc.body))
		rec, err := r.Dispatch(context.Background(), ev)
		require.NoError(t, err, tc.name)
		require.NotNil(t, rec, tc.name)
		require.True(t, strings.HasPrefix(rec.Invalid, "schema: document does not match "), "%s: %q", tc.name, rec.Invalid)
		require.Contains(t, rec.Invalid, tc.pointer, tc.name)
		require.True(t, strings.HasSuffix(rec.Invalid, "; seen_at: from the handler"), "%s: the handler's own problems are kept: %q", tc.name, rec.Invalid)
		require.Error(t, seen, "%s: the handler sees the violation", tc.name)
	}
}

// An envelope without a payload object cannot be made sense of, whatever its type: a permanent
// InvalidError, and the handler never runs. Before, an unknown type without a payload was stored.
func TestValidateEnvelopeWithoutPayloadIsInvalid(t *testing.T) {
	t.Parallel()
	b := setup(t)
	r, called := validateRouter(b)

	for _, tc := range []struct{ typ, body string }{
		{pipeline.WidgetNewConversation, `{"event_type":"widget_new_conversation"}`},
		{pipeline.WidgetNewConversation, `{"event_type":"widget_new_conversation","payload":"x"}`},
		{"some_other_type", `{"event_type":"some_other_type"}`},
		{"some_other_type", `{"event_type":"some_other_type","payload":[1]}`},
	} {
		rec, err := r.Dispatch(context.Background(), newEvent("e2", tc.typ, []byte(tc.body)))
		require.Error(t, err, tc.body)
		require.Nil(t, rec, tc.body)
		require.True(t, pipeline.IsInvalid(err), tc.body)
		require.True(t, pipeline.IsPermanent(err), tc.body)
		require.Contains(t, err.Error(), "/payload", tc.body)
	}
	require.Zero(t, *called, "an envelope without a payload must not reach its handler")

	// A valid event of a type without a schema of its own passes the envelope check.
	rec, err := r.Dispatch(context.Background(), newEvent("e3", "some_other_type", []byte(`{"event_type":"some_other_type","payload":{}}`)))
	require.NoError(t, err)
	require.Empty(t, rec.Invalid)
	require.Equal(t, 1, *called)
}

func TestValidateUndecodableBodyIsPermanent(t *testing.T) {
	t.Parallel()
	b := setup(t)
	r, called := validateRouter(b)

	ev := newEvent("e3", pipeline.WidgetNewConversation, []byte(`not json`))
	rec, err := r.Dispatch(context.Background(), ev)
	require.Error(t, err)
	require.Nil(t, rec)
	require.True(t, pipeline.IsPermanent(err))
	require.Contains(t, err.Error(), "e3")
	require.Zero(t, *called)
}
