package mapping

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// A bad mapping file refuses to load, and says which file, which line and field, and what is
// wrong.
func TestLoadMappingErrors(t *testing.T) {
	t.Parallel()

	const head = "version: 1\nlead:\n"
	tests := []struct {
		name, file, body string
		line             int    // of the first fault
		field            string // of the first fault
		msg              string // part of the first fault's message
		more             int    // further faults reported
	}{
		{"unknown top-level key", "m.yaml", "version: 1\nleads: {}\n", 2, "leads",
			`unknown key (did you mean "lead"?): the keys are version, description, person, lead, seen_at, event_types`, 1},
		{"missing version", "m.yaml", "# my mapping\nlead: {}\n", 2, "version", "missing: start the file with version: 1", 0},
		{"unsupported version", "m.yaml", "version: 2\nlead: {}\n", 1, "version",
			`unsupported version "2": this build reads version 1`, 0},
		{"missing lead", "m.yaml", "version: 1\nperson: payload.people_detail\n", 1, "lead", "missing: map the lead's fields", 0},
		{"unknown target", "m.yaml", head + "  name: payload.people_detail.name\n  emial: payload.people_detail.email\n",
			4, "lead.emial", `unknown target (did you mean "email"?): the targets are source_id, name, email, mobile_number,`, 0},
		{"empty path key", "m.yaml", head + "  name: payload..x\n", 3, "lead.name",
			`path "payload..x" has an empty key at character 9: separate keys with single dots`, 0},
		{"index not a number", "m.yaml", head + "  name:\n    path: payload.meta[x].y\n", 4, "lead.name.path",
			`path "payload.meta[x].y": index [x] at character 13 is not a number: write [0] for the first element`, 0},
		{"negative index", "m.yaml", head + "  name: {first_of: [payload.a, \"payload.meta[-1].y\"]}\n", 3, "lead.name.first_of[1]",
			`index [-1] at character 13 is negative: indexes count from 0`, 0},
		{"unclosed index", "m.yaml", head + "  name: payload.meta[0\n", 3, "lead.name", "[ at character 13 is not closed", 0},
		{"path not rooted", "m.yaml", head + "  name: people_detail.name\n", 3, "lead.name",
			`must start with payload, metadata, event_type: paths start at the top of the event (did you mean "payload.people_detail.name"?)`, 0},
		{"unknown transform", "m.yaml", head + "  email: {path: payload.a, transforms: [trim, lowercas]}\n", 3, "lead.email.transforms[1]",
			`unknown transform "lowercas" (did you mean "lowercase"?): the transforms are trim, lowercase, e164, e164-strict, number, json-decode`, 0},
		{"json-decode on a text field", "m.yaml", head + "  name:\n    path: payload.a\n    transforms:\n      - trim\n      - json-decode\n",
			7, "lead.name.transforms[1]", "json-decode gives structured JSON, which only an attributes.<key> target holds", 0},
		{"empty first_of", "m.yaml", head + "  city: {first_of: []}\n", 3, "lead.city.first_of",
			"the list is empty: give the paths to try, in order", 0},
		{"path and first_of", "m.yaml", head + "  city:\n    path: payload.a\n    first_of: [payload.b]\n", 5, "lead.city",
			"both path and first_of: give path for one source, first_of for several", 0},
		{"duplicate target", "m.yaml", head + "  name: payload.a\n  city: payload.c\n  name: payload.b\n", 5, "lead.name",
			"given twice (first at line 3): keep one", 0},
		{"no source", "m.yaml", head + "  name: ~\n", 3, "lead.name", "no source: give a path", 0},
		{"unknown source key", "m.yaml", head + "  name: {pth: payload.a}\n", 3, "lead.name.pth",
			`unknown key (did you mean "path"?): a source takes path, first_of, transforms`, 0},
		{"list as a source", "m.yaml", head + "  city: [payload.a, payload.b]\n", 3, "lead.city",
			"a list is not a source: for several candidate paths write {first_of: [a, b]}", 0},
		{"attribute without key", "m.yaml", head + "  attributes.: payload.a\n", 3, "lead.attributes.",
			"the attribute's key is empty", 0},
		{"seen_at with transforms", "m.yaml", head + "  name: payload.a\nseen_at: {path: payload.b, transforms: [number]}\n",
			4, "seen_at.transforms", "seen_at takes no transforms", 0},
		{"unknown event type key", "m.yaml", head + "  name: payload.a\nevent_types:\n  form:\n    leed: {}\n", 6,
			"event_types.form.leed", `unknown key (did you mean "lead"?): an event type takes person, lead, seen_at`, 0},
		{"event type fault", "m.yaml", head + "  name: payload.a\nevent_types:\n  form:\n    lead:\n      name: payload.b[x]\n", 7,
			"event_types.form.lead.name", "index [x] at character 10 is not a number", 0},
		{"several faults", "m.yaml", head + "  nam: payload.a\n  city: payload.\n  email: {path: payload.b, transforms: [up]}\n",
			3, "lead.nam", `unknown target (did you mean "name"?)`, 2},
		{"top level is a list", "m.yaml", "- version: 1\n", 1, "", "the top level must be keys and values", 0},
		{"empty file", "m.yaml", "# nothing yet\n", 0, "", "the file is empty: a mapping starts with version: 1", 0},
		{"invalid YAML", "m.yaml", head + "  name: [payload.a\n", 3, "", "invalid YAML: did not find expected ',' or ']'", 0},
		{"unquoted index in flow", "m.yaml", head + "  name: payload.a\n  city: {path: payload.meta[0].city}\n", 4, "",
			`invalid YAML: did not find expected ',' or '}' (inside { } or [ ], a path with an index must be quoted`, 0},
		{"tab indent", "m.yaml", head + "\tname: payload.a\n", 3, "", "(YAML indents with spaces, not tabs)", 0},
		{"invalid JSON", "m.json", "{\"version\": 1,\n  \"lead\": {\"name\": \"payload.a\",}\n}\n", 2, "",
			"invalid JSON at column 32: invalid character '}' looking for beginning of object key string", 0},
		{"truncated JSON", "m.json", "{\"version\": 1,\n  \"lead\": {\n", 2, "", "invalid JSON: the file ends inside an object or array", 0},
		{"JSON fault has its line", "m.json", "{\n  \"version\": 1,\n  \"lead\": {\n    \"emial\": \"payload.a\"\n  }\n}\n",
			4, "lead.emial", `unknown target (did you mean "email"?)`, 0},
		{"JSON duplicate key", "mapping", "{\"version\": 1,\n\"lead\": {},\n\"lead\": {}}", 3, "lead",
			"given twice (first at line 2)", 0},
	}
	dir := t.TempDir()
	for i, tt := range tests {
		file := filepath.Join(dir, fmt.Sprintf("%02d-%s", i, tt.file))
		require.NoError(t, os.WriteFile(file, []byte(tt.body), 0o600))
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			mp, err := LoadMapping(file)
			require.Nil(t, mp)
			require.Error(t, err)
			var me *MappingError
			require.ErrorAs(t, err, &me)
			require.Equal(t, file, me.File)
			require.Equal(t, tt.line, me.Line, "%v", err)
			require.Equal(t, tt.field, me.Field, "%v", err)
			require.Contains(t, me.Msg, tt.msg)

			prefix := "mapping " + file + ": "
			if tt.line > 0 {
				prefix += fmt.Sprintf("line %d: ", tt.line)
			}
			if tt.field != "" {
				prefix += tt.field + ": "
			}
			lines := strings.Split(err.Error(), "\n")
			require.True(t, strings.HasPrefix(lines[0], prefix), "%q does not start with %q", lines[0], prefix)
			require.Len(t, lines, 1+tt.more, "%v", err)
			for _, l := range lines {
				require.True(t, strings.HasPrefix(l, "mapping "+file+": "), l)
			}
		})
	}
}

func TestLoadMappingUnreadable(t *testing.T) {
	t.Parallel()

	file := filepath.Join(t.TempDir(), "missing.yaml")
	_, err := LoadMapping(file)
	require.EqualError(t, err, "mapping "+file+": cannot read the file: no such file or directory")
	require.ErrorIs(t, err, fs.ErrNotExist)

	dir := t.TempDir()
	_, err = LoadMapping(dir)
	require.ErrorContains(t, err, "mapping "+dir+": cannot read the file: ")
}

func TestParseMappingFormat(t *testing.T) {
	t.Parallel()

	// Without a known extension, content starting with { is JSON (YAML would reject the \/).
	_, err := ParseMapping("MAPPING", []byte(` {"version": 1, "lead": {"name": "payload.x\/y"}}`))
	require.NoError(t, err)
	// A .yaml file may use YAML's flow style, which also starts with {.
	_, err = ParseMapping("m.yml", []byte(`{version: 1, lead: {name: payload.x}}`))
	require.NoError(t, err)
	_, err = ParseMapping("m.JSON", []byte(`version: 1`))
	require.ErrorContains(t, err, "mapping m.JSON: line 1: invalid JSON at column 1: invalid character 'v'")
}

// The limit on reported faults keeps a wholly wrong file's message readable.
func TestLoadMappingManyFaults(t *testing.T) {
	t.Parallel()

	var b strings.Builder
	b.WriteString("version: 1\nlead:\n")
	for i := range 40 {
		fmt.Fprintf(&b, "  bad%d: payload.a\n", i)
	}
	_, err := ParseMapping("m.yaml", []byte(b.String()))
	require.Len(t, strings.Split(err.Error(), "\n"), maxErrors)
	var me *MappingError
	require.True(t, errors.As(err, &me))
	require.Equal(t, 3, me.Line)
}
