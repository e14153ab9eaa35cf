package pipeline

import (
	"encoding/json"

	"github.com/saleassist-pipeline/pipeline/internal/jsonscan"
)

// encoding/json fills a struct case-insensitively ("ID" sets the id field) and merges a repeated
// object member into the same struct, while the worker decodes the body into a map, where keys
// match exactly and the last of a repeated key wins. ParseHead therefore takes event_type,
// payload and payload.id with lastMember, so the ingest files an event under the id and type its
// stored document carries (found by FuzzHeadMatchesDocument).

// lastMember returns the value of the last member of the JSON object obj whose key is exactly
// key, as a map decode sees it. obj must be valid JSON (ParseHead has checked the whole body);
// it is walked with the same scanner as ParseHead's fast path.
func lastMember(obj []byte, key string) (json.RawMessage, bool) {
	s := scanner{b: obj}
	i := s.space(0)
	if i >= len(obj) || obj[i] != '{' {
		return nil, false
	}
	var val json.RawMessage
	found := false
	if i = s.space(i + 1); i < len(obj) && obj[i] == '}' {
		return nil, false
	}
	for {
		k, escaped, v, ok := s.member(i)
		if !ok {
			return val, found
		}
		if i, ok = s.value(v); !ok {
			return val, found
		}
		if escaped && keyIs(k, key) || !escaped && string(k) == key {
			val, found = obj[v:i], true
		}
		var last bool
		if i, last, ok = s.next(i); !ok || last {
			return val, found
		}
	}
}

// keyIs reports whether the raw key k, which holds escapes (unescaped keys are compared as they
// are), decodes to key. k is a key the scanner accepted.
func keyIs(k []byte, key string) bool {
	return string(jsonscan.AppendUnquoted(nil, k)) == key
}
