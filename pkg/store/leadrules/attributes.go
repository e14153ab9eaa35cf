package leadrules

import (
	"encoding/json"
	"slices"
	"strings"
)

// EncodeAttributes renders a lead's attributes as stored: exactly json.Marshal's text (keys
// sorted, values compact, <, > and & escaped), "{}" for none. json.Marshal, with its reflection,
// sorting and compaction of every value, was about a sixth of the store's time per event; the
// attributes come from our own decoding and almost always hold nothing to escape or compact, so
// they are written directly, and anything else goes to json.Marshal.
func EncodeAttributes(attrs map[string]json.RawMessage) (string, error) {
	if len(attrs) == 0 {
		return "{}", nil
	}
	keys := make([]string, 0, len(attrs))
	n := 2
	for k, v := range attrs {
		if !plainKey(k) || !plainValue(v) {
			b, err := json.Marshal(attrs)
			return string(b), err
		}
		keys = append(keys, k)
		n += len(k) + len(v) + 4
	}
	slices.Sort(keys)
	var b strings.Builder
	b.Grow(n)
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('"')
		b.WriteString(k)
		b.WriteString(`":`)
		b.Write(attrs[k])
	}
	b.WriteByte('}')
	return b.String(), nil
}

// plainKey reports whether json.Marshal writes k as it is between quotes: printable ASCII
// without a quote, backslash or HTML character.
func plainKey(k string) bool {
	for i := 0; i < len(k); i++ {
		if c := k[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

// plainValue reports whether json.Marshal writes v unchanged: valid JSON, nothing to compact
// (no white space outside strings), nothing it escapes (<, > and &, U+2028 and U+2029, whose
// UTF-8 starts with 0xE2; any 0xE2 is left to json.Marshal).
func plainValue(v json.RawMessage) bool {
	if len(v) == 0 {
		return false
	}
	inString, escaped := false, false
	for _, c := range v {
		switch {
		case c == '<' || c == '>' || c == '&' || c == 0xE2:
			return false
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			return false
		}
	}
	return json.Valid(v)
}
