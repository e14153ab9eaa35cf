package mapping

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Without a person object, a lead exists when any target got a value, and nothing else is kept.
func TestMappingWithoutPerson(t *testing.T) {
	t.Parallel()

	mp, err := ParseMapping("inline.yaml", []byte(`
version: 1
person: ~
lead:
  email: payload.form.Email
  attributes.event: event_type
  attributes.channel: metadata.channel
`))
	require.NoError(t, err)
	m, err := NewMapper("IN", WithMapping(mp))
	require.NoError(t, err)

	l := fromEvent(t, m, "form", `{"event_type": "form", "metadata": {"channel": "web"},
		"payload": {"form": {"Email": " A@B.C ", "Other": 1}}}`)
	require.Equal(t, "a@b.c", l.Email)
	require.Equal(t, map[string]json.RawMessage{
		"event": json.RawMessage(`"form"`), "channel": json.RawMessage(`"web"`),
	}, l.Attributes)

	l = fromEvent(t, m, "form", `{"event_type": "form", "payload": {"form": {"Email": " "}}}`)
	require.Equal(t, `"form"`, string(l.Attributes["event"]))
	require.Nil(t, fromEvent(t, m, "", `{"payload": {"form": {"Email": null}}}`))
}

// Paths can reach keys holding dots or brackets, and the person object can sit in an array.
func TestMappingQuotedKeysAndIndexes(t *testing.T) {
	t.Parallel()

	mp, err := ParseMapping("inline.json", []byte(`{"version": 1,
		"person": "payload.people[1]",
		"lead": {
			"name": "payload.people[1][\"full.name\"]",
			"attributes.first": "payload.people[0].id"
		}}`))
	require.NoError(t, err)
	m, err := NewMapper("IN", WithMapping(mp))
	require.NoError(t, err)
	l := fromEvent(t, m, "", `{"payload": {"people": [{"id": 1}, {"full.name": "Asha", "x": [true]}]}}`)
	require.Equal(t, "Asha", l.Name)
	require.Equal(t, map[string]json.RawMessage{
		"first": json.RawMessage(`1`), "x": json.RawMessage(`[true]`),
	}, l.Attributes)
}

// A plan reading more person keys than the evaluator's inline bit set holds still tracks them.
func TestMappingManyPersonKeys(t *testing.T) {
	t.Parallel()

	var yml, body strings.Builder
	yml.WriteString("version: 1\nlead:\n  name: payload.people_detail.name\n")
	body.WriteString(`{"payload": {"people_detail": {"name": "A", "extra": true`)
	for i := range 300 {
		fmt.Fprintf(&yml, "  attributes.a%d: payload.people_detail.k%d\n", i, i)
		fmt.Fprintf(&body, `, "k%d": %d`, i, i)
	}
	body.WriteString("}}}")
	mp, err := ParseMapping("many.yaml", []byte(yml.String()))
	require.NoError(t, err)
	m, err := NewMapper("IN", WithMapping(mp))
	require.NoError(t, err)
	l := fromEvent(t, m, "", body.String())
	require.Equal(t, "A", l.Name)
	require.Len(t, l.Attributes, 301)
	require.Equal(t, `299`, string(l.Attributes["a299"]))
	require.Equal(t, `true`, string(l.Attributes["extra"]))
	require.NotContains(t, l.Attributes, "k0")
}
