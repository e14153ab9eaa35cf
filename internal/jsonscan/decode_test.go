package jsonscan

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// stdDocument is encoding/json with UseNumber: the behaviour Decode must match.
func stdDocument(body []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var doc map[string]any
	err := dec.Decode(&doc)
	return doc, err
}

// fixture reads the sample itself: testkit.Fixture is not reachable from here (testkit imports
// the root package pipeline, which imports this package).
func fixture(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "fixtures", "widget_new_conversation.json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var decodeSeeds = []string{
	``, ` `, `null`, ` null `, `nullx`, `null x`, `nul`, `{}`, `{} trailing`, `{}x`, `[]`, `"s"`, `1`, `true`,
	`{"a":1}`, `{"a":1,"a":2}`, `{"a":-0.5e+10,"b":0,"c":-0,"d":1E3}`, `{"a":01}`, `{"a":1.}`, `{"a":-}`, `{"a":1e}`,
	`{"a":[1,[2,{}],[]],"b":{"c":null,"d":true,"e":false}}`, `{"a":[1,]}`, `{"a":1,}`, `{,}`, `{"a" 1}`, `{"a":1`,
	`{"s":"\"\\\/\b\f\n\r\t\u00e9\u20AC"}`, `{"s":"\ud83d\ude00"}`, `{"s":"\ud83d"}`, `{"s":"\ud83dx"}`,
	`{"s":"\ud83d\u0041"}`, `{"s":"\ude00\ud83d"}`, `{"s":"\ud83d\uZZZZ"}`, `{"s":"\x"}`, "{\"s\":\"a\x01\"}",
	"{\"s\":\"\xff\xfe\"}", "{\"s\":\"caf\xc3\xa9\"}", "{\"s\":\"\xc3\"}", "{\"\xff\":1}", `{"é":"ü"}`,
	"\ufeff{}", "{\"a\":\ttrue\r\n}", `{"a":tru}`, `{"a":nulll}`, `{"a":"unterminated}`,
	`{"n":12345678901234567890123456789}`, `{"a":{"b":{"c":[[[[[]]]]]}}}`,
}

func FuzzDecodeDocument(f *testing.F) {
	for _, s := range decodeSeeds {
		f.Add([]byte(s))
	}
	f.Add(fixture(f))
	f.Fuzz(func(t *testing.T, body []byte) {
		want, wantErr := stdDocument(body)
		got, err := Decode(body)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("%q: error %v, encoding/json says %v", body, err, wantErr)
		}
		if err == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("%q:\n got %#v\nwant %#v", body, got, want)
		}
	})
}

func TestDecodeDocumentDepth(t *testing.T) {
	t.Parallel()
	for _, n := range []int{MaxDepth - 1, MaxDepth, MaxDepth + 1} {
		body := []byte(`{"a":` + strings.Repeat("[", n-1) + strings.Repeat("]", n-1) + `}`)
		_, wantErr := stdDocument(body)
		_, err := Decode(body)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("depth %d: error %v, encoding/json says %v", n, err, wantErr)
		}
	}
}

func BenchmarkDecodeDocument(b *testing.B) {
	body := fixture(b)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := Decode(body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeDocumentEncodingJSON(b *testing.B) {
	body := fixture(b)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := stdDocument(body); err != nil {
			b.Fatal(err)
		}
	}
}
