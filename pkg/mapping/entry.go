package mapping

import (
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// entry reads the value of target k in a lead block. A null value in an event type's block
// (override) means the type does not map the target: it gives (nil, true).
func (c *compiler) entry(k, v *yaml.Node, field string, override bool) (*entry, bool) {
	e := &entry{}
	switch target := k.Value; {
	case strings.HasPrefix(target, attributesPrefix):
		e.attr = strings.TrimPrefix(target, attributesPrefix)
		if strings.TrimSpace(e.attr) == "" {
			c.errorf(k, field, "the attribute's key is empty: write attributes.<key>, such as attributes.registration_form")
			return nil, false
		}
	case target == "attributes":
		c.errorf(k, field, "name the attribute: write attributes.<key>, such as attributes.registration_form")
		return nil, false
	default:
		id, ok := parseField(target)
		if !ok {
			c.errorf(k, field, "unknown target%s: the targets are %s",
				suggest(target, fieldNames[:]), validTargets())
			return nil, false
		}
		e.field = id
	}
	if isNull(v) {
		if override {
			return nil, true
		}
		c.errorf(v, field, "no source: give a path, {path: …} or {first_of: [...]}, or delete the line")
		return nil, false
	}
	tr, cands := c.source(v, field, true)
	if cands == nil {
		return nil, false
	}
	e.cands = cands
	if tr == nil {
		if e.attr == "" {
			e.transforms = defaultTransforms[e.field]
		}
		return e, true
	}
	var ok bool
	e.transforms, ok = c.transforms(tr, field+".transforms", e.attr == "")
	return e, ok
}

// source reads where a value comes from: a path, {path: p} or {first_of: [p, …]}, plus the
// transforms node of the long forms when withTransforms (nil when there is none). The paths are
// nil when the source is not valid.
func (c *compiler) source(v *yaml.Node, field string, withTransforms bool) (*yaml.Node, []path) {
	switch v.Kind {
	case yaml.ScalarNode:
		p, ok := c.path(v, field)
		if !ok {
			return nil, nil
		}
		return nil, []path{p}
	case yaml.SequenceNode:
		c.errorf(v, field, "a list is not a source: for several candidate paths write {first_of: [a, b]}")
		return nil, nil
	case yaml.MappingNode:
	default:
		c.errorf(v, field, "expected a path or {path: …}, not %s", describe(v))
		return nil, nil
	}
	keys := entryKeys
	if !withTransforms {
		keys = sourceKeys
	}
	var tr, src *yaml.Node
	var cands []path
	valid := true
	c.pairs(v, field, func(k, v *yaml.Node, sub string) {
		switch k.Value {
		case "path", "first_of":
			if src != nil {
				c.errorf(k, field, "both path and first_of: give path for one source, first_of for several")
				valid = false
				return
			}
			src = k
			cands, valid = c.sources(k.Value, v, sub)
		case "transforms":
			if withTransforms {
				tr = v
				return
			}
			c.errorf(k, sub, "%s takes no transforms: it reads epoch milliseconds", field)
			valid = false
		default:
			c.errorf(k, sub, "unknown key%s: a source takes %s", suggest(k.Value, keys), strings.Join(keys, ", "))
			valid = false
		}
	})
	if src == nil && valid {
		c.errorf(v, field, "no source: give path: for one, or first_of: [...] for several")
		return nil, nil
	}
	if !valid {
		return nil, nil
	}
	return tr, cands
}

// sources reads the value of path: or first_of:.
func (c *compiler) sources(key string, v *yaml.Node, field string) ([]path, bool) {
	if key == "path" {
		p, ok := c.path(v, field)
		return []path{p}, ok
	}
	if v.Kind != yaml.SequenceNode {
		c.errorf(v, field, "expected a list of paths, [payload.a, payload.b], not %s", describe(v))
		return nil, false
	}
	if len(v.Content) == 0 {
		c.errorf(v, field, "the list is empty: give the paths to try, in order")
		return nil, false
	}
	cands := make([]path, 0, len(v.Content))
	ok := true
	for i, n := range v.Content {
		p, pok := c.path(deref(n), fmt.Sprintf("%s[%d]", field, i))
		cands = append(cands, p)
		ok = ok && pok
	}
	return cands, ok
}

// path reads a path rooted at the envelope.
func (c *compiler) path(n *yaml.Node, field string) (path, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!str" {
		c.errorf(n, field, "expected a path such as payload.people_detail.name, not %s", describe(n))
		return path{}, false
	}
	p, err := parsePath(n.Value)
	if err != nil {
		c.errorf(n, field, "%v", err)
		return path{}, false
	}
	if root := p.segs[0]; !slices.Contains(envelopeKeys, root.key) {
		c.errorf(n, field, "path %q must start with %s: paths start at the top of the event (did you mean \"payload.%s\"?)",
			p.text, strings.Join(envelopeKeys, ", "), p.text)
		return path{}, false
	}
	return p, true
}

// transforms reads a transforms list; text says the target is a text field of Lead.
func (c *compiler) transforms(v *yaml.Node, field string, text bool) ([]transform, bool) {
	if isNull(v) {
		return []transform{}, true
	}
	if v.Kind != yaml.SequenceNode {
		c.errorf(v, field, "expected a list such as [trim, lowercase], not %s", describe(v))
		return nil, false
	}
	out := make([]transform, 0, len(v.Content))
	ok := true
	for i, n := range v.Content {
		n = deref(n)
		sub := fmt.Sprintf("%s[%d]", field, i)
		t := transform(0)
		if n.Kind == yaml.ScalarNode {
			t = parseTransform(n.Value)
		}
		switch {
		case t == 0:
			c.errorf(n, sub, "unknown transform %s%s: the transforms are %s", describe(n),
				suggest(n.Value, transformNames), strings.Join(transformNames, ", "))
			ok = false
		case t == tJSONDecode && text:
			c.errorf(n, sub, "json-decode gives structured JSON, which only an attributes.<key> target "+
				"holds: map the value to attributes.<key> instead")
			ok = false
		}
		out = append(out, t)
	}
	return out, ok
}

// suggest returns ` (did you mean "x"?)` when one of options is a likely spelling of word.
func suggest(word string, options []string) string {
	best, bestDist := "", 3
	for _, o := range options {
		if d := editDistance(strings.ToLower(word), o); d < bestDist && d < len(o) {
			best, bestDist = o, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
