package mapping

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParsePath(t *testing.T) {
	t.Parallel()

	key := func(k string) segment { return segment{key: k, index: -1} }
	for in, want := range map[string][]segment{
		"payload":                           {key("payload")},
		"payload.meta[0].meeting_name":      {key("payload"), key("meta"), {index: 0}, key("meeting_name")},
		"payload.meta[12][3]":               {key("payload"), key("meta"), {index: 12}, {index: 3}},
		`payload["a.b"].c`:                  {key("payload"), key("a.b"), key("c")},
		`payload.x["say \"[hi]\""]`:         {key("payload"), key("x"), key(`say "[hi]"`)},
		"payload.Full Name":                 {key("payload"), key("Full Name")},
		"payload.people_detail.widget_city": {key("payload"), key("people_detail"), key("widget_city")},
	} {
		p, err := parsePath(in)
		require.NoError(t, err, in)
		require.Equal(t, want, p.segs, in)
		require.Equal(t, in, p.text)
	}

	for in, msg := range map[string]string{
		"":                                     "the path is empty",
		" payload.x":                           "leading or trailing spaces",
		"payload..x":                           "empty key at character 9",
		".payload":                             "empty key at character 1",
		"payload.":                             "ends with a dot",
		"payload.[0]":                          "a key is missing before [ at character 9",
		"[0].x":                                "starts with an index",
		"payload.meta[x]":                      "index [x] at character 13 is not a number",
		"payload.meta[]":                       "index [] at character 13 is not a number",
		"payload.meta[-1]":                     "index [-1] at character 13 is negative",
		"payload.meta[01]":                     "write index [01] at character 13 as [1]",
		"payload.meta[9999999999999999999999]": "is too large",
		"payload.meta[0":                       "[ at character 13 is not closed",
		"payload.meta]":                        "unexpected ] at character 13",
		"payload.meta[0]x":                     "expected . or [ after ] at character 16",
		`payload["a.b"`:                        "the quoted key at character 8 is not closed",
		`payload["a\qb"]`:                      "not a valid quoted string",
	} {
		_, err := parsePath(in)
		require.ErrorContains(t, err, msg, in)
	}
}

func TestPathLookup(t *testing.T) {
	t.Parallel()

	doc := map[string]any{"payload": map[string]any{
		"meta": []any{map[string]any{"id": "m1", "n": nil}},
		"x":    "text",
	}}
	for in, want := range map[string]any{
		"payload.meta[0].id": "m1",
		"payload.meta[0].n":  nil,
		"payload.x":          "text",
	} {
		p, err := parsePath(in)
		require.NoError(t, err)
		got, ok := lookupSegs(p.segs, doc)
		require.True(t, ok, in)
		require.Equal(t, want, got, in)
	}
	for _, in := range []string{"payload.meta[1].id", "payload.meta.id", "payload.x[0]", "payload.x.y", "payload.nope", "metadata"} {
		p, err := parsePath(in)
		require.NoError(t, err)
		_, ok := lookupSegs(p.segs, doc)
		require.False(t, ok, in)
	}
}

func TestNumberText(t *testing.T) {
	t.Parallel()

	for in, want := range map[string]json.Number{
		"30": "30", " 4.5 ": "4.5", "-2e3": "-2e3", "+5": "5", "007": "7", ".5": "0.5", "1.": "1",
	} {
		got, ok := numberText(in)
		require.True(t, ok, in)
		require.Equal(t, want, got, in)
	}
	for _, in := range []string{"", " ", "thirty", "30 min", "0x1e", "Inf", "NaN", "1_000", "1e999999", "-", "1,5"} {
		_, ok := numberText(in)
		require.False(t, ok, in)
	}
}

func TestDecodeJSONText(t *testing.T) {
	t.Parallel()

	got, ok := decodeJSONText(` [{"a": 1.50}] `)
	require.True(t, ok)
	require.Equal(t, []any{map[string]any{"a": json.Number("1.50")}}, got)
	for _, in := range []string{"", "{oops", "[1] x", "[1] [2]", "'a'"} {
		_, ok := decodeJSONText(in)
		require.False(t, ok, in)
	}
}
