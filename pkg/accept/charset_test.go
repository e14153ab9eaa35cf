package accept_test

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
	"golang.org/x/text/encoding/htmlindex"

	"github.com/saleassist-pipeline/pipeline/pkg/accept"
)

// encodeIn returns s encoded in charset (s must be representable there).
func encodeIn(tb testing.TB, charset, s string) []byte {
	tb.Helper()
	enc, err := htmlindex.Get(charset)
	require.NoError(tb, err, charset)
	b, err := enc.NewEncoder().Bytes([]byte(s))
	require.NoError(tb, err, charset)
	return b
}

// The charsets senders use beyond UTF-8, single- and multi-byte, stateful and not.
var charsets = []string{"utf-16le", "utf-16be", "shift_jis", "euc-jp", "iso-2022-jp", "gbk", "gb18030", "big5", "euc-kr",
	"iso-8859-1", "iso-8859-2", "iso-8859-7", "windows-1251", "koi8-r"}

// singleByte are the charsets in which every byte stands for a character.
var singleByte = map[string]bool{"iso-8859-1": true, "windows-1251": true, "koi8-r": true}

// idPieces returns random bytes for an id in charset: mostly what the charset holds, with the
// bytes that are invalid there (or lone UTF-16 surrogates) mixed in, where merges used to happen.
func idPieces(r *rand.Rand, charset string) []byte {
	var b []byte
	n := 1 + r.IntN(6)
	for range n {
		switch {
		case strings.HasPrefix(charset, "utf-16"):
			var u uint16
			switch r.IntN(4) {
			case 0:
				u = uint16('a' + r.IntN(26))
			case 1:
				u = uint16(0xd800 + r.IntN(0x800)) // a surrogate, paired or (mostly) lone
			case 2:
				u = uint16(0x4e00 + r.IntN(0x100))
			default:
				u = 0xfffd
			}
			if charset == "utf-16be" {
				b = append(b, byte(u>>8), byte(u))
			} else {
				b = append(b, byte(u), byte(u>>8))
			}
		default:
			switch r.IntN(3) {
			case 0:
				b = append(b, byte('a'+r.IntN(26)))
			default:
				b = append(b, byte(0x80+r.IntN(0x80)))
			}
		}
	}
	return b
}

// The property of issue 19's first case: for every supported charset, two different byte strings
// in the id's place never become the same event id. Either a body is refused (its charset cannot
// decode it exactly), or the ids differ. Before, a decoder that substitutes U+FFFD merged them:
// utf-16le ids differing only in a lone surrogate, shift_jis ids ending in invalid bytes.
func TestDifferentBytesNeverBecomeTheSameID(t *testing.T) {
	t.Parallel()
	for _, cs := range charsets {
		t.Run(cs, func(t *testing.T) {
			t.Parallel()
			r := rand.New(rand.NewPCG(1, uint64(len(cs))))
			pre := encodeIn(t, cs, `{"event_type":"x","payload":{"id":"`)
			post := encodeIn(t, cs, `"}}`)
			seen := map[string][]byte{} // id → the bytes that gave it
			accepted, refused := 0, 0
			for range 3000 {
				piece := idPieces(r, cs)
				body := append(append(append([]byte{}, pre...), piece...), post...)
				a, rej := accept.Body(accept.Request{ContentType: "application/json; charset=" + cs, Raw: body}, 1<<20)
				if rej != nil {
					refused++
					require.Contains(t, []string{"unsupported_media_type", "invalid_json", "invalid_envelope"}, rej.Code, "%s %x: %s", cs, piece, rej.Message)
					require.True(t, rej.Keep)
					continue
				}
				accepted++
				if prev, ok := seen[a.Head.ID]; ok && !bytes.Equal(prev, piece) {
					// JSON escapes name one character several ways ("\/" and "/"): that is JSON's, not
					// the charset's; the transcoded bodies must still differ.
					if !strings.Contains(a.Head.ID, `\`) && !bytes.Contains(a.Body, []byte(`\`)) {
						t.Fatalf("%s: bytes %x and %x both became id %q", cs, prev, piece, a.Head.ID)
					}
				}
				seen[a.Head.ID] = piece
			}
			// The test means something only if both branches were taken often.
			require.Greater(t, accepted, 100, "%s: accepted", cs)
			if !singleByte[cs] { // every byte is a character in these: nothing to refuse
				require.Greater(t, refused, 100, "%s: refused", cs)
			}
		})
	}
}

// The reported cases, exactly: each is refused (415) and names what to send instead.
func TestSubstitutingDecodesAreRefused(t *testing.T) {
	t.Parallel()
	u16 := func(units ...uint16) []byte {
		var b []byte
		for _, r := range `{"event_type":"x","payload":{"id":"a` {
			b = append(b, byte(r), 0)
		}
		for _, u := range units {
			b = append(b, byte(u), byte(u>>8))
		}
		for _, r := range `"}}` {
			b = append(b, byte(r), 0)
		}
		return b
	}
	for _, tc := range []struct {
		name, charset string
		body          []byte
	}{
		{"LoneHighSurrogate", "utf-16le", u16(0xd800)},
		{"LoneLowSurrogate", "utf-16le", u16(0xdc00)},
		{"OddLength", "utf-16le", append(u16(), '}')},
		{"ShiftJISInvalidTrail", "shift_jis", []byte(`{"event_type":"x","payload":{"id":"a` + "\x81\x20" + `"}}`)},
		{"ShiftJISInvalidByte", "shift_jis", []byte(`{"event_type":"x","payload":{"id":"a` + "\xa0\xfd" + `"}}`)},
		{"EUCJPTruncated", "euc-jp", []byte(`{"event_type":"x","payload":{"id":"a` + "\xa4" + `"}}`)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, rej := accept.Body(accept.Request{ContentType: "application/json; charset=" + tc.charset, Raw: tc.body}, 1<<20)
			require.NotNil(t, rej)
			require.Equal(t, 415, rej.Status)
			require.True(t, rej.Keep)
			require.ErrorIs(t, rej, accept.ErrNotInCharset)
			require.Contains(t, rej.Message, "UTF-8")
			require.Contains(t, rej.Message, "offset")
		})
	}
	// A valid pair and the real U+FFFD are text, and are accepted.
	for _, units := range [][]uint16{{0xd83d, 0xde00}, {0xfffd}} {
		a, rej := accept.Body(accept.Request{ContentType: "application/json; charset=utf-16le", Raw: u16(units...)}, 1<<20)
		require.Nil(t, rej)
		require.True(t, utf8.ValidString(a.Head.ID))
	}
}

// A byte order mark wins over the label and is dropped, for UTF-8 too (it used to be a 400: JSON
// readers refuse the mark), with or without a declared charset.
func TestByteOrderMarks(t *testing.T) {
	t.Parallel()
	doc := `{"event_type":"x","payload":{"id":"bom-é"}}`
	u16le, u16be := []byte{0xff, 0xfe}, []byte{0xfe, 0xff}
	for _, r := range doc {
		u16le = append(u16le, byte(r), byte(r>>8))
		u16be = append(u16be, byte(r>>8), byte(r))
	}
	for _, tc := range []struct {
		name, ct string
		raw      []byte
	}{
		{"UTF8NoCharset", "application/json", append([]byte{0xef, 0xbb, 0xbf}, doc...)},
		{"UTF8Declared", "application/json; charset=utf-8", append([]byte{0xef, 0xbb, 0xbf}, doc...)},
		{"UTF8UnderLatin1Label", "application/json; charset=iso-8859-1", append([]byte{0xef, 0xbb, 0xbf}, doc...)},
		{"UTF16LENoCharset", "", u16le},
		{"UTF16BEDeclaredUTF16", "application/json; charset=utf-16", u16be},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, rej := accept.Body(accept.Request{ContentType: tc.ct, Raw: tc.raw}, 1<<20)
			require.Nil(t, rej, "%v", rej)
			require.Equal(t, "bom-é", a.Head.ID)
			require.Equal(t, doc, string(a.Body))
		})
	}
}

// The one Content-Type parser: what it accepts, the charset it returns, and messages that say
// what is wrong (a header that cannot be parsed is not called "not JSON").
func TestMediaCharset(t *testing.T) {
	t.Parallel()
	for ct, want := range map[string]string{
		"": "", "application/json": "", "application/json; charset=UTF-8": "", "application/json;charset=utf8": "",
		"application/json; charset=US-ASCII": "", "application/vnd.api+json; charset=ISO-8859-1": "iso-8859-1",
		`application/json; charset="latin1"`: "latin1", "Application/JSON; Charset=UTF-16LE": "utf-16le",
	} {
		got, err := accept.MediaCharset(ct)
		require.NoError(t, err, ct)
		require.Equal(t, want, got, ct)
	}
	_, err := accept.MediaCharset("application/json; charset=iso-8859-1; foo")
	require.ErrorIs(t, err, accept.ErrContentType)
	require.Contains(t, err.Error(), "cannot be parsed")
	require.Contains(t, err.Error(), "charset is unknown")
	require.NotContains(t, err.Error(), "is not JSON")
	_, err = accept.MediaCharset("text/plain")
	require.ErrorIs(t, err, accept.ErrContentType)
	require.Contains(t, err.Error(), "is not JSON")
}

// Strict decoding costs nothing where bodies are valid: every charset's own text comes through.
func TestValidTextInEveryCharset(t *testing.T) {
	t.Parallel()
	texts := map[string]string{"shift_jis": "日本語", "euc-jp": "日本語", "iso-2022-jp": "日本語", "gbk": "中文", "gb18030": "中文😀",
		"big5": "中文", "euc-kr": "한국어", "iso-8859-1": "José Müller", "iso-8859-2": "Łódź", "iso-8859-7": "Αθήνα",
		"windows-1251": "Москва", "koi8-r": "Москва", "utf-16le": "José 😀", "utf-16be": "José 😀"}
	for _, cs := range charsets {
		name := texts[cs]
		require.NotEmpty(t, name, cs)
		doc := fmt.Sprintf(`{"event_type":"x","payload":{"id":"%s","people_detail":{"name":"%s"}}}`, name, name)
		a, rej := accept.Body(accept.Request{ContentType: "application/json; charset=" + cs, Raw: encodeIn(t, cs, doc)}, 1<<20)
		require.Nil(t, rej, "%s: %v", cs, rej)
		require.Equal(t, name, a.Head.ID, cs)
		require.Equal(t, doc, string(a.Body), cs)
	}
}

// FuzzTranscode: whatever bytes arrive under whatever charset label, Transcode never panics and
// either refuses (ErrUnsupportedCharset, ErrNotInCharset, or ErrTooLarge past the limit) or
// returns valid UTF-8 within the limit; UTF-8 and US-ASCII labels and no label return the body
// untouched, invalid bytes and all, unless it starts with a byte order mark; a Latin-1 body comes
// back as the same characters.
func FuzzTranscode(f *testing.F) {
	for _, s := range []struct {
		charset string
		body    string
	}{
		{"iso-8859-1", "{\"name\":\"Jos\xe9\"}"}, {"windows-1252", "\x93quoted\x94"}, {"utf-16", "\xff\xfe{\x00}\x00"},
		{"utf-16be", "\x00{"}, {"shift_jis", "\x82\xa0"}, {"utf-8", "\xff"}, {"", "\xff"}, {"us-ascii", "\x80"},
		{"iso-2022-kr", "x"}, {"x-klingon", "x"}, {"latin1", ""}, {"ibm037", "\xc1"}, {"gb18030", "\x81\x30\x81\x30"},
	} {
		f.Add(s.charset, []byte(s.body), uint16(64))
	}
	f.Fuzz(func(t *testing.T, charset string, body []byte, limit16 uint16) {
		limit := int64(limit16)
		got, err := accept.Transcode(charset, body, limit)
		switch charset {
		case "", "utf-8", "utf8", "us-ascii", "ascii":
			if bytes.HasPrefix(body, []byte{0xef, 0xbb, 0xbf}) || bytes.HasPrefix(body, []byte{0xff, 0xfe}) || bytes.HasPrefix(body, []byte{0xfe, 0xff}) {
				return // a byte order mark wins over the label: TestByteOrderMarks
			}
			if err != nil || !bytes.Equal(got, body) {
				t.Fatalf("charset %q changed the body: %q → %q, %v", charset, body, got, err)
			}
			return
		}
		if err != nil {
			if !errors.Is(err, accept.ErrUnsupportedCharset) && !errors.Is(err, accept.ErrNotInCharset) && !errors.Is(err, accept.ErrTooLarge) {
				t.Fatalf("charset %q: unexpected error %v", charset, err)
			}
			return
		}
		if !utf8.Valid(got) && !bytes.Equal(got, body) {
			t.Fatalf("charset %q: %q became invalid UTF-8 %q", charset, body, got)
		}
		if int64(len(got)) > limit && !bytes.Equal(got, body) {
			t.Fatalf("charset %q: %d bytes over the limit of %d", charset, len(got), limit)
		}
		if charset == "iso-8859-1" && len(body) > 0 && body[0] >= 0x20 && body[0] < 0x80 && got[0] != body[0] {
			t.Fatalf("ASCII %q changed to %q", body[0], got[0])
		}
	})
}
