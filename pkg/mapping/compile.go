package mapping

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// maxErrors bounds the faults one load reports: past it, more lines help nobody.
const maxErrors = 20

// Keys a mapping document and its parts accept, for checks and error messages.
var (
	topKeys       = []string{"version", "description", "person", "lead", "seen_at", "event_types"}
	eventTypeKeys = []string{"person", "lead", "seen_at"}
	entryKeys     = []string{"path", "first_of", "transforms"}
	sourceKeys    = []string{"path", "first_of"}
	envelopeKeys  = []string{"payload", "metadata", "event_type"}
)

// defaultPerson is the person object when a mapping does not name one.
var defaultPerson = path{text: "payload.people_detail",
	segs: []segment{{key: "payload", index: -1}, {key: "people_detail", index: -1}}}

// section is the common part of a mapping, or one event type's, as written.
type section struct {
	personSet, seenAtSet bool
	person               *path // nil: no person object
	seenAt               []path
	lead                 map[string]*entry // nil value: this type does not map the target
}

// empty reports whether s changes nothing of the common mapping (an event type listed with
// {} or nothing, as default.yaml lists the types the pipeline knows).
func (s *section) empty() bool { return !s.personSet && !s.seenAtSet && len(s.lead) == 0 }

// entry is one target and where its value comes from.
type entry struct {
	field      fieldID
	attr       string // the key, for an attributes.<key> target
	cands      []path
	transforms []transform
}

// compiler checks a document and collects every fault it finds, with its line and field.
type compiler struct {
	file string
	errs []error
}

func (c *compiler) errorf(n *yaml.Node, field, format string, args ...any) {
	if len(c.errs) == maxErrors {
		return
	}
	line := 0
	if n != nil {
		line = n.Line
	}
	c.errs = append(c.errs, &MappingError{File: c.file, Line: line, Field: field, Msg: fmt.Sprintf(format, args...)})
}

// compile checks the document under root and turns it into a Mapping.
func compile(file string, root *yaml.Node) (*Mapping, error) {
	c := &compiler{file: file}
	root = deref(root)
	if root.Kind != yaml.MappingNode {
		c.errorf(root, "", "the top level must be keys and values (version: 1, lead: …), not %s", describe(root))
		return nil, errors.Join(c.errs...)
	}
	var base section
	types := map[string]*section{}
	seen := map[string]bool{}
	c.pairs(root, "", func(k, v *yaml.Node, field string) {
		seen[k.Value] = true
		switch k.Value {
		case "version":
			c.version(v)
		case "description":
			if v.Kind != yaml.ScalarNode {
				c.errorf(v, field, "a description is text, not %s", describe(v))
			}
		case "person", "lead", "seen_at":
			c.section(&base, k.Value, v, field, false)
		case "event_types":
			c.eventTypes(v, field, types)
		default:
			c.errorf(k, field, "unknown key%s: the keys are %s", suggest(k.Value, topKeys), strings.Join(topKeys, ", "))
		}
	})
	if !seen["version"] {
		c.errorf(root, "version", "missing: start the file with version: 1")
	}
	if !seen["lead"] {
		c.errorf(root, "lead", "missing: map the lead's fields under lead: (see MAPPING.md)")
	}
	if len(c.errs) > 0 {
		return nil, errors.Join(c.errs...)
	}
	mp := &Mapping{source: file, base: newPlan(&base, nil), types: make(map[string]*plan, len(types))}
	for t, s := range types {
		if s.empty() {
			mp.types[t] = mp.base // the common mapping as it is: the very same plan
			continue
		}
		mp.types[t] = newPlan(&base, s)
	}
	return mp, nil
}

// pairs calls f for every key of the mapping n, reporting keys given twice.
func (c *compiler) pairs(n *yaml.Node, prefix string, f func(k, v *yaml.Node, field string)) {
	first := make(map[string]int, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), deref(n.Content[i+1])
		field := join(prefix, k.Value)
		if k.Kind != yaml.ScalarNode {
			c.errorf(k, prefix, "a key must be text, not %s", describe(k))
			continue
		}
		if line, dup := first[k.Value]; dup {
			c.errorf(k, field, "given twice (first at line %d): keep one", line)
			continue
		}
		first[k.Value] = k.Line
		f(k, v, field)
	}
}

// version accepts version 1, the only one there is.
func (c *compiler) version(v *yaml.Node) {
	if v.Kind != yaml.ScalarNode || v.Value != "1" || (v.Tag != "!!int" && v.Tag != "!!str") {
		c.errorf(v, "version", "unsupported version %s: this build reads version 1", describe(v))
	}
}

// section reads one of person, lead and seen_at into s; override says s is an event type's.
func (c *compiler) section(s *section, key string, v *yaml.Node, field string, override bool) {
	switch key {
	case "person":
		s.personSet = true
		if !isNull(v) {
			if p, ok := c.path(v, field); ok {
				s.person = &p
			}
		}
	case "seen_at":
		s.seenAtSet = true
		if !isNull(v) {
			_, s.seenAt = c.source(v, field, false)
		}
	case "lead":
		s.lead = map[string]*entry{}
		switch {
		case isNull(v):
		case v.Kind != yaml.MappingNode:
			c.errorf(v, field, "expected the lead's fields as keys (name: payload.people_detail.name), not %s", describe(v))
		default:
			c.pairs(v, field, func(k, v *yaml.Node, field string) {
				if e, ok := c.entry(k, v, field, override); ok {
					s.lead[k.Value] = e
				}
			})
		}
	}
}

// eventTypes reads the per-type sections.
func (c *compiler) eventTypes(v *yaml.Node, field string, types map[string]*section) {
	if isNull(v) {
		return
	}
	if v.Kind != yaml.MappingNode {
		c.errorf(v, field, "expected event types as keys (widget_new_conversation: {lead: …}), not %s", describe(v))
		return
	}
	c.pairs(v, field, func(k, v *yaml.Node, field string) {
		s := &section{}
		types[k.Value] = s
		switch {
		case strings.TrimSpace(k.Value) == "":
			c.errorf(k, field, "an event type name is empty: use the event_type SaleAssist sends")
		case isNull(v):
		case v.Kind != yaml.MappingNode:
			c.errorf(v, field, "expected lead:, person: or seen_at: for this event type, not %s", describe(v))
		default:
			c.pairs(v, field, func(k, v *yaml.Node, field string) {
				if !slices.Contains(eventTypeKeys, k.Value) {
					c.errorf(k, field, "unknown key%s: an event type takes %s", suggest(k.Value, eventTypeKeys),
						strings.Join(eventTypeKeys, ", "))
					return
				}
				c.section(s, k.Value, v, field, true)
			})
		}
	})
}

// newPlan merges an event type's section (nil for the common mapping) over base and plans it.
func newPlan(base, over *section) *plan {
	person, seenAt := &defaultPerson, base.seenAt
	if base.personSet {
		person = base.person
	}
	entries := make(map[string]*entry, len(base.lead))
	for t, e := range base.lead {
		entries[t] = e
	}
	if over != nil {
		if over.personSet {
			person = over.person
		}
		if over.seenAtSet {
			seenAt = over.seenAt
		}
		for t, e := range over.lead {
			if e == nil {
				delete(entries, t)
			} else {
				entries[t] = e
			}
		}
	}
	return planOf(person, entries, seenAt)
}

func deref(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

// describe names a node's value for an error message.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a set of keys"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "nothing (null)"
		}
		return fmt.Sprintf("%q", n.Value)
	}
	return "this"
}

func join(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}
