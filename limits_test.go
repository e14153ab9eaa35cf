package pipeline_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline"
)

// TestParseHead_LoneSurrogate checks that an id or event type holding a lone UTF-16 surrogate
// escape is refused: such a string has no Unicode text, encoding/json turns every one of them into
// U+FFFD, and two different ids ("\ud800", "\udbff") would become one id, the second event being
// answered duplicate and lost. A surrogate pair is one character and is accepted.
func TestParseHead_LoneSurrogate(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, body, field string
	}{
		{"high surrogate id", `{"event_type":"x","payload":{"id":"a\ud800"}}`, "payload.id"},
		{"other high surrogate id", `{"event_type":"x","payload":{"id":"a\udbff"}}`, "payload.id"},
		{"low surrogate id", `{"event_type":"x","payload":{"id":"\udc00b"}}`, "payload.id"},
		{"two high surrogates", `{"event_type":"x","payload":{"id":"\ud800\ud800"}}`, "payload.id"},
		{"high then escaped non-surrogate", `{"event_type":"x","payload":{"id":"\ud800\u0041"}}`, "payload.id"},
		{"reversed pair", `{"event_type":"x","payload":{"id":"\udc00\ud800"}}`, "payload.id"},
		{"lone surrogate type", `{"event_type":"t\ud83d","payload":{"id":"1"}}`, "event_type"},
		{"slow path: escaped key", `{"event_type":"x","p\u0061yload":{"id":"\ud800"}}`, "payload.id"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := pipeline.ParseHead([]byte(tt.body))
			var ee *pipeline.EnvelopeError
			require.True(t, errors.As(err, &ee), "want an EnvelopeError, got %v", err)
			require.Equal(t, tt.field, ee.Field)
			require.Contains(t, ee.Msg, "surrogate")
		})
	}
	// A valid pair, and an escaped backslash before "ud800" (not an escape at all), are text.
	h, err := pipeline.ParseHead([]byte(`{"event_type":"x","payload":{"id":"\ud83d\ude00\\ud800"}}`))
	require.NoError(t, err)
	require.Equal(t, "😀\\ud800", h.ID)
}

// TestParseHead_Depth checks the nesting limit: SQLite's JSON functions stop at 1000 levels, so a
// body nested deeper than MaxDepth is refused with an EnvelopeError naming the limit, while one at
// the limit is accepted; on the fast path and on the slow one (an escaped key) alike.
func TestParseHead_Depth(t *testing.T) {
	t.Parallel()
	// The top-level object is level 1, the payload level 2, its member's array level 3, …
	body := func(levels int, key string) []byte {
		n := levels - 2
		return []byte(`{"event_type":"x","` + key + `":{"id":"1","a":` + strings.Repeat("[", n) + strings.Repeat("]", n) + `}}`)
	}
	for _, key := range []string{"payload", `p\u0061yload`} {
		_, err := pipeline.ParseHead(body(pipeline.MaxDepth, key))
		require.NoError(t, err, key)
		for _, levels := range []int{pipeline.MaxDepth + 1, 1000, 10000} {
			_, err = pipeline.ParseHead(body(levels, key))
			var ee *pipeline.EnvelopeError
			require.True(t, errors.As(err, &ee), "%s, %d levels: want an EnvelopeError, got %v", key, levels, err)
			require.Contains(t, ee.Error(), "512")
		}
	}
	// Objects count as arrays do, and so does depth outside the payload.
	deepObj := `{"event_type":"x","payload":{"id":"1"},"metadata":` + strings.Repeat(`{"a":`, 600) + `1` + strings.Repeat("}", 600) + `}`
	_, err := pipeline.ParseHead([]byte(deepObj))
	require.Error(t, err)
}
