package ingest

import (
	"net/http/httptest"
	"testing"
)

// TestWriteAccepted checks that the hand-written 202 is byte for byte what encoding/json makes
// of the same answer, for plain ids and for ids that need escaping.
func TestWriteAccepted(t *testing.T) {
	for _, id := range []string{
		"1234", "ev-1_2.3:4", "ABCxyz", "", `a"b`, `a\b`, "<script>", "a&b", "é", "a b", "a\u2028b", "a/b",
	} {
		for _, dup := range []bool{false, true} {
			got, want := httptest.NewRecorder(), httptest.NewRecorder()
			writeAccepted(got, id, dup)
			writeJSON(want, 202, accepted{Status: "accepted", EventID: id, Duplicate: dup})
			if got.Body.String() != want.Body.String() || got.Code != want.Code {
				t.Errorf("id %q duplicate %v: wrote %d %q, encoding/json %d %q", id, dup, got.Code, got.Body, want.Code, want.Body)
			}
			for _, h := range []string{"Content-Type", "Content-Length"} {
				if got.Header().Get(h) != want.Header().Get(h) {
					t.Errorf("id %q: %s %q, want %q", id, h, got.Header().Get(h), want.Header().Get(h))
				}
			}
		}
	}
}
