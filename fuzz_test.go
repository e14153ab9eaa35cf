package pipeline_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"math/big"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/saleassist-pipeline/pipeline"
	"github.com/saleassist-pipeline/pipeline/internal/jsonscan"
)

// FuzzHeadMatchesDocument checks that the head the ingest reads on the request path names the
// same event as the document the worker later decodes from the same body: the ingest routes and
// dedupes by Head, the worker stores Document, so a disagreement would file an event under an
// id or type its own payload does not carry. It also checks that ParseHead is deterministic and
// that it refuses exactly the bodies that are not JSON with a SyntaxError.
//
// Seeds cover what a sloppy or hostile sender can send: duplicated and differently cased keys,
// a BOM, NUL bytes, invalid UTF-8, huge and tiny numbers as ids, deep nesting, long strings.
// More live in testdata/fuzz/FuzzHeadMatchesDocument, which go test runs as regression inputs.
func FuzzHeadMatchesDocument(f *testing.F) {
	b := setup(f)
	f.Add(b.fixture)
	f.Add(b.seed)
	for _, s := range []string{
		`{"event_type":"x","payload":{"id":"a"}}`,
		`{"event_type":"x","payload":{"id":"a","id":"b"}}`,
		`{"event_type":"x","event_type":"y","payload":{"id":"a"}}`,
		`{"event_type":"x","payload":{"id":"a"},"payload":{}}`,
		`{"event_type":"x","payload":{"id":"a"},"payload":null}`,
		`{"EVENT_TYPE":"x","payload":{"id":"a"}}`,
		`{"event_type":"x","payload":{"ID":"a"}}`,
		`{"event_type":"x","Payload":{"id":"a"}}`,
		"\xef\xbb\xbf{\"event_type\":\"x\",\"payload\":{\"id\":\"a\"}}",
		"{\"event_type\":\"x\",\"payload\":{\"id\":\"a\x00\"}}",
		`{"event_type":"x","payload":{"id":1e100000000}}`,
		`{"event_type":"x","payload":{"id":1e-100000000}}`,
		`{"event_type":"x","payload":{"id":-0.0}}`,
		`{"event_type":"x","payload":{"id":12345678901234567890123456789012345678901234567890}}`,
		`{"event_type":"x","payload":{"id":null}}`,
		`{"event_type":"x","payload":{"id":""}}`,
		`{"event_type":"x","payload":{"id":"\u00e9\ud83d\ude00"}}`,
		`{"event_type":"x","payload":{"id":"\ud800"}}`,
		`{"event_type":"x","payload":{"id":"\udbff"}}`,
		`{"event_type":"x","payload":{"id":"\ud83d\ude00\ufffd"}}`,
		`{"event_type":"\ud800x","payload":{"id":"1"}}`,
		`{"event_type":"x","payload":{"a":` + strings.Repeat("[", 510) + strings.Repeat("]", 510) + `}}`,
		`{"event_type":"x","payload":{"a":` + strings.Repeat("[", 511) + strings.Repeat("]", 511) + `}}`,
		`{"event_type":"x","payload":{"id":"` + strings.Repeat("i", 300) + `"}}`,
		`{"event_type":"x","payload":{"a":` + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + `}}`,
		`{"event_type":"x","payload":{"a":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		h, err := pipeline.ParseHead(body)
		h2, err2 := pipeline.ParseHead(body)
		if h != h2 || (err == nil) != (err2 == nil) {
			t.Fatalf("not deterministic: %+v %v / %+v %v", h, err, h2, err2)
		}
		var se *pipeline.SyntaxError
		if errors.As(err, &se) == json.Valid(body) {
			t.Fatalf("json.Valid=%v but error %v (%T)", json.Valid(body), err, err)
		}
		var ee *pipeline.EnvelopeError
		if d := depth(body); json.Valid(body) && d > pipeline.MaxDepth && !errors.As(err, &ee) {
			t.Fatalf("a body %d levels deep got %+v, %v; want an EnvelopeError (MaxDepth %d)", d, h, err, pipeline.MaxDepth)
		}
		if err != nil {
			return
		}
		// A lone surrogate escape decodes to U+FFFD: an accepted id or type may hold U+FFFD only
		// when the body spells it, else two different ids could become one.
		for _, s := range []string{h.ID, h.Type} {
			if strings.ContainsRune(s, utf8.RuneError) && !bytes.Contains(bytes.ToLower(body), []byte(`\ufffd`)) && !bytes.ContainsRune(body, utf8.RuneError) {
				t.Fatalf("%q holds U+FFFD the body does not spell: a lone surrogate got through", s)
			}
		}
		doc, err := jsonscan.Decode(body) // the worker's decoder
		if err != nil {
			t.Fatalf("head %+v accepted, but the worker cannot decode the body: %v", h, err)
		}
		if typ, _ := doc["event_type"].(string); typ != h.Type {
			t.Fatalf("head type %q, the document's event_type is %#v", h.Type, doc["event_type"])
		}
		payload, ok := doc["payload"].(map[string]any)
		if !ok {
			t.Fatalf("head %+v accepted, the document's payload is %#v", h, doc["payload"])
		}
		id, present := payload["id"]
		switch v := id.(type) {
		case nil:
			if !h.IDFromBody {
				t.Fatalf("head id %q, the document has no payload.id (present=%v)", h.ID, present)
			}
		case string:
			if v == "" && !h.IDFromBody || v != "" && (h.IDFromBody || v != h.ID) {
				t.Fatalf("head id %q (from body: %v), the document's payload.id is %q", h.ID, h.IDFromBody, v)
			}
		case json.Number:
			want, ok1 := new(big.Float).SetPrec(256).SetString(v.String())
			got, ok2 := new(big.Float).SetPrec(256).SetString(h.ID)
			if h.IDFromBody || !ok1 || !ok2 || want.Cmp(got) != 0 {
				t.Fatalf("head id %q (from body: %v), the document's payload.id is %s", h.ID, h.IDFromBody, v)
			}
		default:
			t.Fatalf("head %+v accepted with payload.id %#v", h, id)
		}
	})
}
