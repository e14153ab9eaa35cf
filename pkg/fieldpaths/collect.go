// Package fieldpaths collects the field paths of event bodies: what the kept schema
// (store.FieldKeeper) holds, per account and event type, and the console's schema explorer
// shows. The worker runs a Collector over each batch's stored events and keeps the result with
// one upsert per path; the console runs one over the latest events of a type whose fields are not
// kept yet. It reads bodies with internal/jsonscan, the pipeline's one JSON reader, in one pass
// over the bytes that builds no values: a path is looked up in a map by its bytes, and only a
// path seen for the first time, or an example, allocates. Examples are masked (mask.go).
package fieldpaths

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/saleassist-pipeline/pipeline/internal/jsonscan"
	"github.com/saleassist-pipeline/pipeline/pkg/store"
)

// Bounds on what one sender can make the kept schema hold: values nested deeper than MaxDepth
// are not walked (their container is kept), and a Collector keeps at most MaxPaths paths per
// account and event type (Dropped counts the rest). Senders' payloads have a few dozen paths, a
// few levels deep; a payload whose keys are ids would otherwise add rows without end.
const (
	MaxDepth = 32
	MaxPaths = 2000
)

// Collector adds up the field paths of event bodies. Not safe for concurrent use.
type Collector struct {
	mask  Masker
	types map[typeKey]*typeFields
	// Dropped counts the paths not kept because their type already had MaxPaths.
	Dropped int
	n       int // the number of the event being added, so a path counts once per event
	cur     *typeFields
	at      time.Time
	buf     []byte // the path being walked
	scratch []byte // for keys with escapes
}

type typeKey struct{ acct, typ string }

// typeFields are the paths of one account's event type, as a tree: the top level's keys under
// root. A value is found by its key in its parent's children, so the walk hashes short keys,
// never whole paths, and builds a path only the first time it sees it.
type typeFields struct {
	root  entry
	paths int
}

type entry struct {
	path        string
	types       store.FieldTypes
	count       int64
	first, last time.Time
	example     string
	masked      bool
	seenIn      int
	children    map[string]*entry // an object's keys
	elem        *entry            // an array's elements
}

// NewCollector returns an empty Collector whose examples m masks.
func NewCollector(m Masker) *Collector {
	return &Collector{mask: m, types: map[typeKey]*typeFields{}}
}

// Len returns how many events were added.
func (c *Collector) Len() int { return c.n }

// Add counts the paths of one event body of the account's event type, seen at time at. A body
// that is not JSON returns an error; the paths read before the error stay counted (the ingest
// lets no such body through, so this is a bug's trace, not a sender's).
func (c *Collector) Add(acct, eventType string, at time.Time, body []byte) error {
	c.n++
	k := typeKey{store.Account(acct), eventType}
	tf := c.types[k]
	if tf == nil {
		tf = &typeFields{}
		c.types[k] = tf
	}
	c.cur, c.at = tf, at
	if _, err := c.value(body, jsonscan.Space(body, 0), &tf.root, 0); err != nil {
		return fmt.Errorf("field paths of a %s event: %w", eventType, err)
	}
	return nil
}

// Fields returns what was added, one Field per account, event type and path, sorted by them
// (the order store.FieldKeeper.KeepFields asks for).
func (c *Collector) Fields() []store.Field {
	var out []store.Field
	var add func(k typeKey, e *entry)
	add = func(k typeKey, e *entry) {
		if e == nil {
			return
		}
		if e.path != "" && e.count > 0 {
			out = append(out, store.Field{Account: k.acct, EventType: k.typ, Path: e.path, Types: e.types, Count: e.count,
				FirstSeen: e.first, LastSeen: e.last, Example: store.StorableText(e.example), Masked: e.masked})
		}
		for _, child := range e.children {
			add(k, child)
		}
		add(k, e.elem)
	}
	for k, tf := range c.types {
		add(k, &tf.root)
	}
	slices.SortFunc(out, func(a, b store.Field) int {
		return cmp.Or(strings.Compare(a.Account, b.Account), strings.Compare(a.EventType, b.EventType), strings.Compare(a.Path, b.Path))
	})
	return out
}

var errSyntax = errors.New("not valid JSON")

// child returns the entry of key under parent (a new one the first time), or nil past MaxPaths.
// raw is the key as written (inside its quotes).
func (c *Collector) child(parent *entry, raw []byte, escaped bool) *entry {
	key := raw
	if escaped || !utf8.Valid(raw) {
		c.scratch = jsonscan.AppendUnquoted(c.scratch[:0], raw)
		key = c.scratch
	}
	if e := parent.children[string(key)]; e != nil {
		return e
	}
	if c.cur.paths >= MaxPaths {
		c.Dropped++
		return nil
	}
	if parent.children == nil {
		parent.children = map[string]*entry{}
	}
	e := &entry{path: joinKey(parent.path, key), first: c.at, last: c.at}
	parent.children[string(key)] = e
	c.cur.paths++
	return e
}

// elem returns the entry of parent's array elements, or nil past MaxPaths.
func (c *Collector) elem(parent *entry) *entry {
	if parent.elem == nil {
		if c.cur.paths >= MaxPaths {
			c.Dropped++
			return nil
		}
		parent.elem = &entry{path: parent.path + "[0]", first: c.at, last: c.at}
		c.cur.paths++
	}
	return parent.elem
}

// note counts e as holding a value of type t in this event, and returns it when it still wants
// an example; nil for the top level or nil e.
func (c *Collector) note(e *entry, t store.FieldTypes) *entry {
	if e == nil || e.path == "" {
		return nil
	}
	if e.seenIn != c.n {
		e.seenIn = c.n
		e.count++
		if c.at.Before(e.first) {
			e.first = c.at
		}
		if c.at.After(e.last) {
			e.last = c.at
		}
	}
	e.types |= t
	if e.example != "" {
		return nil
	}
	return e
}

func (c *Collector) example(e *entry, v any) {
	if e != nil {
		e.example, e.masked = c.mask.Example(e.path, v)
	}
}

// value walks the value at b[i], whose entry is e (nil: not kept, too deep or past MaxPaths),
// and returns the index past it.
func (c *Collector) value(b []byte, i int, e *entry, depth int) (int, error) {
	if i >= len(b) {
		return i, errSyntax
	}
	if depth > MaxDepth {
		e = nil
	}
	switch ch := b[i]; ch {
	case '{':
		c.note(e, store.TypeObject)
		return c.object(b, i, e, depth)
	case '[':
		c.note(e, store.TypeArray)
		return c.array(b, i, e, depth)
	case '"':
		end, escaped, ok := jsonscan.String(b, i+1)
		if !ok {
			return end, errSyntax
		}
		if e := c.note(e, store.TypeString); e != nil {
			c.example(e, c.text(b[i+1:end-1], escaped))
		}
		return end, nil
	case 't', 'f', 'n':
		word, t := "null", store.TypeNull
		switch ch {
		case 't':
			word, t = "true", store.TypeBoolean
		case 'f':
			word, t = "false", store.TypeBoolean
		}
		end, ok := jsonscan.Literal(b, i, word)
		if !ok {
			return end, errSyntax
		}
		if e := c.note(e, t); e != nil && t == store.TypeBoolean {
			c.example(e, ch == 't')
		}
		return end, nil
	}
	end, ok := jsonscan.Number(b, i)
	if !ok {
		return end, errSyntax
	}
	if e := c.note(e, store.TypeNumber); e != nil {
		c.example(e, json.Number(b[i:end]))
	}
	return end, nil
}

func (c *Collector) object(b []byte, i int, e *entry, depth int) (int, error) {
	i = jsonscan.Space(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, nil
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return i, errSyntax
		}
		end, escaped, ok := jsonscan.String(b, i+1)
		if !ok {
			return end, errSyntax
		}
		var child *entry
		if e != nil {
			child = c.child(e, b[i+1:end-1], escaped)
		}
		i = jsonscan.Space(b, end)
		if i >= len(b) || b[i] != ':' {
			return i, errSyntax
		}
		var err error
		if i, err = c.value(b, jsonscan.Space(b, i+1), child, depth+1); err != nil {
			return i, err
		}
		var done bool
		if i, done, err = next(b, i, '}'); done || err != nil {
			return i, err
		}
	}
}

func (c *Collector) array(b []byte, i int, e *entry, depth int) (int, error) {
	i = jsonscan.Space(b, i+1)
	if i < len(b) && b[i] == ']' {
		return i + 1, nil
	}
	var el *entry
	if e != nil {
		el = c.elem(e)
	}
	for {
		var err error
		if i, err = c.value(b, i, el, depth+1); err != nil {
			return i, err
		}
		var done bool
		if i, done, err = next(b, i, ']'); done || err != nil {
			return i, err
		}
	}
}

// next reads what follows a member or an element: ',' and the space after it (more to come), or
// the container's closing byte (done, i past it).
func next(b []byte, i int, closing byte) (int, bool, error) {
	i = jsonscan.Space(b, i)
	if i >= len(b) {
		return i, false, errSyntax
	}
	switch b[i] {
	case ',':
		return jsonscan.Space(b, i+1), false, nil
	case closing:
		return i + 1, true, nil
	}
	return i, false, errSyntax
}

// text is the string whose inside (between its quotes) is raw.
func (c *Collector) text(raw []byte, escaped bool) string {
	if !escaped && utf8.Valid(raw) {
		return string(raw)
	}
	c.scratch = jsonscan.AppendUnquoted(c.scratch[:0], raw)
	return string(c.scratch)
}

// joinKey appends an object key to path: after a dot when it is a plain key, else as ["key"] (a
// key holding a dot, a bracket, a quote or a control character, space at either end, or empty),
// the way MAPPING_FILE paths write it.
func joinKey(path string, key []byte) string {
	if plainKey(key) {
		if path == "" {
			return string(key)
		}
		return path + "." + string(key)
	}
	q, _ := json.Marshal(string(key))
	return path + "[" + string(q) + "]"
}

func plainKey(k []byte) bool {
	if len(k) == 0 {
		return false
	}
	if first, _ := utf8.DecodeRune(k); unicode.IsSpace(first) {
		return false
	}
	if last, _ := utf8.DecodeLastRune(k); unicode.IsSpace(last) {
		return false
	}
	for _, ch := range k {
		switch {
		case ch < 0x20, ch == '.', ch == '[', ch == ']', ch == '"':
			return false
		}
	}
	return true
}
