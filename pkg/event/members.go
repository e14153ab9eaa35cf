package event

import (
	"bytes"
	"encoding/json"
)

// encoding/json fills a struct case-insensitively ("ID" sets the id field) and merges a repeated
// object member into the same struct, while the worker decodes the body into a map, where keys
// match exactly and the last of a repeated key wins. ParseHead therefore takes event_type,
// payload and payload.id with lastMember, so the ingest files an event under the id and type its
// stored document carries (found by FuzzHeadMatchesDocument).

// lastMember returns the value of the last member of the JSON object obj whose key is exactly
// key, as a map decode sees it. obj must be valid JSON (ParseHead has checked the whole body).
func lastMember(obj []byte, key string) (json.RawMessage, bool) {
	i := skipSpace(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return nil, false
	}
	var val json.RawMessage
	found := false
	for i = skipSpace(obj, i+1); i < len(obj) && obj[i] == '"'; i = skipSpace(obj, i) {
		end := skipString(obj, i)
		k := obj[i+1 : end]
		i = skipSpace(obj, skipSpace(obj, end+1)+1) // past the ':'
		vend := skipValue(obj, i)
		if keyIs(k, key) {
			val, found = obj[i:vend], true
		}
		if i = skipSpace(obj, vend); i < len(obj) && obj[i] == ',' {
			i = skipSpace(obj, i+1)
		}
	}
	return val, found
}

// keyIs reports whether the raw (still escaped) key k decodes to key.
func keyIs(k []byte, key string) bool {
	if bytes.IndexByte(k, '\\') < 0 {
		return string(k) == key
	}
	var s string
	quoted := make([]byte, 0, len(k)+2)
	quoted = append(append(append(quoted, '"'), k...), '"')
	return json.Unmarshal(quoted, &s) == nil && s == key
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index of the quote closing the string that opens at b[i].
func skipString(b []byte, i int) int {
	for i++; i < len(b) && b[i] != '"'; i++ {
		if b[i] == '\\' {
			i++
		}
	}
	return i
}

// structural marks the bytes skipValue must look at inside a nested value; the pass runs on
// every request, so everything else is skipped with one table load.
var structural = [256]bool{'"': true, '{': true, '}': true, '[': true, ']': true}

// skipValue returns the index just past the JSON value starting at b[i].
func skipValue(b []byte, i int) int {
	depth := 0
	for ; i < len(b); i++ {
		c := b[i]
		if depth > 0 && !structural[c] {
			continue
		}
		switch c {
		case '"':
			if i = skipString(b, i); depth == 0 {
				return i + 1
			}
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				return i // the end of the enclosing object: a scalar ended here
			}
			if depth--; depth == 0 {
				return i + 1
			}
		case ',', ' ', '\t', '\n', '\r':
			return i // depth is 0: a scalar ended here
		}
	}
	return i
}
