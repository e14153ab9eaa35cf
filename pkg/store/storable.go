package store

import (
	"encoding/json"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/saleassist-pipeline/pipeline"
)

// Replacement is what Storable puts in place of text no store can hold: U+FFFD, Unicode's
// replacement character.
const Replacement = "\uFFFD"

// Storable makes rec's text storable by every store, the same way for all of them, before Apply
// sees it. A valid JSON string may hold U+0000 (written \u0000): SQLite keeps it, PostgreSQL's
// text refuses it (invalid byte sequence … 0x00) and so does its jsonb (unsupported Unicode
// escape sequence), and either refusal would leave the event accepted and never stored. So:
//
//   - in every text field of the lead and the meeting (email and phones included: they are the
//     lead's identity keys, compared as stored), in each attribute key, in each meeting
//     participant and in Invalid, U+0000 and any byte that is not UTF-8 become U+FFFD;
//   - in each attribute value (JSON), the escapes \u0000 and of an unpaired surrogate (which
//     PostgreSQL's jsonb refuses too), and bytes that are not UTF-8, become U+FFFD (as UTF-8, as
//     json.Marshal writes it, so both stores hold the same bytes), the rest left as it was;
//   - rec.Invalid then says which fields changed ("text: U+0000 or bytes not UTF-8 replaced by
//     U+FFFD in name, attributes"), naming fields, never their values.
//
// The payload (the envelope as received) is kept unchanged by every store, so the original
// text is never lost. The event id and type need nothing: the ingest refuses control characters
// and bytes that are not UTF-8 there. It reports whether it changed anything.
func Storable(rec *pipeline.Record) bool {
	var changed []string
	if l := rec.Lead; l != nil {
		for i, f := range leadTextFields(l) {
			if s, ok := storableText(*f); !ok {
				*f = s
				changed = append(changed, leadTextNames[i])
			}
		}
		if attrs, ok := storableAttributes(l.Attributes); !ok {
			l.Attributes = attrs
			changed = append(changed, "attributes")
		}
	}
	if m := rec.Meeting; m != nil {
		for i, f := range []*string{&m.ID, &m.Name, &m.Status, &m.MeetingURL, &m.Timezone} {
			if s, ok := storableText(*f); !ok {
				*f = s
				changed = append(changed, meetingTextNames[i])
			}
		}
		for i, p := range m.Participants {
			if s, ok := storableText(p); !ok {
				if !slices.Contains(changed, "meeting.participants") {
					m.Participants = slices.Clone(m.Participants)
					changed = append(changed, "meeting.participants")
				}
				m.Participants[i] = s
			}
		}
	}
	if s, ok := storableText(rec.Invalid); !ok {
		rec.Invalid = s
		changed = append(changed, "invalid")
	}
	if len(changed) == 0 {
		return false
	}
	rec.AddInvalid("text: U+0000 or bytes not UTF-8 replaced by U+FFFD in " + strings.Join(changed, ", "))
	return true
}

// leadTextNames names the fields of leadTextFields, in the same order.
var leadTextNames = []string{"source_id", "name", "email", "mobile_number", "alt_phone", "address",
	"pincode", "city", "state", "country", "utm_source", "utm_medium", "utm_campaign", "utm_term",
	"utm_content", "product_category", "product_sku"}

// meetingTextNames names the meeting's text fields Storable checks, in its order.
var meetingTextNames = []string{"meeting.id", "meeting.name", "meeting.status", "meeting.meeting_url", "meeting.timezone"}

// leadTextFields lists l's text fields (as leadrules.TextFields, which imports this package).
func leadTextFields(l *pipeline.Lead) []*string {
	return []*string{&l.SourceID, &l.Name, &l.Email, &l.MobileNumber, &l.AltPhone, &l.Address,
		&l.Pincode, &l.City, &l.State, &l.Country, &l.UTMSource, &l.UTMMedium, &l.UTMCampaign,
		&l.UTMTerm, &l.UTMContent, &l.ProductCategory, &l.ProductSKU}
}

// storableText returns s with U+0000 and bytes that are not UTF-8 replaced by U+FFFD, and
// whether s was storable as it was.
func storableText(s string) (string, bool) {
	if strings.IndexByte(s, 0) < 0 && utf8.ValidString(s) {
		return s, true
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, Replacement), "\x00", Replacement), false
}

// storableAttributes returns attrs with every key and value storable, and whether all were
// already. A key that becomes another key already present keeps that key's own value (the
// key as sent wins); two such keys are taken in sorted order, the first winning.
func storableAttributes(attrs map[string]json.RawMessage) (map[string]json.RawMessage, bool) {
	ok := true
	for k, v := range attrs {
		if _, kok := storableText(k); !kok || !storableJSON(v) {
			ok = false
			break
		}
	}
	if ok {
		return attrs, true
	}
	keys := make([]string, 0, len(attrs))
	for k := range attrs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make(map[string]json.RawMessage, len(attrs))
	for _, k := range keys { // keys storable as sent first, so they win a collision
		if _, kok := storableText(k); kok {
			out[k] = fixJSON(attrs[k])
		}
	}
	for _, k := range keys {
		if nk, kok := storableText(k); !kok {
			if _, taken := out[nk]; !taken {
				out[nk] = fixJSON(attrs[k])
			}
		}
	}
	return out, false
}

// storableJSON reports whether the JSON value v holds neither the escape \u0000 nor an unpaired
// surrogate's, nor bytes that are not UTF-8. Most values hold no \u escape at all.
func storableJSON(v json.RawMessage) bool {
	if !strings.Contains(string(v), `\u`) {
		return utf8.Valid(v)
	}
	return string(fixJSON(v)) == string(v)
}

// fixJSON returns the JSON value v with the escapes \u0000 and those of unpaired surrogates
// replaced by U+FFFD, and bytes that are not UTF-8 by U+FFFD; everything else is copied as it is.
// It reads string escapes only (a backslash outside a string cannot occur in valid JSON).
func fixJSON(v json.RawMessage) json.RawMessage {
	out := make([]byte, 0, len(v))
	for i := 0; i < len(v); {
		c := v[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRune(v[i:])
			if r == utf8.RuneError && size == 1 {
				out = append(out, Replacement...)
			} else {
				out = append(out, v[i:i+size]...)
			}
			i += size
			continue
		}
		if c != '\\' || i+1 >= len(v) {
			out = append(out, c)
			i++
			continue
		}
		if v[i+1] != 'u' {
			out = append(out, v[i], v[i+1]) // \" \\ \n …: copied whole, so \\u stays as it is
			i += 2
			continue
		}
		r, ok := hex4(v, i+2)
		if !ok {
			out = append(out, v[i:min(i+6, len(v))]...)
			i += 6
			continue
		}
		switch {
		case r == 0:
			out = append(out, Replacement...)
			i += 6
		case r >= 0xD800 && r < 0xDC00: // a high surrogate: storable only with a low one next
			if i+11 < len(v) && v[i+6] == '\\' && v[i+7] == 'u' {
				if lo, ok := hex4(v, i+8); ok && lo >= 0xDC00 && lo < 0xE000 {
					out = append(out, v[i:i+12]...)
					i += 12
					continue
				}
			}
			out = append(out, Replacement...)
			i += 6
		case r >= 0xDC00 && r < 0xE000: // a low surrogate without a high one before it
			out = append(out, Replacement...)
			i += 6
		default:
			out = append(out, v[i:i+6]...)
			i += 6
		}
	}
	return out
}

// hex4 reads the four hex digits at v[i:i+4].
func hex4(v []byte, i int) (rune, bool) {
	if i+4 > len(v) {
		return 0, false
	}
	var r rune
	for _, c := range v[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}
