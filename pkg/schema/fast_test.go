package schema

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/internal/testkit"
)

// Every schema we ship compiles to a fast check, and the sample event passes it.
func TestFastCheckCoversOurSchemas(t *testing.T) {
	t.Parallel()
	v, err := New()
	require.NoError(t, err)
	require.NotNil(t, v.envelope.fast)
	for typ, cs := range v.events {
		require.NotNil(t, cs.fast, typ)
	}
	var doc any
	require.NoError(t, testkit.DecodeNumbers(testkit.Fixture(t), &doc))
	require.True(t, v.events["widget_new_conversation"].fast(doc))
	require.True(t, v.envelope.fast(doc))
}

// A schema with a keyword the fast check does not know gets none: the full validator decides.
func TestFastCheckRefusesUnknownKeywords(t *testing.T) {
	t.Parallel()
	c := &fastCompiler{docs: map[string]map[string]any{"x.schema.json": {"type": "object", "minProperties": json.Number("1")}},
		refs: map[string]*fastCheck{}}
	_, err := c.compile("x.schema.json", "")
	require.Error(t, err)
}

// The fast check never passes a document the full validator fails. The seeds are the sample
// and near misses of every keyword; the fuzzer mutates them.
func FuzzFastCheck(f *testing.F) {
	f.Add(testkit.Fixture(f))
	for _, s := range []string{
		`{"event_type":"widget_new_conversation","payload":{"id":"e1","people_detail":{}}}`,
		`{"event_type":"widget_new_conversation","payload":{"id":"","people_detail":{}}}`,
		`{"event_type":"widget_new_conversation","payload":{"id":1.0,"people_detail":{}}}`,
		`{"event_type":"widget_new_conversation","payload":{"id":"e1","people_detail":{"widget_latitude":90.0000000000000001}}}`,
		`{"event_type":"widget_new_conversation","payload":{"id":"e1","people_detail":{"widget_latitude":"90.5x"}}}`,
		`{"event_type":"widget_new_conversation","payload":{"id":"e1","people_detail":{"widget_longitude":-180.1}}}`,
		`{"event_type":"widget_new_conversation","payload":{"id":"e1","people_detail":{},"meta":[{"duration":-1}]}}`,
		`{"event_type":"widget_new_conversation","payload":{"id":"e1","people_detail":{},"meta":[{"participants":["a",1]}]}}`,
		`{"event_type":"widget_new_conversation","payload":{"id":"e1","people_detail":{},"meta":[{},5]}}`,
		`{"event_type":"widget_new_conversation","payload":{"id":"e1","people_detail":{},"created_on":1e3}}`,
		`{"event_type":"other","payload":{}}`, `{"event_type":"","payload":{}}`, `{"payload":{}}`, `[]`, `"x"`, `null`,
	} {
		f.Add([]byte(s))
	}
	v, err := New()
	require.NoError(f, err)
	f.Fuzz(func(t *testing.T, body []byte) {
		var doc any
		if testkit.DecodeNumbers(body, &doc) != nil {
			return
		}
		for _, cs := range []compiled{v.events["widget_new_conversation"], v.envelope} {
			if cs.fast(doc) {
				require.NoError(t, cs.schema.Validate(doc), "%s passed the fast check: %s", cs.file, body)
			}
		}
	})
}
