package mapping

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// A path names one value in a decoded event: keys separated by dots, with [N] to pick the Nth
// element of an array (from 0) and ["key.with.dots"] for a key a dot or bracket would split:
//
//	payload.people_detail.email
//	payload.meta[0].registration_form
//	payload.people_detail["utm.source"]
//
// Paths are parsed once, when a mapping loads; looking one up is a walk of type switches over the
// decoded maps and slices, with no reflection and no parsing per event.
type path struct {
	text string
	segs []segment
}

// segment is one step of a path: a key of an object, or (index >= 0) an element of an array.
type segment struct {
	key   string
	index int
}

// maxIndex bounds [N]: no SaleAssist array is near it, and it keeps a typo like [10000000000]
// from being silently accepted as "never there".
const maxIndex = 1 << 20

// parsePath reads a path such as "payload.meta[0].meeting_name". Its errors say what is wrong at
// which character and how to write it instead.
func parsePath(s string) (path, error) {
	if s == "" {
		return path{}, errors.New("the path is empty: write one such as payload.people_detail.name")
	}
	if strings.TrimSpace(s) != s {
		return path{}, fmt.Errorf("path %q has leading or trailing spaces: remove them", s)
	}
	p := path{text: s}
	i := 0
	expectKey := true // at the start and after a dot, a key must follow
	for i < len(s) {
		switch {
		case s[i] == '[':
			seg, n, err := parseBracket(s, i)
			if err != nil {
				return path{}, err
			}
			if expectKey && i > 0 {
				return path{}, fmt.Errorf("path %q: a key is missing before [ at character %d: "+
					"write a.b[0], not a.[0]", s, i+1)
			}
			if i == 0 && seg.index >= 0 {
				return path{}, fmt.Errorf("path %q starts with an index: paths start with a key "+
					"such as payload", s)
			}
			p.segs = append(p.segs, seg)
			i = n
			expectKey = false
			if i < len(s) && s[i] != '.' && s[i] != '[' {
				return path{}, fmt.Errorf("path %q: expected . or [ after ] at character %d", s, i+1)
			}
		case s[i] == '.':
			if expectKey {
				return path{}, fmt.Errorf("path %q has an empty key at character %d: "+
					"separate keys with single dots, as in payload.people_detail.name", s, i+1)
			}
			expectKey = true
			i++
		case s[i] == ']':
			return path{}, fmt.Errorf("path %q: unexpected ] at character %d", s, i+1)
		default:
			if !expectKey {
				return path{}, fmt.Errorf("path %q: expected . or [ after ] at character %d", s, i+1)
			}
			j := i
			for j < len(s) && s[j] != '.' && s[j] != '[' && s[j] != ']' {
				j++
			}
			p.segs = append(p.segs, segment{key: s[i:j], index: -1})
			i = j
			expectKey = false
		}
	}
	if expectKey {
		return path{}, fmt.Errorf("path %q ends with a dot: remove it or add the key after it", s)
	}
	return p, nil
}

// parseBracket reads the bracket at s[i]: [N] or ["key"]. It returns the segment and the
// position just after the closing ].
func parseBracket(s string, i int) (segment, int, error) {
	if i+1 < len(s) && s[i+1] == '"' {
		j := i + 2
		for j < len(s) && s[j] != '"' {
			if s[j] == '\\' {
				j++
			}
			j++
		}
		if j+1 >= len(s) || s[j+1] != ']' {
			return segment{}, 0, fmt.Errorf("path %q: the quoted key at character %d is not "+
				"closed: write [\"key.with.dots\"]", s, i+1)
		}
		key, err := strconv.Unquote(s[i+1 : j+1])
		if err != nil {
			return segment{}, 0, fmt.Errorf("path %q: the quoted key at character %d is not a valid "+
				"quoted string: %v", s, i+1, err)
		}
		return segment{key: key, index: -1}, j + 2, nil
	}
	end := strings.IndexByte(s[i:], ']')
	if end < 0 {
		return segment{}, 0, fmt.Errorf("path %q: [ at character %d is not closed: write [0]", s, i+1)
	}
	idx := s[i+1 : i+end]
	digits := strings.TrimPrefix(idx, "-")
	switch {
	case digits == "" || strings.Trim(digits, "0123456789") != "":
		return segment{}, 0, fmt.Errorf("path %q: index [%s] at character %d is not a number: "+
			"write [0] for the first element, or [\"%s\"] for a key", s, idx, i+1, idx)
	case idx[0] == '-':
		return segment{}, 0, fmt.Errorf("path %q: index [%s] at character %d is negative: indexes "+
			"count from 0 at the start of the array; counting from the end is not supported", s, idx, i+1)
	}
	n, err := strconv.Atoi(digits)
	switch {
	case err != nil || n > maxIndex:
		return segment{}, 0, fmt.Errorf("path %q: index [%s] at character %d is too large: "+
			"the largest is %d", s, idx, i+1, maxIndex)
	case len(idx) > 1 && idx[0] == '0':
		return segment{}, 0, fmt.Errorf("path %q: write index [%s] at character %d as [%d]", s, idx, i+1, n)
	}
	return segment{index: n}, i + end + 1, nil
}

// lookupSegs returns the value segs lead to from v and whether it is there. A JSON null that is
// there gives (nil, true).
func lookupSegs(segs []segment, v any) (any, bool) {
	for _, s := range segs {
		if s.index < 0 {
			obj, ok := v.(map[string]any)
			if !ok {
				return nil, false
			}
			if v, ok = obj[s.key]; !ok {
				return nil, false
			}
			continue
		}
		arr, ok := v.([]any)
		if !ok || s.index >= len(arr) {
			return nil, false
		}
		v = arr[s.index]
	}
	return v, true
}

// hasPrefix reports whether the first segments of p are those of prefix.
func (p *path) hasPrefix(prefix *path) bool {
	if len(prefix.segs) > len(p.segs) {
		return false
	}
	for i, s := range prefix.segs {
		if p.segs[i] != s {
			return false
		}
	}
	return true
}
