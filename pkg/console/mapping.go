package console

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"unicode"
)

// starterMapping writes a MAPPING_FILE for the fields of a schema: the lead's fields filled from
// the paths whose names say what they hold, with the transforms the built-in mapping uses, and
// every other scalar field listed, commented out, as a custom attribute to take or leave. The
// result compiles (a test holds it to mapping.ParseMapping).
func starterMapping(v schemaView) []byte {
	var b strings.Builder
	from := "every one stored since the workers kept its schema"
	if v.Source == SchemaSampled {
		from = fmt.Sprintf("the latest %d stored", v.EventsSampled)
	}
	fmt.Fprintf(&b, "# A starter MAPPING_FILE for the event type %s, from the fields of %s.\n", quote(v.EventType), from)
	b.WriteString("# The format: pkg/mapping/MAPPING.md. Preview it on the console's schema page, or POST it\n")
	b.WriteString("# to /api/mapping/preview; then set MAPPING_FILE=mapping.yaml for the workers.\n")
	b.WriteString("version: 1\n")
	byPath := map[string]fieldStats{}
	for _, f := range v.Fields {
		byPath[f.Path] = f
	}
	person := ""
	for _, p := range []string{"payload.people_detail", "payload.person", "payload.contact", "payload.lead", "payload.customer"} {
		if f, ok := byPath[p]; ok && slices.Contains(f.Types, "object") {
			person = p
			break
		}
	}
	if person != "" {
		fmt.Fprintf(&b, "person: %s\n", quote(person))
	} else {
		b.WriteString("person: ~  # no person object found: a lead exists when any field below has a value\n")
	}
	b.WriteString("lead:\n")
	used := map[string]bool{}
	for _, t := range starterTargets {
		for _, key := range t.keys {
			p := key
			if !strings.HasPrefix(key, "payload.") {
				if person == "" {
					continue
				}
				p = person + "." + key
			}
			f, ok := byPath[p]
			if !ok || !scalar(f) {
				continue
			}
			used[p] = true
			if t.transforms != "" {
				fmt.Fprintf(&b, "  %s: {path: %s, transforms: [%s]}\n", t.name, quote(p), t.transforms)
			} else {
				fmt.Fprintf(&b, "  %s: %s\n", t.name, quote(p))
			}
			break
		}
	}
	var seen []string
	for _, p := range []string{"payload.updated_on", "payload.created_on"} {
		if f, ok := byPath[p]; ok && slices.Contains(f.Types, "number") {
			seen = append(seen, quote(p))
		}
	}
	if len(seen) > 0 {
		fmt.Fprintf(&b, "seen_at: {first_of: [%s]}\n", strings.Join(seen, ", "))
	} else {
		b.WriteString("seen_at: ~  # no epoch-milliseconds time found: the arrival time orders updates\n")
	}
	b.WriteString("# Other fields seen, to keep as custom attributes (fields of the person object not taken\n# above are kept in attributes anyway):\n")
	for _, f := range v.Fields {
		if used[f.Path] || !scalar(f) || (person != "" && strings.HasPrefix(f.Path, person+".")) {
			continue
		}
		fmt.Fprintf(&b, "#  attributes.%s: %s\n", attributeKey(f.Path), quote(f.Path))
	}
	return []byte(b.String())
}

// starterTarget is a lead field and the keys (under the person object, or full paths) that
// usually hold it, best first.
type starterTarget struct {
	name       string
	keys       []string
	transforms string
}

var starterTargets = []starterTarget{
	{"source_id", []string{"id"}, ""},
	{"name", []string{"name", "full_name"}, ""},
	{"email", []string{"email", "email_id"}, "trim, lowercase"},
	{"mobile_number", []string{"mobile_number", "mobile", "phone"}, "e164"},
	{"alt_phone", []string{"payload.unique_field_value"}, "e164-strict"},
	{"address", []string{"address"}, ""},
	{"pincode", []string{"pincode", "zip"}, ""},
	{"city", []string{"widget_city", "city"}, ""},
	{"state", []string{"widget_state", "state"}, ""},
	{"country", []string{"widget_country", "country"}, ""},
	{"utm_source", []string{"utm_source"}, ""},
	{"utm_medium", []string{"utm_medium"}, ""},
	{"utm_campaign", []string{"utm_campaign"}, ""},
	{"utm_term", []string{"utm_term"}, ""},
	{"utm_content", []string{"utm_content"}, ""},
	{"product_category", []string{"product_category"}, ""},
	{"product_sku", []string{"product_sku"}, ""},
}

func scalar(f fieldStats) bool {
	return !slices.Contains(f.Types, "object") && !slices.Contains(f.Types, "array")
}

// quote writes a value (a path, an event type) as a YAML double-quoted scalar, escaping every
// character that is not printable: besides control characters, YAML ends a line (and so a
// comment) at U+0085, U+2028 and U+2029, so a value carrying one raw could start a line of its
// own and inject mapping rules. Escaped, every value stays on its line, in comments too. Quoted
// paths are safe for any key, and in flow style ({…}) paths with brackets must be quoted anyway.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\uFEFF' || !unicode.IsPrint(r):
			if r > 0xFFFF {
				fmt.Fprintf(&b, "\\U%08X", r)
			} else {
				fmt.Fprintf(&b, "\\u%04X", r)
			}
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// attributeKey proposes a key for a custom attribute from a path: its last plain key.
func attributeKey(p string) string {
	k := p[strings.LastIndexAny(p, ".]")+1:]
	if k == "" || strings.IndexFunc(k, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-')
	}) >= 0 {
		return "field" // only plain ASCII keys are proposed as written: nothing else reaches the file raw
	}
	return k
}

func (s *Server) apiStarterMapping(w http.ResponseWriter, r *http.Request) {
	v, err := s.schema(r.Context(), accountOf(r), target(r, "event_type", "event_type"))
	if err != nil {
		writeAPI(w, nil, err)
		return
	}
	b := starterMapping(v)
	w.Header().Set("Content-Type", "application/yaml; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="mapping.yaml"`)
	_, _ = w.Write(b)
}
