package jsonscan

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"unicode/utf8"
)

// Decode decodes an envelope into generic JSON values exactly as
// json.NewDecoder(bytes.NewReader(body)) with UseNumber() decoding into a map[string]any would: objects as map[string]any (a repeated key: the last one wins), arrays
// as []any (never nil), numbers as json.Number with the literal's text, invalid UTF-8 and unpaired
// surrogates in strings as U+FFFD, a top-level null as a nil map, and whatever follows the first
// value ignored. It does in one pass what encoding/json does in two (a validity scan, then the
// decoding scan), with fewer allocations; the worker decodes every event body, and this was its
// largest cost. FuzzDecodeDocument holds the two to the same result. Strings, numbers, literals
// and whitespace are read by this package's scanner (scan.go), the one the ingest's head scan
// uses; this file adds only the building of values.
func Decode(body []byte) (map[string]any, error) {
	// One copy of the body as a string: strings without escapes are slices of it, not
	// allocations of their own.
	sc := scratchPool.Get().(*scratch)
	defer sc.release()
	d := decoder{data: body, text: string(body), scratch: sc}
	d.skipSpace()
	if d.i >= len(d.data) {
		return nil, errors.New("unexpected end of JSON input")
	}
	switch d.data[d.i] {
	case '{':
		v, err := d.object(1)
		if err != nil {
			return nil, err
		}
		return v, nil
	case 'n':
		if err := d.literal("null"); err != nil {
			return nil, err
		}
		return nil, nil
	}
	// Anything else must still be a valid value to get encoding/json's type error rather than a
	// syntax error; either way it is an error.
	if _, err := d.value(1); err != nil {
		return nil, err
	}
	return nil, errors.New("the JSON value is not an object")
}

type decoder struct {
	data []byte
	text string // data as a string
	i    int
	*scratch
}

// scratch is a decoder's working memory, reused across documents (scratchPool): grown afresh
// for every document, the member stack alone was a tenth of the decoding time.
type scratch struct {
	buf []byte // for strings with escapes or invalid UTF-8
	// members holds the members of the objects being decoded, innermost last. It is empty
	// between documents (object clears what it used), so it keeps no values alive.
	members []member
}

var scratchPool = sync.Pool{New: func() any { return &scratch{members: make([]member, 0, 64)} }}

// release returns sc to the pool: emptied (a document that failed to decode leaves members
// behind), and only if a huge document did not grow it past what is worth keeping.
func (sc *scratch) release() {
	clear(sc.members)
	sc.members = sc.members[:0]
	if cap(sc.members) > 4096 || cap(sc.buf) > 64<<10 {
		return
	}
	scratchPool.Put(sc)
}

func (d *decoder) syntax(what string) error {
	if d.i >= len(d.data) {
		return errors.New("unexpected end of JSON input")
	}
	return fmt.Errorf("invalid character %s %s (offset %d)", quoteChar(d.data[d.i]), what, d.i)
}

func quoteChar(c byte) string {
	if c == '\'' {
		return `'\''`
	}
	if c == '"' {
		return `'"'`
	}
	s := strconv.Quote(string(rune(c)))
	return "'" + s[1:len(s)-1] + "'"
}

func (d *decoder) skipSpace() { d.i = Space(d.data, d.i) }

func (d *decoder) value(depth int) (any, error) {
	if d.i >= len(d.data) {
		return nil, d.syntax("")
	}
	switch c := d.data[d.i]; {
	case c == '{':
		return d.object(depth)
	case c == '[':
		return d.array(depth)
	case c == '"':
		return d.str()
	case c == 't':
		return true, d.literal("true")
	case c == 'f':
		return false, d.literal("false")
	case c == 'n':
		return nil, d.literal("null")
	case c == '-' || c >= '0' && c <= '9':
		return d.number()
	}
	return nil, d.syntax("looking for beginning of value")
}

func (d *decoder) literal(lit string) error {
	i, ok := Literal(d.data, d.i, lit)
	d.i = i
	if !ok {
		return d.syntax("in literal " + lit)
	}
	return nil
}

func (d *decoder) object(depth int) (map[string]any, error) {
	if depth > MaxDepth {
		return nil, errors.New("exceeded max depth")
	}
	d.i++ // '{'
	d.skipSpace()
	if d.i < len(d.data) && d.data[d.i] == '}' {
		d.i++
		return make(map[string]any), nil
	}
	// The members go to a stack shared by every level first, so the map is made at its final
	// size: growing maps member by member was most of the decoding time.
	base := len(d.members)
	for {
		if d.i >= len(d.data) || d.data[d.i] != '"' {
			return nil, d.syntax("looking for beginning of object key string")
		}
		k, err := d.str()
		if err != nil {
			return nil, err
		}
		d.skipSpace()
		if d.i >= len(d.data) || d.data[d.i] != ':' {
			return nil, d.syntax("after object key")
		}
		d.i++
		d.skipSpace()
		v, err := d.value(depth + 1)
		if err != nil {
			return nil, err
		}
		d.members = append(d.members, member{k, v})
		d.skipSpace()
		if d.i >= len(d.data) {
			return nil, d.syntax("")
		}
		switch d.data[d.i] {
		case ',':
			d.i++
			d.skipSpace()
			continue
		case '}':
			d.i++
		default:
			return nil, d.syntax("after object key:value pair")
		}
		break
	}
	ms := d.members[base:]
	m := make(map[string]any, len(ms))
	for _, kv := range ms {
		m[kv.key] = kv.val // in order: a repeated key's last value wins
	}
	clear(ms)
	d.members = d.members[:base]
	return m, nil
}

// member is one key and value of an object being decoded.
type member struct {
	key string
	val any
}

func (d *decoder) array(depth int) ([]any, error) {
	if depth > MaxDepth {
		return nil, errors.New("exceeded max depth")
	}
	d.i++ // '['
	a := make([]any, 0)
	d.skipSpace()
	if d.i < len(d.data) && d.data[d.i] == ']' {
		d.i++
		return a, nil
	}
	for {
		v, err := d.value(depth + 1)
		if err != nil {
			return nil, err
		}
		a = append(a, v)
		d.skipSpace()
		if d.i >= len(d.data) {
			return nil, d.syntax("")
		}
		switch d.data[d.i] {
		case ',':
			d.i++
			d.skipSpace()
		case ']':
			d.i++
			return a, nil
		default:
			return nil, d.syntax("after array element")
		}
	}
}

func (d *decoder) number() (json.Number, error) {
	start := d.i
	i, ok := Number(d.data, d.i)
	d.i = i
	if !ok {
		return "", d.syntax("in numeric literal")
	}
	return json.Number(d.text[start:i]), nil
}

// str reads a string literal at d.i (the opening quote): String checks it, so unquoting needs
// no checks of its own. Most strings have no escapes and are UTF-8: a slice of d.text.
func (d *decoder) str() (string, error) {
	start := d.i + 1
	end, escaped, ok := String(d.data, start)
	d.i = end
	if !ok {
		return "", d.syntax("in string literal")
	}
	raw := d.data[start : end-1]
	if !escaped && utf8.Valid(raw) {
		return d.text[start : end-1], nil
	}
	d.buf = AppendUnquoted(d.buf[:0], raw)
	return string(d.buf), nil
}
