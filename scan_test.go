package pipeline_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/saleassist-pipeline/pipeline"
	"github.com/saleassist-pipeline/pipeline/internal/testkit"
)

// scanSeeds are bodies at the edges of what scanHead must decide exactly as encoding/json does.
var scanSeeds = []string{
	`{"event_type":"x","payload":{"id":"a"}}`,
	`{"event_type":"x","payload":{"id":"a","id":7}}`,
	`{"event_type":"x","payload":{"id":"a"},"payload":{}}`,
	`{"event_type":"x","payload":{"id":"a"},"PAYLOAD":{}}`,
	`{"event_type":"x","payload":{"id":"a"},"Payload":"s"}`,
	`{"event_type":"x","payload":{"\u0069d":"a"}}`,
	`{"event_type":"x","\u0070ayload":{"id":"a"}}`,
	`{"event_type":"\u0078","payload":{"i\"d":"a"}}`,
	`{"event_type":5,"payload":{}}`,
	`{"event_type":"x","payload":[]}`,
	`{"event_type":"x","payload":{"a":[1,-0,0.5,1e5,1E+5,-1.25e-3,true,false,null,"s",{},[]]}}`,
	` {"event_type" : "x" , "payload" : { "id" : 1 } } `,
	`{"a":01}`, `{"a":-}`, `{"a":1.}`, `{"a":.5}`, `{"a":1e}`, `{"a":+1}`, `{"a":tru}`, `{"a":nul}`,
	`{"a":"\x"}`, `{"a":"\u12"}`, `{"a":"\u12G4"}`, "{\"a\":\"\t\"}", "{\"a\":\"\xff\"}",
	`{"a":[1,]}`, `{"a":{"b":1,}}`, `{"a":[1 2]}`, `{"a" 1}`, `{"a":1}}`, `{"a":1`, `{"a":"`,
	`{,}`, `{"a":{"b"}}`, `{"a":[}`, `{"a":{]}`, `{} {}`, `{}x`, "\xef\xbb\xbf{}", `{"a":"\/\b\f\n\r\t\\\""}`,
	`{"a":` + strings.Repeat("[", 9998) + strings.Repeat("]", 9998) + `}`,
	`{"a":` + strings.Repeat("[", 9999) + strings.Repeat("]", 9999) + `}`,
	`{"a":` + strings.Repeat(`{"b":`, 9999) + `1` + strings.Repeat("}", 9999) + `}`,
	`{"payload":{"a":` + strings.Repeat("[", 9998) + strings.Repeat("]", 9998) + `}}`,
	`{"event_type":"x","payload":{"a":` + strings.Repeat("[", 510) + strings.Repeat("]", 510) + `}}`,
	`{"event_type":"x","payload":{"a":` + strings.Repeat("[", 511) + strings.Repeat("]", 511) + `}}`,
	`{"event_type":"x","payload":{}}`,
	`{"event_type":"x","metadata":` + strings.Repeat(`{"a":`, 600) + `1` + strings.Repeat("}", 600) + `,"payload":{"id":"1"}}`,
	`{"event_type":"x","payload":{"id":"\ud800"}}`,
	`{"event_type":"\udfff","payload":{"id":"1"}}`,
}

// FuzzScanHead holds ParseHead's one-pass fast path to encoding/json and to the slow path it
// replaces: it decides validity exactly as json.Valid does (checked on the body wrapped as a
// member, so that every JSON value is scanned, not only envelopes), and where it takes a body,
// ParseHead answers exactly what the slow path answers.
func FuzzScanHead(f *testing.F) {
	f.Add(testkit.Fixture(f))
	f.Add(testkit.SeedSample(f))
	for _, s := range scanSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		// A body that is not one JSON value can break out of the wrapping and make an envelope of
		// its own (0,"payload":0 makes {"x":0,"payload":0}), one scanHead may decline for its shape
		// although it is valid: the wrapping says nothing then.
		wrapped := append(append([]byte(`{"x":`), body...), '}')
		if json.Valid(body) || !json.Valid(wrapped) {
			if _, _, _, _, _, ok := pipeline.ScanHead(wrapped); ok != json.Valid(wrapped) {
				t.Fatalf("scanHead ok=%v, json.Valid=%v for %q", ok, !ok, wrapped)
			}
		}
		rawType, payload, rawID, rawClient, levels, ok := pipeline.ScanHead(body)
		if !ok {
			return
		}
		if !json.Valid(body) {
			t.Fatalf("scanHead took a body json.Valid refuses: %q", body)
		}
		if want := depth(body); levels != want || pipeline.Nesting(body) != want {
			t.Fatalf("scanHead says %d levels, nesting %d, encoding/json's tokens %d", levels, pipeline.Nesting(body), want)
		}
		if want, _ := pipeline.LastMember(body, "event_type"); string(rawType) != string(want) {
			t.Fatalf("event_type %q, lastMember says %q", rawType, want)
		}
		if want, _ := pipeline.LastMember(body, "payload"); string(payload) != string(want) {
			t.Fatalf("payload %q, lastMember says %q", payload, want)
		}
		if want, _ := pipeline.LastMember(payload, "id"); string(rawID) != string(want) {
			t.Fatalf("payload.id %q, lastMember says %q", rawID, want)
		}
		if want, _ := pipeline.LastMember(payload, "client_id"); string(rawClient) != string(want) {
			t.Fatalf("payload.client_id %q, lastMember says %q", rawClient, want)
		}
		h, err := pipeline.ParseHead(body)
		h2, err2 := pipeline.ParseHeadSlow(body)
		if h != h2 || fmt.Sprint(err) != fmt.Sprint(err2) {
			t.Fatalf("fast path %+v, %v; slow path %+v, %v", h, err, h2, err2)
		}
	})
}

// depth is how deeply the valid JSON body nests, by encoding/json's tokens: the reference the
// scanner's depth tracking is held to.
func depth(body []byte) int {
	dec := json.NewDecoder(bytes.NewReader(body))
	d, deepest := 0, 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return deepest
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			d++
			deepest = max(deepest, d)
		case json.Delim('}'), json.Delim(']'):
			d--
		}
	}
}

// TestScanHead_Depth checks the nesting limit at its edge, where encoding/json's answer flips.
func TestScanHead_Depth(t *testing.T) {
	for _, n := range []int{9998, 9999, 10000} {
		body := []byte(`{"a":` + strings.Repeat("[", n) + strings.Repeat("]", n) + `}`)
		if _, _, _, _, _, ok := pipeline.ScanHead(body); ok != json.Valid(body) {
			t.Errorf("depth %d: scanHead ok=%v, json.Valid=%v", n+1, ok, json.Valid(body))
		}
	}
}

// BenchmarkParseHeadSlow is what ParseHead cost before the one-pass scanner, for comparison
// with BenchmarkParseHead.
func BenchmarkParseHeadSlow(b *testing.B) {
	body := testkit.Fixture(b)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := pipeline.ParseHeadSlow(body); err != nil {
			b.Fatal(err)
		}
	}
}
