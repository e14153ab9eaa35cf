package schema

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// A fast check is a schema compiled for the common case: it says true only when a document is
// certainly valid, and false when it is not or when it cannot tell, and the full validator
// (santhosh-tekuri/jsonschema) then decides and explains. The full validator costs ~60 µs and
// ~580 allocations for the sample event, the largest part of routing it; the fast check walks
// the document once without allocating. It knows only the keywords our schemas use (compiling a
// schema with any other keyword fails, and that schema is always validated in full), and where
// an exact answer would take care (an integer written 1.0, a number near a bound) it says false.
// FuzzFastCheck holds it to the full validator: it must never pass a document the full one fails.
type fastCheck func(v any) bool

// fastCompiler compiles the schema documents of one Validator.
type fastCompiler struct {
	docs map[string]map[string]any // schema file name → document
	refs map[string]*fastCheck     // "file#pointer" → its check, compiled once (cycles allowed)
}

// annotations are keywords that do not constrain anything.
var annotations = map[string]bool{"$schema": true, "$id": true, "$comment": true, "title": true,
	"description": true, "examples": true, "default": true, "$defs": true}

// compile returns the fast check of the schema at ptr ("" or "/$defs/x") in file.
func (c *fastCompiler) compile(file, ptr string) (fastCheck, error) {
	key := file + "#" + ptr
	if f, ok := c.refs[key]; ok {
		return func(v any) bool { return (*f)(v) }, nil
	}
	var slot fastCheck
	c.refs[key] = &slot
	node, err := c.resolve(file, ptr)
	if err != nil {
		return nil, err
	}
	f, err := c.node(file, node)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	slot = f
	return f, nil
}

func (c *fastCompiler) resolve(file, ptr string) (any, error) {
	doc, ok := c.docs[file]
	if !ok {
		return nil, fmt.Errorf("no schema %s", file)
	}
	var node any = doc
	for _, tok := range strings.Split(strings.TrimPrefix(ptr, "/"), "/") {
		if tok == "" {
			continue
		}
		m, ok := node.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s#%s: not an object", file, ptr)
		}
		if node, ok = m[tok]; !ok {
			return nil, fmt.Errorf("%s#%s: %s not found", file, ptr, tok)
		}
	}
	return node, nil
}

// keywordCompiler compiles one keyword of a schema object: val is its value, s the whole object
// (for keywords that read their neighbours). A nil check constrains nothing.
type keywordCompiler func(c *fastCompiler, file string, val any, s map[string]any) (fastCheck, error)

// keywords are the keywords the fast check knows, each compiled by a small function of its own;
// a schema with any other keyword (but annotations) is validated in full. Filled in init: the
// compilers call node, which reads this table.
var keywords map[string]keywordCompiler

func init() {
	keywords = map[string]keywordCompiler{
		"type":                 compileType,
		"const":                compileConst,
		"required":             compileRequired,
		"properties":           compileProperties,
		"additionalProperties": compileAdditionalProperties,
		"$ref":                 compileRef,
		"allOf":                compileAllOf,
		"prefixItems":          compileItems,
		"items":                compileItems,
		"minLength":            compileLength(true),
		"maxLength":            compileLength(false),
		"minimum":              compileBound(true),
		"maximum":              compileBound(false),
		"pattern":              compilePattern,
	}
}

// node compiles one schema object of file: the checks of its keywords, all of which must pass.
func (c *fastCompiler) node(file string, n any) (fastCheck, error) {
	if b, ok := n.(bool); ok {
		return func(any) bool { return b }, nil
	}
	s, ok := n.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("schema is %T", n)
	}
	var checks []fastCheck
	itemsDone := false
	for kw, val := range s {
		if annotations[kw] {
			continue
		}
		compile, ok := keywords[kw]
		if !ok {
			return nil, fmt.Errorf("keyword %q not supported by the fast check", kw)
		}
		if kw == "items" || kw == "prefixItems" {
			if itemsDone {
				continue // the two are compiled together, once
			}
			itemsDone = true
		}
		f, err := compile(c, file, val, s)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", kw, err)
		}
		if f != nil {
			checks = append(checks, f)
		}
	}
	return func(v any) bool {
		for _, f := range checks {
			if !f(v) {
				return false
			}
		}
		return true
	}, nil
}

func compileType(_ *fastCompiler, _ string, val any, _ map[string]any) (fastCheck, error) {
	return typeCheck(val)
}

func compileConst(_ *fastCompiler, _ string, val any, _ map[string]any) (fastCheck, error) {
	want, ok := val.(string)
	if !ok {
		return nil, fmt.Errorf("%v: only strings", val)
	}
	return func(v any) bool { s, ok := v.(string); return ok && s == want }, nil
}

func compileRequired(_ *fastCompiler, _ string, val any, _ map[string]any) (fastCheck, error) {
	list, ok := val.([]any)
	if !ok {
		return nil, fmt.Errorf("%T", val)
	}
	names := make([]string, len(list))
	for i, x := range list {
		if names[i], ok = x.(string); !ok {
			return nil, fmt.Errorf("%T", x)
		}
	}
	return func(v any) bool {
		m, ok := v.(map[string]any)
		if !ok {
			return true
		}
		for _, name := range names {
			if _, ok := m[name]; !ok {
				return false
			}
		}
		return true
	}, nil
}

func compileProperties(c *fastCompiler, file string, val any, _ map[string]any) (fastCheck, error) {
	props, ok := val.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%T", val)
	}
	sub := make(map[string]fastCheck, len(props))
	for name, ps := range props {
		f, err := c.node(file, ps)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		sub[name] = f
	}
	return func(v any) bool {
		m, ok := v.(map[string]any)
		if !ok {
			return true
		}
		for name, f := range sub {
			if x, ok := m[name]; ok && !f(x) {
				return false
			}
		}
		return true
	}, nil
}

func compileAdditionalProperties(_ *fastCompiler, _ string, val any, _ map[string]any) (fastCheck, error) {
	if b, ok := val.(bool); !ok || !b {
		return nil, fmt.Errorf("only true")
	}
	return nil, nil
}

func compileRef(c *fastCompiler, file string, val any, _ map[string]any) (fastCheck, error) {
	ref, _ := val.(string)
	target, ptr, _ := strings.Cut(ref, "#")
	if target == "" {
		target = file
	}
	return c.compile(target, ptr)
}

func compileAllOf(c *fastCompiler, file string, val any, _ map[string]any) (fastCheck, error) {
	list, ok := val.([]any)
	if !ok {
		return nil, fmt.Errorf("%T", val)
	}
	var all []fastCheck
	for _, x := range list {
		f, err := c.node(file, x)
		if err != nil {
			return nil, err
		}
		all = append(all, f)
	}
	return func(v any) bool {
		for _, f := range all {
			if !f(v) {
				return false
			}
		}
		return true
	}, nil
}

func compileItems(c *fastCompiler, file string, _ any, s map[string]any) (fastCheck, error) {
	return c.items(file, s)
}

// compileLength is minLength (isMin) or maxLength: a bound on a string's characters.
func compileLength(isMin bool) keywordCompiler {
	return func(_ *fastCompiler, _ string, val any, _ map[string]any) (fastCheck, error) {
		n, err := nonNegInt(val)
		if err != nil {
			return nil, err
		}
		return func(v any) bool {
			s, ok := v.(string)
			if !ok {
				return true
			}
			k := utf8.RuneCountInString(s)
			if isMin {
				return k >= n
			}
			return k <= n
		}, nil
	}
}

// compileBound is minimum (isMin) or maximum. It is certain only clear of the bound: float64
// rounding cannot flip the answer there, and at the bound (or within rounding of it) the full
// validator decides.
func compileBound(isMin bool) keywordCompiler {
	return func(_ *fastCompiler, _ string, val any, _ map[string]any) (fastCheck, error) {
		bound, err := number(val)
		if err != nil {
			return nil, err
		}
		margin := 1e-9 * math.Max(1, math.Abs(bound))
		return func(v any) bool {
			switch v.(type) {
			case string, nil, bool, map[string]any, []any:
				return true // not a number: the keyword does not apply
			}
			f, err := number(v)
			if err != nil {
				return false
			}
			if isMin {
				return f >= bound+margin
			}
			return f <= bound-margin
		}, nil
	}
}

func compilePattern(_ *fastCompiler, _ string, val any, _ map[string]any) (fastCheck, error) {
	p, ok := val.(string)
	if !ok {
		return nil, fmt.Errorf("%T", val)
	}
	re, err := regexp.Compile(p)
	if err != nil {
		return nil, err
	}
	return func(v any) bool {
		s, ok := v.(string)
		return !ok || re.MatchString(s)
	}, nil
}

// items compiles prefixItems and items (the items after the prefix).
func (c *fastCompiler) items(file string, s map[string]any) (fastCheck, error) {
	var prefix []fastCheck
	if p, ok := s["prefixItems"]; ok {
		list, ok := p.([]any)
		if !ok {
			return nil, fmt.Errorf("prefixItems: %T", p)
		}
		for _, x := range list {
			f, err := c.node(file, x)
			if err != nil {
				return nil, fmt.Errorf("prefixItems: %w", err)
			}
			prefix = append(prefix, f)
		}
	}
	var rest fastCheck
	if it, ok := s["items"]; ok {
		f, err := c.node(file, it)
		if err != nil {
			return nil, fmt.Errorf("items: %w", err)
		}
		rest = f
	}
	if prefix == nil && rest == nil {
		return nil, nil
	}
	return func(v any) bool {
		a, ok := v.([]any)
		if !ok {
			return true
		}
		for i, x := range a {
			switch {
			case i < len(prefix):
				if !prefix[i](x) {
					return false
				}
			case rest != nil:
				if !rest(x) {
					return false
				}
			}
		}
		return true
	}, nil
}

func typeCheck(val any) (fastCheck, error) {
	var names []string
	switch t := val.(type) {
	case string:
		names = []string{t}
	case []any:
		for _, x := range t {
			s, ok := x.(string)
			if !ok {
				return nil, fmt.Errorf("type: %T", x)
			}
			names = append(names, s)
		}
	default:
		return nil, fmt.Errorf("type: %T", val)
	}
	var want [7]bool // null, boolean, object, array, string, number, integer
	for _, n := range names {
		switch n {
		case "null":
			want[0] = true
		case "boolean":
			want[1] = true
		case "object":
			want[2] = true
		case "array":
			want[3] = true
		case "string":
			want[4] = true
		case "number":
			want[5] = true
		case "integer":
			want[6] = true
		default:
			return nil, fmt.Errorf("type %q", n)
		}
	}
	return func(v any) bool {
		switch x := v.(type) {
		case nil:
			return want[0]
		case bool:
			return want[1]
		case map[string]any:
			return want[2]
		case []any:
			return want[3]
		case string:
			return want[4]
		case json.Number:
			// An integer written with a fraction or exponent (1.0, 1e2) is left to the full
			// validator.
			return want[5] || want[6] && plainInteger(string(x))
		case float64:
			return want[5]
		}
		return false
	}, nil
}

// plainInteger reports whether s is an integer literal without fraction or exponent.
func plainInteger(s string) bool {
	s = strings.TrimPrefix(s, "-")
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func number(v any) (float64, error) {
	switch x := v.(type) {
	case json.Number:
		return strconv.ParseFloat(string(x), 64)
	case float64:
		return x, nil
	case int:
		return float64(x), nil
	}
	return 0, fmt.Errorf("not a number: %T", v)
}

func nonNegInt(v any) (int, error) {
	f, err := number(v)
	if err != nil || f < 0 || f != math.Trunc(f) || f > math.MaxInt32 {
		return 0, fmt.Errorf("not a non-negative integer: %v", v)
	}
	return int(f), nil
}
