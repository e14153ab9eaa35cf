package handlers_test

import (
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/pkg/handlers"
	"github.com/saleassist-pipeline/pipeline/pkg/mapping"
	"github.com/saleassist-pipeline/pipeline/pkg/schema"
)

// place is one of the lists of event types the pipeline keeps, with where a type is added to it.
type place struct {
	where string
	types []string
}

// eventTypeGaps returns, for every event type known to some place but not to all, which places
// lack it; none when the places agree.
func eventTypeGaps(places []place) []string {
	all := map[string]bool{}
	for _, p := range places {
		for _, t := range p.types {
			all[t] = true
		}
	}
	var gaps []string
	for _, t := range slices.Sorted(maps.Keys(all)) {
		for _, p := range places {
			if !slices.Contains(p.types, t) {
				gaps = append(gaps, fmt.Sprintf("event type %q has no %s", t, p.where))
			}
		}
	}
	return gaps
}

// TestEventTypesAgree fails when an event type is known to one of the schemas, the router or the
// default mapping but not to all of them: a step of "Adding an event type" (doc.go) was missed.
func TestEventTypesAgree(t *testing.T) {
	t.Parallel()
	v, err := schema.New()
	require.NoError(t, err)
	m, err := mapping.NewMapper("IN")
	require.NoError(t, err)
	places := []place{
		{"schema (proto-free-schemas/schemas/<type>.schema.json)", v.EventTypes()},
		{"handler in Register (pkg/handlers/handlers.go)", handlers.NewRouter(m).Types()},
		{"entry under event_types in pkg/mapping/default.yaml", mapping.DefaultMapping().EventTypes()},
	}
	for _, p := range places {
		require.NotEmpty(t, p.types, "no event type has a %s: is the list read from the right place?", p.where)
	}
	require.Empty(t, eventTypeGaps(places), "see \"Adding an event type\" in pkg/handlers/doc.go")
}

// TestEventTypeGaps shows the check above can fail: a type missing from any one place is named
// with that place.
func TestEventTypeGaps(t *testing.T) {
	t.Parallel()
	agree := []place{{"a", []string{"x", "y"}}, {"b", []string{"y", "x"}}}
	require.Empty(t, eventTypeGaps(agree))
	gaps := eventTypeGaps([]place{
		{"schema", []string{"chat_message", "widget"}},
		{"handler", []string{"widget"}},
		{"mapping entry", []string{"widget", "video_call"}},
	})
	require.Equal(t, []string{
		`event type "chat_message" has no handler`,
		`event type "chat_message" has no mapping entry`,
		`event type "video_call" has no schema`,
		`event type "video_call" has no handler`,
	}, gaps)
}
