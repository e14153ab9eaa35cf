package schema

import (
	"cmp"
	"io/fs"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/proto-free-schemas/schemas"
)

// withFile returns the embedded schemas plus (or with a replaced) name.
func withFile(t *testing.T, name, body string) fstest.MapFS {
	t.Helper()
	m := fstest.MapFS{}
	names, err := fs.Glob(schemas.FS, "*.schema.json")
	require.NoError(t, err)
	for _, n := range names {
		raw, err := fs.ReadFile(schemas.FS, n)
		require.NoError(t, err)
		m[n] = &fstest.MapFile{Data: raw}
	}
	if body == "" {
		delete(m, name)
	} else {
		m[name] = &fstest.MapFile{Data: []byte(body)}
	}
	return m
}

func TestNewFromFSRejectsBrokenSchemas(t *testing.T) {
	t.Parallel()

	const head = `"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": "https://saleassist-pipeline.dev/schemas/`
	tests := []struct {
		name, file, body, want string
	}{
		{"const disagrees with file name", "chat_message.schema.json",
			`{` + head + `chat_message.schema.json", "properties": {"event_type": {"const": "chat"}}}`, "const"},
		{"no const", "chat_message.schema.json",
			`{` + head + `chat_message.schema.json"}`, "const"},
		{"$id disagrees with file name", "chat_message.schema.json",
			`{` + head + `chat.schema.json", "properties": {"event_type": {"const": "chat_message"}}}`, "$id"},
		{"$ref to a file not embedded", "chat_message.schema.json",
			`{` + head + `chat_message.schema.json", "$ref": "missing.schema.json", "properties": {"event_type": {"const": "chat_message"}}}`, "not embedded"},
		{"not JSON", "chat_message.schema.json", `{`, "parse"},
		{"not a schema", "chat_message.schema.json",
			`{` + head + `chat_message.schema.json", "type": 7, "properties": {"event_type": {"const": "chat_message"}}}`, "compile"},
		{"no envelope", "envelope.schema.json", "", "envelope.schema.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := newFromFS(withFile(t, tt.file, tt.body))
			require.ErrorContains(t, err, tt.want)
		})
	}

	// And a well-formed new event type is picked up by its file name.
	v, err := newFromFS(withFile(t, "chat_message.schema.json",
		`{`+head+`chat_message.schema.json", "allOf": [{"$ref": "envelope.schema.json"}], "properties": {"event_type": {"const": "chat_message"}}}`))
	require.NoError(t, err)
	require.True(t, v.HasSchema("chat_message"))
	require.Equal(t, []string{"chat_message", "widget_new_conversation"}, v.EventTypes(),
		"sorted, without the envelope and the lead")
}

func TestComparePointers(t *testing.T) {
	t.Parallel()

	ordered := []string{"", "/event_type", "/payload", "/payload/id", "/payload/meta", "/payload/meta/2", "/payload/meta/10", "/payload/meta/10/x", "/payload/meta/a"}
	for i := range ordered {
		for j := range ordered {
			require.Equal(t, cmp.Compare(i, j), comparePointers(ordered[i], ordered[j]), "%q vs %q", ordered[i], ordered[j])
		}
	}
}

func TestClip(t *testing.T) {
	t.Parallel()

	require.Equal(t, "abc", clip("abc", 3))
	require.Equal(t, "a…", clip("abcdef", 4))
	got := clip("ééééé", 6) // é is 2 bytes, … is 3
	require.Equal(t, "é…", got)
	require.LessOrEqual(t, len(clip("ééééé", 4)), 4)
}
