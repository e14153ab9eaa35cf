package jsonscan

import (
	"strings"
	"testing"
)

// TestClean checks the eight-bytes-at-a-time test for backslashes and control characters at
// every position of strings up to 24 bytes, with the bytes around the ones it looks for.
func TestClean(t *testing.T) {
	for n := 0; n <= 24; n++ {
		for pos := 0; pos < n; pos++ {
			for _, c := range []byte{0x00, 0x01, 0x1f, 0x20, 0x21, '\\', 0x5b, 0x5d, 0x7f, 0x80, 0x9c, 0xa0, 0xdc, 0xff} {
				b := []byte(strings.Repeat("a", n))
				b[pos] = c
				want := c >= 0x20 && c != '\\'
				if got := clean(b); got != want {
					t.Fatalf("clean(%q) = %v, want %v", b, got, want)
				}
			}
		}
	}
}
