package mapping

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"golang.org/x/text/unicode/norm"

	"github.com/saleassist-pipeline/pipeline"
)

// plan is a mapping compiled for one event type (or for every type): what a Mapper runs per
// event.
type plan struct {
	// person is the object describing the person (payload.people_detail by default), nil when
	// the mapping names none. With one, a lead exists only when it holds a value, and its
	// fields no rule used are kept in Attributes.
	person *path
	fields []rule // Lead's text fields, in fieldID order
	attrs  []rule // attributes.<key> targets, by key
	// slots numbers the person's keys that rules read directly (person.<key>), so an
	// evaluation can record which of them it used in a bit set.
	slots  map[string]int
	seenAt []path
}

// rule fills one target from the first of its candidates that gives a usable value.
type rule struct {
	field      fieldID
	attr       string // the key of an attributes.<key> target; "" for a field
	cands      []cand
	transforms []transform
}

// cand is one source path of a rule.
type cand struct {
	// segs are the path's steps from the envelope, or from the person object when rel: the
	// person is found once per event, not once per field.
	segs []segment
	rel  bool
	// slot is the person key the path reads (person.<key>), or -1.
	slot int
}

// planOf plans the entries of a lead block (merged for one event type).
func planOf(person *path, entries map[string]*entry, seenAt []path) *plan {
	p := &plan{person: person, seenAt: seenAt, slots: map[string]int{}}
	for _, e := range entries {
		r := rule{field: e.field, attr: e.attr, transforms: e.transforms}
		for _, c := range e.cands {
			r.cands = append(r.cands, p.cand(c))
		}
		if e.attr != "" {
			p.attrs = append(p.attrs, r)
		} else {
			p.fields = append(p.fields, r)
		}
	}
	slices.SortFunc(p.fields, func(a, b rule) int { return cmp.Compare(a.field, b.field) })
	slices.SortFunc(p.attrs, func(a, b rule) int { return strings.Compare(a.attr, b.attr) })
	return p
}

func (p *plan) cand(pa path) cand {
	c := cand{segs: pa.segs, slot: -1}
	if p.person == nil || !pa.hasPrefix(p.person) {
		return c
	}
	c.segs, c.rel = pa.segs[len(p.person.segs):], true
	if len(c.segs) == 1 && c.segs[0].index < 0 {
		slot, ok := p.slots[c.segs[0].key]
		if !ok {
			slot = len(p.slots)
			p.slots[c.segs[0].key] = slot
		}
		c.slot = slot
	}
	return c
}

// build runs p over the envelope doc, or over an envelope holding only payload when doc is
// nil (FromPayload: no envelope is built, which would cost two allocations per event). See
// FromEvent for the rules.
func (m *Mapper) build(p *plan, doc, payload map[string]any, receivedAt time.Time) (*pipeline.Lead, error) {
	e := evaluator{m: m, doc: doc, payload: payload}
	if p.person != nil {
		v, _ := e.root(p.person.segs)
		e.person, _ = v.(map[string]any)
		if !anyValue(e.person) {
			return nil, nil
		}
	}
	if n := len(p.slots); n > 64*len(e.small) {
		e.big = make([]uint64, (n+63)/64)
	}

	l := new(pipeline.Lead)
	set := false
	for i := range p.fields {
		if s, ok := e.text(&p.fields[i]); ok {
			*fieldPtr(l, p.fields[i].field) = s
			set = true
		}
	}
	for i := range p.attrs {
		r := &p.attrs[i]
		v, ok := e.value(r)
		if !ok {
			continue
		}
		raw, err := encodeJSON(v)
		if err != nil {
			return nil, fmt.Errorf("lead: encode attributes.%s: %w", r.attr, err)
		}
		if l.Attributes == nil {
			l.Attributes = make(map[string]json.RawMessage, len(p.attrs)+len(e.person))
		}
		l.Attributes[r.attr] = raw
	}
	for k, v := range e.person {
		if slot, ok := p.slots[k]; ok && e.isUsed(slot) {
			continue
		}
		if _, taken := l.Attributes[k]; taken {
			continue // a rule's attributes.<key> wins over the person's own <key>
		}
		raw, err := encodeJSON(v)
		if err != nil {
			return nil, fmt.Errorf("lead: encode %s.%s: %w", p.person.text, k, err)
		}
		if l.Attributes == nil {
			l.Attributes = make(map[string]json.RawMessage, len(e.person))
		}
		l.Attributes[k] = raw
	}
	if p.person == nil && !set && len(l.Attributes) == 0 {
		return nil, nil
	}
	if l.AltPhone == l.MobileNumber {
		l.AltPhone = "" // a second phone only: the same number twice is one
	}
	l.SeenAt = receivedAt.UTC()
	for i := range p.seenAt {
		v, _ := e.root(p.seenAt[i].segs)
		if ms, ok := epochMillis(v); ok {
			t := time.UnixMilli(ms).UTC()
			if !receivedAt.IsZero() && t.After(receivedAt.Add(m.maxSkew)) {
				// A time from the future (a sender's clock at year 3000) would outrank every
				// real update for ever: the arrival time stands in, and the lead says so.
				l.IgnoredSeenAt = t
				break
			}
			l.SeenAt = t
			break
		}
	}
	return l, nil
}

// anyValue reports whether the object obj holds a value (hasValue): an object of nulls and
// blanks names nobody.
func anyValue(obj map[string]any) bool {
	for _, v := range obj {
		if hasValue(v) {
			return true
		}
	}
	return false
}

// evaluator is the state of one build: the documents and which person keys rules used.
type evaluator struct {
	m       *Mapper
	doc     map[string]any // the envelope; nil: only payload is known
	payload map[string]any
	person  map[string]any
	// The person keys rules used, as bits by slot: in small, or in big for a plan with more
	// slots than small holds (a slice of an array in the struct would move it to the heap).
	small [4]uint64
	big   []uint64
	// The last phone number normalized: mobile_number and alt_phone often hold the same text,
	// and parsing a phone number is the costly part of a build.
	phoneIn, phoneOut string
	phoneOK, phoneSet bool
}

func (e *evaluator) use(slot int) {
	switch {
	case slot < 0:
	case e.big != nil:
		e.big[slot/64] |= 1 << (slot % 64)
	default:
		e.small[slot/64] |= 1 << (slot % 64)
	}
}

func (e *evaluator) isUsed(slot int) bool {
	if e.big != nil {
		return e.big[slot/64]&(1<<(slot%64)) != 0
	}
	return e.small[slot/64]&(1<<(slot%64)) != 0
}

func (e *evaluator) lookup(c *cand) (any, bool) {
	if c.rel {
		return lookupSegs(c.segs, e.person)
	}
	return e.root(c.segs)
}

// root looks segs up from the envelope.
func (e *evaluator) root(segs []segment) (any, bool) {
	if e.doc != nil {
		return lookupSegs(segs, e.doc)
	}
	if len(segs) > 0 && segs[0] == (segment{key: "payload", index: -1}) {
		return lookupSegs(segs[1:], e.payload)
	}
	return nil, false
}

// text returns the value of a text-field rule: from the first candidate that is there and,
// transformed, is text or a number (as text, trimmed) and not blank. A candidate whose value
// is text, a number or null counts as used, even when blank; any other (an object, or a value
// a transform rejected) is left for Attributes.
func (e *evaluator) text(r *rule) (string, bool) {
	for i := range r.cands {
		c := &r.cands[i]
		raw, found := e.lookup(c)
		if !found {
			continue
		}
		in := newValue(raw)
		if in.isStr && r.field == fEmail {
			in.s = norm.NFC.String(in.s) // see NormalizeEmail: NFC before and after lowercase
		}
		v, ok := e.apply(r.transforms, in)
		if !ok {
			continue
		}
		s, ok := v.text()
		if !ok {
			continue
		}
		if s != "" && r.field.identity() {
			if r.field == fEmail {
				// One key per address, however its accents were encoded.
				s = norm.NFC.String(s)
			}
			if isPlaceholder(r.field, s) {
				continue // not an identity: does not fit its target (see identity.go)
			}
		}
		e.use(c.slot)
		if s != "" {
			return s, true
		}
	}
	return "", false
}

// identity reports whether f is one of the keys leads are matched on.
func (f fieldID) identity() bool { return f == fEmail || f == fMobileNumber || f == fAltPhone }

// isPlaceholder reports whether s, the value of the identity field f, is a placeholder rather
// than an identity.
func isPlaceholder(f fieldID, s string) bool {
	if f == fEmail {
		return IsPlaceholderEmail(s)
	}
	return IsPlaceholderPhone(s)
}

// value returns the value of an attributes.<key> rule: from the first candidate that is there
// and, transformed, has a value (hasValue). Every candidate read and not rejected by a
// transform counts as used.
func (e *evaluator) value(r *rule) (any, bool) {
	for i := range r.cands {
		c := &r.cands[i]
		raw, found := e.lookup(c)
		if !found {
			continue
		}
		v, ok := e.apply(r.transforms, newValue(raw))
		if !ok {
			continue
		}
		e.use(c.slot)
		if v.hasValue() {
			return v.any(), true
		}
	}
	return nil, false
}

// phone is m.NormalizePhone, remembering the last number.
func (e *evaluator) phone(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if e.phoneSet && s == e.phoneIn {
		return e.phoneOut, e.phoneOK
	}
	out, ok := e.m.NormalizePhone(s)
	e.phoneIn, e.phoneOut, e.phoneOK, e.phoneSet = s, out, ok, true
	return out, ok
}
