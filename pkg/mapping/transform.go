package mapping

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
)

// transform is one step a mapped value goes through before it lands in its target, named in a
// mapping's transforms list. A step that does not apply to a value's type passes it on unchanged
// (lowercase leaves a number alone); a step that applies but cannot convert the value (number on
// "thirty") makes the value unusable for that target: see (*evaluator).apply.
type transform uint8

const (
	// tTrim removes leading and trailing white space from text.
	tTrim transform = iota + 1
	// tLowercase lower-cases text (Unicode-aware, like NormalizeEmail).
	tLowercase
	// tE164 writes a phone number (text or a JSON number) in E.164 with Mapper.NormalizePhone;
	// a value that is not a valid number is kept as sent, trimmed.
	tE164
	// tE164Strict is tE164 that drops a value that is not a valid phone number.
	tE164Strict
	// tNumber turns a number written as text ("30", " 4.5 ") into a JSON number.
	tNumber
	// tJSONDecode decodes text holding JSON (registration_form is JSON inside a string) into
	// the value it holds; only attributes can take the result.
	tJSONDecode
)

// transformNames lists the transforms as a mapping names them, in the order MAPPING.md
// documents them.
var transformNames = []string{"trim", "lowercase", "e164", "e164-strict", "number", "json-decode"}

// parseTransform returns the transform called name, or 0 when there is none.
func parseTransform(name string) transform {
	for i, n := range transformNames {
		if n == name {
			return transform(i + 1)
		}
	}
	return 0
}

// numberText reads text as a JSON number: as written when it is one ("30", "4.5e3"), else in
// canonical form when it is a decimal number written otherwise ("+5" → 5, "007" → 7, ".5" →
// 0.5). Anything else ("thirty", "30 min", "0x1e", "Inf", "", a number beyond float64) gives
// false.
func numberText(s string) (json.Number, bool) {
	s = strings.TrimSpace(s)
	if s == "" || strings.Trim(s, "0123456789+-.eE") != "" {
		return "", false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return "", false // also 1e999: valid JSON, but no reader of the lead could hold it
	}
	if json.Valid([]byte(s)) {
		return json.Number(s), true
	}
	return json.Number(strconv.FormatFloat(f, 'f', -1, 64)), true
}

// decodeJSONText returns the value the JSON text s holds, numbers as json.Number as the worker
// decodes events. Text that is not one complete JSON value gives false.
func decodeJSONText(s string) (any, bool) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var out any
	if err := dec.Decode(&out); err != nil {
		return nil, false
	}
	if strings.TrimSpace(s[dec.InputOffset():]) != "" {
		return nil, false // "[1] x": one value, then something that is not JSON
	}
	return out, true
}

// value is a mapped value on its way through the transforms. Text is kept apart from other
// values so that trimming and lower-casing it does not box a new string in an interface for
// every field of every event.
type value struct {
	s     string // the text, when isStr
	v     any    // any other value (JSON as decoded: json.Number, bool, nil, maps, slices)
	isStr bool
}

func newValue(v any) value {
	if s, ok := v.(string); ok {
		return value{s: s, isStr: true}
	}
	return value{v: v}
}

// text returns the value as a text field holds it: text or a number, trimmed; "" for null;
// false for anything else.
func (v value) text() (string, bool) {
	if v.isStr {
		return strings.TrimSpace(v.s), true
	}
	return text(v.v)
}

func (v value) hasValue() bool {
	if v.isStr {
		return strings.TrimSpace(v.s) != ""
	}
	return hasValue(v.v)
}

func (v value) any() any {
	if v.isStr {
		return v.s
	}
	return v.v
}

// apply runs the transforms over v in order. It returns false when one of them cannot convert
// the value (number on "thirty", json-decode on text that is not JSON, e164-strict on a value
// that is not a valid phone number): the value is then not used for its target. A transform
// that does not apply to the value's type passes it on unchanged.
func (e *evaluator) apply(ts []transform, v value) (value, bool) {
	for _, t := range ts {
		switch t {
		case tTrim:
			if v.isStr {
				v.s = strings.TrimSpace(v.s)
			}
		case tLowercase:
			if v.isStr {
				v.s = strings.ToLower(v.s)
			}
		case tE164, tE164Strict:
			if !v.isStr && v.v == nil {
				continue
			}
			s, ok := v.text()
			if !ok {
				continue
			}
			n, valid := e.phone(s)
			if !valid && s != "" && t == tE164Strict {
				return value{}, false
			}
			v = value{s: n, isStr: true}
		case tNumber:
			n, ok := v.number()
			if !ok {
				return value{}, false
			}
			v = n
		case tJSONDecode:
			if !v.isStr {
				continue // JSON already
			}
			d, ok := decodeJSONText(v.s)
			if !ok {
				return value{}, false
			}
			v = newValue(d)
		}
	}
	return v, true
}

// number returns v as a JSON number (see numberText); null stays null.
func (v value) number() (value, bool) {
	if v.isStr {
		n, ok := numberText(v.s)
		return value{v: n}, ok
	}
	switch x := v.v.(type) {
	case nil, float64, int, int64:
		return v, true
	case json.Number:
		n, ok := numberText(string(x))
		return value{v: n}, ok
	}
	return value{}, false
}
