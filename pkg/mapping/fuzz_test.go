package mapping

import (
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/saleassist-pipeline/pipeline"
	"github.com/saleassist-pipeline/pipeline/internal/testkit"
)

// The fuzz targets of this package: every decoder and normalizer a webhook or a mapping file
// reaches. Each checks properties, not only the absence of panics; go test runs their seeds and
// testdata/fuzz/<target> as regression inputs, `make fuzz` explores further.

// e164 is the shape of a normalized phone number: '+', a country code not starting with 0, then
// digits. ITU E.164 allows 15 digits in all, but libphonenumber, whose validity the pipeline
// follows, knows longer real numbers (German ones reach 16: +4920100000000000, found by this
// target), so the bound is its own: 3 digits of country code and 17 of national number.
var e164 = regexp.MustCompile(`^\+[1-9][0-9]{1,19}$`)

// fuzzRegions are the default regions the phone target reads numbers in: the default (IN), and
// regions with trunk prefixes, leading zeros and shared country codes.
var fuzzRegions = []string{"IN", "US", "GB", "IT", "DE", "AR", "BR", "RU", "CN", "AU"}

// FuzzNormalizePhone: a normalized phone is E.164 or the input kept as sent (trimmed), and
// normalizing again changes nothing, so a number stored once matches itself on the next event.
func FuzzNormalizePhone(f *testing.F) {
	for _, s := range []string{
		"+910987654321", "+918765875687", "09876543210", "98765-43210", "+91 98765 43210",
		" 9876543210 ", "+1 (650) 253-0000", "1-800-FLOWERS", "+44 20 7946 0958 ext. 12",
		"0039 06 1234 5678", "+39 06 1234 5678", "", " ", "+", "++91", "+0", "\x00",
		"\xff\xfe", "٩٨٧٦٥٤٣٢١٠", "９８７６５４３２１０", strings.Repeat("9", 1000), "+" + strings.Repeat("1", 30),
		"tel:+919876543210", "+91-9876543210;ext=1", "1e100000000", "null",
	} {
		f.Add(uint8(0), s)
		f.Add(uint8(1), s)
	}
	mappers := make([]*Mapper, len(fuzzRegions))
	for i, r := range fuzzRegions {
		mappers[i] = newMapper(f, r)
	}
	f.Fuzz(func(t *testing.T, region uint8, s string) {
		m := mappers[int(region)%len(mappers)]
		out, ok := m.NormalizePhone(s)
		if !ok {
			if out != strings.TrimSpace(s) {
				t.Fatalf("%s: invalid %q gave %q, want it kept as sent (trimmed)", m.region, s, out)
			}
			return
		}
		if !e164.MatchString(out) {
			t.Fatalf("%s: %q normalized to %q, not E.164", m.region, s, out)
		}
		again, ok := m.NormalizePhone(out)
		if !ok || again != out {
			t.Fatalf("%s: not idempotent: %q -> %q -> %q (valid %v)", m.region, s, out, again, ok)
		}
		// E.164 carries its country: another default region reads it the same.
		other := mappers[(int(region)+1)%len(mappers)]
		if o, ok := other.NormalizePhone(out); !ok || o != out {
			t.Fatalf("%q read in %s gives %q (valid %v), in %s %q", out, other.region, o, ok, m.region, out)
		}
	})
}

// FuzzNormalizeEmail: an email key is trimmed, lower-case (normalizing again changes nothing),
// valid UTF-8 and in Unicode NFC, and the NFD form of an address gives the same key as its NFC
// form, so the store's unique email index sees one key per address. Whether a key is a
// placeholder does not depend on the case or spaces it was sent with.
func FuzzNormalizeEmail(f *testing.F) {
	for _, s := range []string{
		"prakashm@athenabpo.in", " PrakashM@AthenaBPO.in ", "", " ", "\t\n", "İSTANBUL@EXAMPLE.COM",
		"ǅ@x", "ϒ@x", "ẞ@x", "\xff\xfe@x", "a\x00b@x", "\u00a0a@x\u00a0", "\u2028a@x", "\ufeffa@x",
		strings.Repeat("A", 10000) + "@x",
		"José@exemplo.br", "josé@exemplo.br", "Å@x", "Å@x", "ẛ̣@x",
		" N/A ", "NULL", "NoEmail@Gmail.com", "@", "a@", "test@TEST.com",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := NormalizeEmail(s)
		if NormalizeEmail(out) != out {
			t.Fatalf("not idempotent: %q -> %q -> %q", s, out, NormalizeEmail(out))
		}
		if utf8.ValidString(s) && !norm.NFC.IsNormalString(out) {
			t.Fatalf("%q -> %q: not NFC", s, out)
		}
		if nfd := NormalizeEmail(norm.NFD.String(s)); utf8.ValidString(s) && nfd != out {
			t.Fatalf("%q: NFC key %q, NFD key %q", s, out, nfd)
		}
		if IsPlaceholderEmail(s) != IsPlaceholderEmail(out) {
			t.Fatalf("%q (placeholder %v) -> %q (placeholder %v)", s, IsPlaceholderEmail(s), out, IsPlaceholderEmail(out))
		}
		if strings.TrimSpace(out) != out {
			t.Fatalf("%q -> %q: not trimmed", s, out)
		}
		if !utf8.ValidString(out) {
			t.Fatalf("%q -> %q: invalid UTF-8 kept in a key", s, out)
		}
		if utf8.ValidString(s) && !strings.EqualFold(out, strings.TrimSpace(s)) && asciiOnly(s) {
			t.Fatalf("%q -> %q: not the same address", s, out)
		}
	})
}

func asciiOnly(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// FuzzParsePath: a path that parses means what it says. Written back in the canonical form
// (every key quoted in brackets) it parses to the same segments, and looked up in a document
// built along those segments it finds the value at their end.
func FuzzParsePath(f *testing.F) {
	for _, s := range []string{
		"payload", "payload.people_detail.email", "payload.meta[0].registration_form",
		`payload.people_detail["utm.source"]`, `payload.x["say \"[hi]\""]`, "payload.Full Name",
		"payload.meta[12][3]", "[0]", `["a"]`, "a..b", "a.", ".a", "a[", "a]", "a[-1]", "a[01]",
		"a[1048577]", "a[99999999999999999999]", `a["`, `a["\"]`, `a["\xff"]`, "a[\"\\u0000\"]",
		" a", "a ", "a.[0]", "a[0]b", "a\x00b", strings.Repeat("a.", 500) + "a", strings.Repeat("[0]", 100),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := parsePath(s)
		if err != nil {
			if err.Error() == "" {
				t.Fatalf("%q: empty error", s)
			}
			return
		}
		if len(p.segs) == 0 || p.segs[0].index >= 0 || p.text != s {
			t.Fatalf("%q parsed to %+v", s, p)
		}
		var canon strings.Builder
		for _, sg := range p.segs {
			if sg.index >= 0 {
				canon.WriteString("[" + strconv.Itoa(sg.index) + "]")
			} else {
				canon.WriteString("[" + strconv.Quote(sg.key) + "]")
			}
		}
		q, err := parsePath(canon.String())
		if err != nil {
			t.Fatalf("%q parsed, its canonical form %q does not: %v", s, canon.String(), err)
		}
		if !reflect.DeepEqual(p.segs, q.segs) {
			t.Fatalf("%q: segments %+v, canonical %q gives %+v", s, p.segs, canon.String(), q.segs)
		}
		// Build {seg0: {seg1: [.., .., x]}} (arrays only up to a size a test can afford).
		var doc any = "found"
		for i := len(p.segs) - 1; i >= 0; i-- {
			sg := p.segs[i]
			if sg.index < 0 {
				doc = map[string]any{sg.key: doc}
				continue
			}
			if sg.index > 1000 {
				return
			}
			arr := make([]any, sg.index+1)
			arr[sg.index] = doc
			doc = arr
		}
		if v, ok := lookupSegs(p.segs, doc); !ok || v != "found" {
			t.Fatalf("%q: lookup along its own segments gives %#v, %v", s, v, ok)
		}
	})
}

// mappingNames choose how ParseMapping reads the fuzzed bytes: by extension, or by content.
var mappingNames = []string{"m.yaml", "m.json", "m"}

// FuzzParseMapping: any bytes as a MAPPING_FILE either compile, deterministically, into a
// mapping that maps the sample event without error, or are refused with *MappingErrors naming
// the file (never a panic, which would stop the worker with a stack trace instead of a message).
func FuzzParseMapping(f *testing.F) {
	for _, name := range []string{"default.yaml", "testdata/mapping.example.yaml", "testdata/mapping.example.json"} {
		var b []byte
		if name == "default.yaml" {
			b = defaultYAML
		} else {
			b = readFile(f, name)
		}
		f.Add(uint8(0), b)
		f.Add(uint8(1), b)
		f.Add(uint8(2), b)
	}
	for _, s := range []string{
		"", "version: 1", "version: 1\nlead:\n  email: payload.people_detail.email\n",
		"{\"version\":1,\"lead\":{\"name\":\"payload.people_detail.name\"}}",
		"version: 1\nlead:\n  name: &a payload.x\n  email: *a\n",
		"a: &a [*a]", "a: &a {b: *a}", "version: 1\nlead: &l {name: *l}\n",
		"version: 1\nlead:\n  name: payload.x\n  name: payload.y\n",
		"version: 1\nlead:\n\tname: payload.x\n", "version: 1\nlead: {name: payload.meta[0].x}\n",
		"\ufeff{\"version\":1}", "{\"version\":1}{}", "[[[[[[[[[[[[[[[[[[[[", "version: 1e100000000",
		"version: 1\nevent_types:\n  x:\n    lead:\n      name: null\n",
		"version: 1\nlead:\n  attributes.: payload.x\n  attributes.a: {path: payload.x, transforms: [json-decode, e164, number]}\n",
		"version: 1\nlead:\n  city: {first_of: [payload.a, payload.b, \"payload[\\\"c\\\"]\"]}\n",
		"version: !!binary AAAA", "? [a, b]\n: c\n", "version: 1\n---\nversion: 1\n",
	} {
		f.Add(uint8(0), []byte(s))
		f.Add(uint8(2), []byte(s))
	}
	doc := testkit.Document(f, testkit.Fixture(f))
	received := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	f.Fuzz(func(t *testing.T, which uint8, data []byte) {
		name := mappingNames[int(which)%len(mappingNames)]
		mp, err := ParseMapping(name, data)
		mp2, err2 := ParseMapping(name, data)
		if (err == nil) != (err2 == nil) || err != nil && err.Error() != err2.Error() {
			t.Fatalf("not deterministic: %v / %v", err, err2)
		}
		if err != nil {
			var me *MappingError
			if !errors.As(err, &me) {
				t.Fatalf("error %T is not a *MappingError: %v", err, err)
			}
			for _, line := range strings.Split(err.Error(), "\n") {
				if !strings.HasPrefix(line, "mapping "+name) {
					t.Fatalf("error line %q does not name the file %s", line, name)
				}
			}
			return
		}
		if !reflect.DeepEqual(mp.EventTypes(), mp2.EventTypes()) {
			t.Fatalf("event types %v then %v", mp.EventTypes(), mp2.EventTypes())
		}
		m, err := NewMapper("IN", WithMapping(mp))
		if err != nil {
			t.Fatal(err)
		}
		for _, typ := range append([]string{"widget_new_conversation", "other"}, mp.EventTypes()...) {
			l1, err := m.FromEvent(typ, doc, received)
			if err != nil {
				t.Fatalf("mapping %q, type %s: %v", data, typ, err)
			}
			l2, _ := m.FromEvent(typ, doc, received)
			if !reflect.DeepEqual(l1, l2) {
				t.Fatalf("not deterministic: %+v / %+v", l1, l2)
			}
			checkLead(t, m, l1)
		}
	})
}

// FuzzFromEvent maps arbitrary JSON documents, decoded as the worker decodes them, with the
// built-in mapping: never an error, the same lead twice, normalized keys (email as
// NormalizeEmail gives it, phones as NormalizePhone leaves them), text trimmed, attributes valid
// JSON, SeenAt in UTC; and FromPayload is FromEvent for an envelope holding only the payload.
func FuzzFromEvent(f *testing.F) {
	f.Add(testkit.Fixture(f))
	for _, s := range []string{
		`{}`, `{"payload":null}`, `{"payload":{"people_detail":null}}`,
		`{"payload":{"people_detail":{"email":" A@B.C ","mobile_number":"09876543210"}}}`,
		`{"payload":{"people_detail":{"mobile_number":9876543210,"name":["x"],"pincode":123456}}}`,
		`{"payload":{"people_detail":{"email":{"a":1},"address":"  x  "},"unique_field_value":"+919876543210"}}`,
		`{"payload":{"people_detail":{"mobile_number":"+919876543210"},"unique_field_value":"9876543210"}}`,
		`{"payload":{"people_detail":{"name":"a"},"updated_on":1e100000000,"created_on":-1}}`,
		`{"payload":{"people_detail":{"name":"a"},"updated_on":"1700000000000"}}`,
		`{"payload":{"people_detail":{"name":"a"},"updated_on":9223372036854775807}}`,
		`{"payload":{"people_detail":{"name":"a"},"updated_on":32503680000000,"created_on":1700000000000}}`,
		`{"payload":{"people_detail":{"name":"a"},"updated_on":"253402300799999"}}`,
		`{"payload":{"people_detail":{"name":"\u0000","email":"\ud800"}}}`,
		`{"payload":{"people_detail":{"name":"a","name":"b"},"meta":[{"registration_form":"{\"a\":1}"}]}}`,
		`{"event_type":"widget_new_conversation","payload":{"people_detail":{"":1,"attributes":2}}}`,
	} {
		f.Add([]byte(s))
	}
	m := newMapper(f, "IN")
	received := time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("IST", 19800))
	f.Fuzz(func(t *testing.T, body []byte) {
		var doc map[string]any
		if testkit.DecodeNumbers(body, &doc) != nil || doc == nil {
			return
		}
		typ, _ := doc["event_type"].(string)
		l1, err := m.FromEvent(typ, doc, received)
		if err != nil {
			t.Fatalf("FromEvent: %v", err)
		}
		l2, _ := m.FromEvent(typ, doc, received)
		if !reflect.DeepEqual(l1, l2) {
			t.Fatalf("not deterministic: %+v / %+v", l1, l2)
		}
		checkLead(t, m, l1)
		if l1 != nil {
			limit := received.Add(m.MaxClockSkew())
			if l1.SeenAt.After(limit) || (!l1.IgnoredSeenAt.IsZero() && (!l1.IgnoredSeenAt.After(limit) || !l1.SeenAt.Equal(received))) {
				t.Fatalf("SeenAt %v, IgnoredSeenAt %v: a time past arrival plus %s must give way to arrival", l1.SeenAt, l1.IgnoredSeenAt, m.MaxClockSkew())
			}
		}
		payload, _ := doc["payload"].(map[string]any)
		lp, err := m.FromPayload(payload, received)
		if err != nil {
			t.Fatalf("FromPayload: %v", err)
		}
		var le *pipeline.Lead
		if payload != nil {
			le, _ = m.FromEvent("", map[string]any{"payload": payload}, received)
		}
		if !reflect.DeepEqual(lp, le) {
			t.Fatalf("FromPayload %+v, FromEvent of the payload alone %+v", lp, le)
		}
	})
}

// checkLead checks what every mapped lead must satisfy, whatever the mapping and the event.
func checkLead(t *testing.T, m *Mapper, l *pipeline.Lead) {
	t.Helper()
	if l == nil {
		return
	}
	if l.SeenAt.Location() != time.UTC {
		t.Fatalf("SeenAt %v is not UTC", l.SeenAt)
	}
	v := reflect.ValueOf(l).Elem()
	for i := 0; i < v.NumField(); i++ {
		if s, ok := v.Field(i).Interface().(string); ok && strings.TrimSpace(s) != s {
			t.Fatalf("%s = %q is not trimmed", v.Type().Field(i).Name, s)
		}
	}
	if m.mapping == DefaultMapping() {
		if NormalizeEmail(l.Email) != l.Email {
			t.Fatalf("email %q is not normalized", l.Email)
		}
		for _, p := range []string{l.MobileNumber, l.AltPhone} {
			if n, _ := m.NormalizePhone(p); n != p {
				t.Fatalf("phone %q normalizes further, to %q", p, n)
			}
		}
	}
	// Whatever the mapping: a key is never a placeholder, and an email key is NFC.
	if l.Email != "" && (IsPlaceholderEmail(l.Email) || (utf8.ValidString(l.Email) && !norm.NFC.IsNormalString(l.Email))) {
		t.Fatalf("email key %q is a placeholder or not NFC", l.Email)
	}
	for _, p := range []string{l.MobileNumber, l.AltPhone} {
		if p != "" && IsPlaceholderPhone(p) {
			t.Fatalf("phone key %q is a placeholder", p)
		}
	}
	if m.mapping == DefaultMapping() {
		if l.AltPhone != "" && l.AltPhone == l.MobileNumber {
			t.Fatalf("alt phone %q equals the mobile number", l.AltPhone)
		}
	}
	for k, a := range l.Attributes {
		if !json.Valid(a) {
			t.Fatalf("attribute %q holds invalid JSON %q", k, a)
		}
	}
	if _, err := json.Marshal(l); err != nil {
		t.Fatalf("lead does not encode: %v", err)
	}
}

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
