package pipeline_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/saleassist-pipeline/pipeline"
	"github.com/saleassist-pipeline/pipeline/internal/testkit"
)

// BenchmarkParseHead measures the request-path cost of reading a real envelope's head.
func BenchmarkParseHead(b *testing.B) {
	body := setup(b).fixture
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := pipeline.ParseHead(body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEventID measures event-id extraction by the kind of payload.id: a string (the
// fixture's), an integer, a number with an exponent, and none at all (the id is then the SHA-256
// of the body).
func BenchmarkEventID(b *testing.B) {
	fix := setup(b).fixture
	withID := func(raw string) []byte {
		return bytes.Replace(fix, []byte(`"`+testkit.FixtureID+`"`), []byte(raw), 1)
	}
	for _, c := range []struct {
		name string
		body []byte
	}{
		{"string", fix},
		{"integer", withID("1234567890123")},
		{"exponent", withID("1.5e3")},
		{"absent", withID("null")},
	} {
		b.Run(c.name, func(b *testing.B) {
			if _, err := pipeline.ParseHead(c.body); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := pipeline.ParseHead(c.body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// FuzzParseHead checks that no body makes ParseHead panic, that failures are one of its two
// error types, and that a head it accepts can travel as a NATS header and a store key.
func FuzzParseHead(f *testing.F) {
	bundle := setup(f)
	f.Add(bundle.fixture)
	f.Add(bundle.seed)
	for _, s := range []string{
		``,
		`{}`,
		`[]`,
		`{"event_type":"x","payload":{}}`,
		`{"event_type":"x","payload":{"id":12345}}`,
		`{"event_type":"x","payload":{"id":1.5e3}}`,
		`{"event_type":"x","payload":{"id":-7}}`,
		`{"event_type":"x","payload":{"id":""}}`,
		`{"event_type":"x","payload":{"id":null}}`,
		`{"event_type":"x","payload":{"id":"a\r\nb"}}`,
		`{"event_type":"a\u0000","payload":{"id":"1"}}`,
		`{"event_type":"x","payload":{"id":1e999}}`,
		"{\"event_type\":\"\xff\",\"payload\":{\"id\":\"1\"}}",
		`{"event_type":"x","payload":"s"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		h, err := pipeline.ParseHead(body)
		if err != nil {
			var se *pipeline.SyntaxError
			var ee *pipeline.EnvelopeError
			switch {
			case errors.As(err, &se):
				if se.Line < 1 || se.Column < 1 {
					t.Fatalf("syntax error at %d:%d, want 1-based", se.Line, se.Column)
				}
			case errors.As(err, &ee):
			default:
				t.Fatalf("error of type %T: %v", err, err)
			}
			if h != (pipeline.Head{}) {
				t.Fatalf("head %+v returned with error %v", h, err)
			}
			return
		}
		if h.Type == "" || h.ID == "" {
			t.Fatalf("empty type or id: %+v", h)
		}
		if len(h.Type) > pipeline.MaxEventTypeLen {
			t.Fatalf("type of %d bytes accepted", len(h.Type))
		}
		for _, s := range []string{h.Type, h.ID} {
			if !utf8.ValidString(s) {
				t.Fatalf("invalid UTF-8 accepted: %q", s)
			}
			for _, r := range s {
				if r < 0x20 || r == 0x7f {
					t.Fatalf("control character accepted: %q", s)
				}
			}
		}
		if h.IDFromBody {
			sum := sha256.Sum256(body)
			if h.ID != hex.EncodeToString(sum[:]) {
				t.Fatalf("id from body %q is not the body's SHA-256", h.ID)
			}
		} else if len(h.ID) > pipeline.MaxIDLen {
			t.Fatalf("id of %d bytes accepted", len(h.ID))
		}
	})
}

// FuzzEventID fuzzes payload.id alone, inside an otherwise valid envelope: the id is the store's
// dedupe key, so the same raw id must always give the same text, an integer must keep every digit,
// and a string id must come back unchanged.
func FuzzEventID(f *testing.F) {
	for _, s := range []string{`"dc60de93-d726-43cc-ad06-9cc7544cb8e5"`, `12345`, `-7`, `1.5e3`, `0.1`, `1e999`,
		`123456789012345678901234567890`, `""`, `null`, `{}`, `[1]`, `true`, `"a\u0000b"`, `"\ud800"`, `"\udbff"`, `"\ud800\udc00"`, `"\udc00\ud800"`, `"\\ud800"`, `1e-400`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		body := []byte(`{"event_type":"x","payload":{"id":` + raw + `}}`)
		h1, err1 := pipeline.ParseHead(body)
		h2, err2 := pipeline.ParseHead(body)
		if (err1 == nil) != (err2 == nil) || h1 != h2 {
			t.Fatalf("not deterministic: %+v %v / %+v %v", h1, err1, h2, err2)
		}
		if err1 != nil {
			return
		}
		if h1.IDFromBody {
			sum := sha256.Sum256(body)
			if h1.ID != hex.EncodeToString(sum[:]) {
				t.Fatalf("body-hash id %q is not the body's SHA-256", h1.ID)
			}
			return
		}
		if strings.ContainsRune(h1.ID, utf8.RuneError) && !strings.Contains(strings.ToLower(raw), `\ufffd`) && !strings.ContainsRune(raw, utf8.RuneError) {
			t.Fatalf("id %q holds U+FFFD that %s does not spell: a lone surrogate got through", h1.ID, raw)
		}
		if isInteger(raw) && h1.ID != raw {
			t.Fatalf("integer id %s became %q", raw, h1.ID)
		}
		if len(h1.ID) > pipeline.MaxIDLen {
			t.Fatalf("id of %d bytes accepted", len(h1.ID))
		}
	})
}

func isInteger(s string) bool {
	if s == "" || s == "-" {
		return false
	}
	for i, c := range s {
		if !(c >= '0' && c <= '9' || c == '-' && i == 0) {
			return false
		}
	}
	return true
}
