package pipeline

import (
	"bytes"

	"github.com/saleassist-pipeline/pipeline/internal/jsonscan"
)

// scanHead is ParseHead's fast path: one pass over the body that both checks it is valid JSON,
// exactly as encoding/json.Valid decides (RFC 8259, nesting at most maxDepth, bytes that are not
// UTF-8 allowed inside strings), and picks out the raw event_type, payload and payload.id
// members as the worker's map decode reads them (exact keys, the last one winning), and the raw
// payload.client_id beside payload.id (it names the SaleAssist account the event belongs to).
//
// It handles the common case only: ok is false whenever the body is not valid JSON, is not an
// object, has a top-level key with an escape or one that differs from "payload" only in case
// (encoding/json's struct decode would look at it), or a payload that is not an object. ParseHead
// then takes its slower path, which explains every failure (with line and column for a syntax
// error) as before. FuzzScanHead holds this function to encoding/json.
//
// The whole body must be read on the request path anyway; encoding/json needed two passes
// (Unmarshal validates before it decodes) plus a third for the exact-key lookups.
//
// levels is how deeply the body nests, the top-level object being level 1: tracked beside the
// validity check rather than folded into it, so that validity stays json.Valid's and ParseHead
// applies its own, lower limit (MaxDepth) with an error of its own.
func scanHead(b []byte) (eventType, payload, id, clientID []byte, levels int, ok bool) {
	var s scanner
	s.b = b
	i := s.space(0)
	if i >= len(b) || b[i] != '{' {
		return nil, nil, nil, nil, 0, false
	}
	i, ok = s.topObject(i + 1)
	if !ok || s.space(i) != len(b) {
		return nil, nil, nil, nil, 0, false
	}
	return s.eventType, s.payload, s.id, s.clientID, s.deepest + 1, true
}

// nesting returns how deeply the valid JSON value body nests (a scalar is level 0, an object or
// array level 1, …), with the same scanner: the slow path's counterpart of scanHead's levels.
func nesting(body []byte) int {
	// depth -1: the outermost container is at depth 0, as the top-level object is for scanHead,
	// so that value applies encoding/json's limit at the same level.
	s := scanner{b: body, depth: -1, deepest: -1}
	s.value(s.space(0))
	return s.deepest + 1
}

type scanner struct {
	b                                []byte
	eventType, payload, id, clientID []byte
	// depth counts the containers open below the top-level object; kinds records, one bit per
	// level, whether each is an object (1) or an array (0).
	depth int
	kinds [jsonscan.MaxDepth/64 + 1]uint64
	// deepest is the largest depth reached.
	deepest int
}

// The grammar's pieces are jsonscan's, the worker's decoder's too; the scanner adds only the
// structure (nesting without recursion) and what the head needs.
func (s *scanner) space(i int) int { return jsonscan.Space(s.b, i) }

func (s *scanner) str(i int) (end int, escaped, ok bool) { return jsonscan.String(s.b, i) }

func (s *scanner) number(i int) (int, bool) { return jsonscan.Number(s.b, i) }

func (s *scanner) literal(i int, word string) (int, bool) { return jsonscan.Literal(s.b, i, word) }

// value checks the value starting at b[i] (no space before it) and returns the index past it.
// Containers are checked without recursion, so nesting costs no stack.
func (s *scanner) value(i int) (int, bool) {
	b := s.b
	base := s.depth
	for {
		// A value starts at b[i].
		if i >= len(b) {
			return i, false
		}
		var ok bool
		switch c := b[i]; c {
		case '{', '[':
			if s.depth++; s.depth+1 > jsonscan.MaxDepth { // +1: the top-level object
				return i, false
			}
			if s.depth > s.deepest {
				s.deepest = s.depth
			}
			word, bit := s.depth/64, uint(s.depth%64)
			if c == '{' {
				s.kinds[word] |= 1 << bit
			} else {
				s.kinds[word] &^= 1 << bit
			}
			i = s.space(i + 1)
			if i < len(b) && b[i] == c+2 { // '}' is '{'+2, ']' is '['+2
				s.depth--
				i++
				break
			}
			if c == '{' {
				if _, _, i, ok = s.member(i); !ok {
					return i, false
				}
			}
			continue // the first member's value, or the first element
		case '"':
			if i, _, ok = s.str(i + 1); !ok {
				return i, false
			}
		case 't':
			if i, ok = s.literal(i, "true"); !ok {
				return i, false
			}
		case 'f':
			if i, ok = s.literal(i, "false"); !ok {
				return i, false
			}
		case 'n':
			if i, ok = s.literal(i, "null"); !ok {
				return i, false
			}
		default:
			if i, ok = s.number(i); !ok {
				return i, false
			}
		}
		// A value ended at b[i]: close containers or move to the next member or element.
		for {
			if s.depth == base {
				return i, true
			}
			i = s.space(i)
			if i >= len(b) {
				return i, false
			}
			object := s.kinds[s.depth/64]&(1<<uint(s.depth%64)) != 0
			c := b[i]
			if c == ',' {
				i = s.space(i + 1)
				if object {
					if _, _, i, ok = s.member(i); !ok {
						return i, false
					}
				}
				break
			}
			if object && c == '}' || !object && c == ']' {
				s.depth--
				i++
				continue
			}
			return i, false
		}
	}
}

// member reads an object member's key, whose opening quote is at b[i], and the colon after it. It
// returns the raw key, whether the key holds escapes, and the index of the member's value.
func (s *scanner) member(i int) (key []byte, escaped bool, v int, ok bool) {
	b := s.b
	if i >= len(b) || b[i] != '"' {
		return nil, false, i, false
	}
	end, escaped, ok := s.str(i + 1)
	if !ok {
		return nil, false, end, false
	}
	v = s.space(end)
	if v >= len(b) || b[v] != ':' {
		return nil, false, v, false
	}
	return b[i+1 : end-1], escaped, s.space(v + 1), true
}

// next moves past what follows a member's value that ended at b[i]: a comma (it returns the
// index of the next member) or the object's closing brace (last, and the index past it).
func (s *scanner) next(i int) (j int, last, ok bool) {
	i = s.space(i)
	if i >= len(s.b) {
		return i, false, false
	}
	switch s.b[i] {
	case '}':
		return i + 1, true, true
	case ',':
		return s.space(i + 1), false, true
	}
	return i, false, false
}

// topObject checks the members of the top-level object, whose '{' is at b[i-1], keeping
// event_type and payload, and returns the index past its '}'.
func (s *scanner) topObject(i int) (int, bool) {
	b := s.b
	i = s.space(i)
	if i < len(b) && b[i] == '}' {
		return i + 1, true
	}
	for {
		key, escaped, v, ok := s.member(i)
		if !ok || escaped {
			return v, false // an escaped key: leave the matching to the slow path
		}
		switch {
		case string(key) == "event_type":
			if i, ok = s.value(v); !ok {
				return i, false
			}
			s.eventType = b[v:i]
		case string(key) == "payload":
			if v >= len(b) || b[v] != '{' {
				return v, false
			}
			s.id, s.clientID = nil, nil // the last payload wins, and with it its id and client id
			if i, ok = s.payloadObject(v + 1); !ok {
				return i, false
			}
			s.payload = b[v:i]
		case bytes.EqualFold(key, []byte("payload")):
			return v, false // encoding/json would type-check this one as the payload
		default:
			if i, ok = s.value(v); !ok {
				return i, false
			}
		}
		var last bool
		if i, last, ok = s.next(i); !ok || last {
			return i, ok
		}
	}
}

// payloadObject checks the members of the payload object, whose '{' is at b[i-1], keeping the
// last id and client_id, and returns the index past its '}'.
func (s *scanner) payloadObject(i int) (int, bool) {
	b := s.b
	s.depth++ // the payload's members sit one level down
	s.kinds[s.depth/64] |= 1 << uint(s.depth%64)
	s.deepest = max(s.deepest, s.depth)
	i = s.space(i)
	if i < len(b) && b[i] == '}' {
		s.depth--
		return i + 1, true
	}
	for {
		key, escaped, v, ok := s.member(i)
		if !ok {
			return v, false
		}
		if i, ok = s.value(v); !ok {
			return i, false
		}
		switch {
		case escaped && keyIs(key, "id") || !escaped && string(key) == "id":
			s.id = b[v:i]
		case escaped && keyIs(key, "client_id") || !escaped && string(key) == "client_id":
			s.clientID = b[v:i]
		}
		var last bool
		if i, last, ok = s.next(i); !ok || last {
			if last {
				s.depth--
			}
			return i, ok
		}
	}
}
