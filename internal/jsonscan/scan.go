// Package jsonscan is the pipeline's one JSON reader: the grammar of RFC 8259 (whitespace,
// strings with their escapes, numbers, literals, the nesting limit) written once, as functions
// over a []byte and an index, for the two places that read JSON on the hot path:
//
//   - the ingest's head scan (the root package pipeline, scan.go): checks a body is valid JSON exactly as
//     encoding/json.Valid decides, and picks out event_type, payload and payload.id without
//     allocating;
//   - the worker's document decoder (Decode, decode.go here): the body as generic values,
//     exactly as encoding/json with UseNumber decodes it into a map[string]any, in one pass.
//
// Both agree with encoding/json by construction and by fuzzing (FuzzScanHead in the root
// package, FuzzDecodeDocument here). It imports only the standard library, so the domain package
// (the module root) may use it. encoding/json itself still serves where speed does not matter
// and its exact error texts are the answer (the ingest's slow path explaining a bad body, with
// line and column).
package jsonscan

import (
	"bytes"
	"encoding/binary"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// MaxDepth is encoding/json's nesting limit: arrays and objects nested deeper are invalid to it,
// so they are to both readers here.
const MaxDepth = 10000

// plain marks the bytes that need no attention inside a string: everything but '"', '\\' and
// control characters.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// Space returns the index of the first byte at or after i that is not JSON whitespace.
func Space(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// String checks the string whose opening quote is at b[i-1] and returns the index past its
// closing quote, and whether it holds an escape. On failure, end is where it went wrong.
// Bytes that are not UTF-8 are allowed, as encoding/json allows them.
func String(b []byte, i int) (end int, escaped, ok bool) {
	// Most strings hold neither escapes nor control characters: find the closing quote with
	// bytes.IndexByte (vectorized), then check the bytes before it eight at a time.
	if j := bytes.IndexByte(b[i:], '"'); j >= 0 && clean(b[i:i+j]) {
		return i + j + 1, false, true
	}
	for {
		for i < len(b) && plain[b[i]] {
			i++
		}
		if i >= len(b) {
			return i, escaped, false
		}
		switch c := b[i]; {
		case c == '"':
			return i + 1, escaped, true
		case c == '\\':
			escaped = true
			if i+1 >= len(b) {
				return i + 1, escaped, false
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				for k := 2; k < 6; k++ {
					if i+k >= len(b) || !isHex(b[i+k]) {
						return i + k, escaped, false
					}
				}
				i += 6
			default:
				return i + 1, escaped, false
			}
		default: // a control character
			return i, escaped, false
		}
	}
}

// clean reports whether b holds no backslash and no control character (a byte below 0x20).
func clean(b []byte) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	for len(b) >= 8 {
		x := binary.LittleEndian.Uint64(b)
		// A byte below 0x20 or equal to '\\' (0x5c) sets its high bit in one of these.
		if (x-0x20*ones)&^x&highs != 0 || (x^0x5c*ones-ones)&^(x^0x5c*ones)&highs != 0 {
			return false
		}
		b = b[8:]
	}
	for _, c := range b {
		if c < 0x20 || c == '\\' {
			return false
		}
	}
	return true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// Number checks the number starting at b[i] and returns the index past it (on failure, where
// it went wrong).
func Number(b []byte, i int) (int, bool) {
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i >= len(b):
		return i, false
	case b[i] == '0':
		i++
	case '1' <= b[i] && b[i] <= '9':
		i = digits(b, i+1)
	default:
		return i, false
	}
	if i < len(b) && b[i] == '.' {
		j := digits(b, i+1)
		if j == i+1 {
			return j, false
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := digits(b, i)
		if j == i {
			return j, false
		}
		i = j
	}
	return i, true
}

func digits(b []byte, i int) int {
	for i < len(b) && '0' <= b[i] && b[i] <= '9' {
		i++
	}
	return i
}

// Literal checks that word (true, false or null) starts at b[i] and returns the index past it
// (on failure, the first byte that differs).
func Literal(b []byte, i int, word string) (int, bool) {
	for k := 0; k < len(word); k++ {
		if i+k >= len(b) || b[i+k] != word[k] {
			return i + k, false
		}
	}
	return i + len(word), true
}

// unescaped maps the letter of a one-letter JSON escape to the byte it stands for.
var unescaped = [256]byte{'"': '"', '\\': '\\', '/': '/', 'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t'}

// AppendUnquoted appends the text of raw, the inside of a string String accepted (between its
// quotes), to dst as encoding/json unquotes it: escapes decoded, a surrogate pair joined, an
// unpaired surrogate and every byte that is not UTF-8 replaced by U+FFFD.
func AppendUnquoted(dst, raw []byte) []byte {
	for i := 0; i < len(raw); {
		c := raw[i]
		switch {
		case c == '\\':
			if e := raw[i+1]; e != 'u' {
				dst = append(dst, unescaped[e])
				i += 2
				continue
			}
			r := hex4(raw[i+2 : i+6])
			i += 6
			if utf16.IsSurrogate(r) {
				// A valid pair takes the next escape too; anything else is U+FFFD, and the next
				// escape (if any) is read on its own.
				if i+6 <= len(raw) && raw[i] == '\\' && raw[i+1] == 'u' {
					if dec := utf16.DecodeRune(r, hex4(raw[i+2:i+6])); dec != unicode.ReplacementChar {
						dst = utf8.AppendRune(dst, dec)
						i += 6
						continue
					}
				}
				r = unicode.ReplacementChar
			}
			dst = utf8.AppendRune(dst, r)
		case c < utf8.RuneSelf:
			dst = append(dst, c)
			i++
		default:
			r, size := utf8.DecodeRune(raw[i:])
			if r == utf8.RuneError && size == 1 {
				dst = utf8.AppendRune(dst, unicode.ReplacementChar)
			} else {
				dst = append(dst, raw[i:i+size]...)
			}
			i += size
		}
	}
	return dst
}

// hex4 is the value of four hex digits String has checked.
func hex4(h []byte) rune {
	var r rune
	for _, c := range h {
		switch {
		case c <= '9':
			c -= '0'
		case c >= 'a':
			c = c - 'a' + 10
		default:
			c = c - 'A' + 10
		}
		r = r*16 + rune(c)
	}
	return r
}
