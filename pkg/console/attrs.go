package console

import (
	"bytes"
	"encoding/json"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// attribute is one of a lead's attributes as the lead page shows it: a label and a value, never
// a JSON string with its quotes.
type attribute struct {
	Key, Label, Value string
	// Block marks an object or array, shown indented in a <pre>.
	Block bool
}

// attributes reads a lead's attributes for people: keys sorted, snake_case keys as words
// ("widget_location_source" reads "Widget location source"), strings without quotes, numbers
// and booleans as written, null as empty, objects and arrays indented.
func attributes(attrs map[string]json.RawMessage) []attribute {
	keys := make([]string, 0, len(attrs))
	for k := range attrs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]attribute, 0, len(keys))
	for _, k := range keys {
		a := attribute{Key: k, Label: label(k)}
		raw := bytes.TrimSpace(attrs[k])
		switch {
		case len(raw) == 0 || bytes.Equal(raw, []byte("null")):
		case raw[0] == '"':
			var s string
			if json.Unmarshal(raw, &s) == nil {
				a.Value = s
			} else {
				a.Value = string(raw)
			}
		case raw[0] == '{' || raw[0] == '[':
			a.Value, a.Block = indentJSON(raw), true
		default:
			a.Value = string(raw)
		}
		out = append(out, a)
	}
	return out
}

// label turns a key into words: underscores, dashes and dots become spaces, and the first letter
// is upper case.
func label(key string) string {
	s := strings.Join(strings.FieldsFunc(key, func(r rune) bool { return r == '_' || r == '-' || r == '.' }), " ")
	if s == "" {
		return key
	}
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[n:]
}
