package store_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline"
	"github.com/saleassist-pipeline/pipeline/pkg/store"
	"github.com/saleassist-pipeline/pipeline/pkg/store/leadrules"
)

func TestStorableReplacesNULEverywhere(t *testing.T) {
	t.Parallel()
	rec := pipeline.Record{
		EventID: "ev-1",
		Invalid: "schema: at '/payload/people_detail/a\x00b': bad",
		Lead: &pipeline.Lead{
			Name:  "Ann\x00 Lee",
			Email: "ann\x00@example.com",
			City:  "Pune\xff",
			Attributes: map[string]json.RawMessage{
				"k\x00ey":   json.RawMessage(`"v"`),
				"plain":     json.RawMessage(`{"a\u0000":["x\u0000y","\\u0000 is text",1]}`),
				"surrogate": json.RawMessage(`["\ud800","\udc00x","\ud83d\ude00"]`),
			},
		},
		Meeting: &pipeline.Meeting{ID: "m\x00", Participants: []string{"ok", "p\x00"}},
	}
	participants := rec.Meeting.Participants
	require.True(t, store.Storable(&rec))

	l := rec.Lead
	require.Equal(t, "Ann\uFFFD Lee", l.Name)
	require.Equal(t, "ann\uFFFD@example.com", l.Email)
	require.Equal(t, "Pune\uFFFD", l.City)
	require.Equal(t, map[string]json.RawMessage{
		"k\uFFFDey": json.RawMessage(`"v"`),
		"plain":     json.RawMessage(strings.ReplaceAll(`{"a<?>":["x<?>y","\\u0000 is text",1]}`, "<?>", "\uFFFD")),
		"surrogate": json.RawMessage(strings.ReplaceAll(`["<?>","<?>x","\ud83d\ude00"]`, "<?>", "\uFFFD")),
	}, l.Attributes)
	require.Equal(t, "m\uFFFD", rec.Meeting.ID)
	require.Equal(t, []string{"ok", "p\uFFFD"}, rec.Meeting.Participants)
	require.Equal(t, "p\x00", participants[1], "the caller's slice is not written to")
	require.Equal(t, "schema: at '/payload/people_detail/a\uFFFDb': bad; text: U+0000 or bytes not UTF-8 replaced by U+FFFD in name, email, city, attributes, meeting.id, meeting.participants, invalid", rec.Invalid)
	for k, v := range l.Attributes {
		require.True(t, json.Valid(v), k)
	}

	// Applied twice, nothing more changes.
	again := rec
	require.False(t, store.Storable(&again))
	require.Equal(t, rec.Invalid, again.Invalid)
}

func TestStorableLeavesCleanRecordsAlone(t *testing.T) {
	t.Parallel()
	attrs := map[string]json.RawMessage{"a": json.RawMessage(`"caf\u00e9 \ud83d\ude00 \\u0000"`)}
	rec := pipeline.Record{EventID: "ev-1", Lead: &pipeline.Lead{Name: "Zoë", Attributes: attrs}}
	require.False(t, store.Storable(&rec))
	require.Empty(t, rec.Invalid)
	require.Equal(t, attrs, rec.Lead.Attributes)
}

// A key sent with U+FFFD keeps its own value when another key becomes the same.
func TestStorableKeyCollision(t *testing.T) {
	t.Parallel()
	rec := pipeline.Record{EventID: "ev-1", Lead: &pipeline.Lead{Attributes: map[string]json.RawMessage{
		"a\uFFFD": json.RawMessage(`1`),
		"a\x00":   json.RawMessage(`2`),
	}}}
	require.True(t, store.Storable(&rec))
	require.Equal(t, map[string]json.RawMessage{"a\uFFFD": json.RawMessage(`1`)}, rec.Lead.Attributes)
}

// Storable checks the same text fields, in the same order, as the stores write (leadrules).
func TestStorableCoversEveryLeadTextField(t *testing.T) {
	t.Parallel()
	var l pipeline.Lead
	for _, f := range leadrules.TextFields(&l) {
		*f = "x\x00"
	}
	rec := pipeline.Record{EventID: "ev-1", Lead: &l}
	require.True(t, store.Storable(&rec))
	for i, f := range leadrules.TextFields(&l) {
		require.Equal(t, "x\uFFFD", *f, "field %d", i)
	}
}
