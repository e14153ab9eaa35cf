package accept

import (
	"bytes"
	"errors"
	"fmt"
	"mime"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/ianaindex"
	"golang.org/x/text/encoding/unicode"
)

// Charset errors: what a body that cannot be read as text is refused with (415, kept).
var (
	// ErrUnsupportedCharset is a Content-Type charset the pipeline does not know how to read.
	ErrUnsupportedCharset = errors.New("unsupported charset")
	// ErrNotInCharset is a body that its declared charset cannot decode exactly: bytes that are
	// invalid there, or that are not the charset's own (canonical) spelling of the text they
	// stand for. A decoder would replace them with U+FFFD, or with a character other bytes
	// also give, so two different bodies (and ids) could become one.
	ErrNotInCharset = errors.New("not valid in its declared charset")
	// ErrContentType is a Content-Type that is not JSON, or cannot be parsed.
	ErrContentType = errors.New("unsupported content type")
)

// MediaCharset checks a Content-Type header and returns its declared charset, lower-cased, or ""
// when none is declared or it is UTF-8. JSON (application/json, application/*+json, with any
// parameters) and a missing header are accepted; anything else, including a header whose
// parameters cannot be parsed (so that its charset is unknown), is ErrContentType with a message
// saying what to send. It is the pipeline's one Content-Type parser.
func MediaCharset(contentType string) (string, error) {
	// What senders send (SaleAssist: "application/json; charset=UTF-8"), without parsing: this
	// runs on every request, and ParseMediaType allocates.
	if contentType == "" || contentType == "application/json" || strings.EqualFold(contentType, "application/json; charset=utf-8") {
		return "", nil
	}
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return "", fmt.Errorf("%w: Content-Type %s cannot be parsed (%v), so the body's charset is unknown; send Content-Type: application/json; charset=utf-8",
			ErrContentType, strconv.Quote(contentType), err)
	}
	if mt != "application/json" && !(strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json")) {
		return "", fmt.Errorf("%w: Content-Type %s is not JSON; send the event as application/json (charset=utf-8)",
			ErrContentType, strconv.Quote(contentType))
	}
	cs := strings.ToLower(strings.TrimSpace(params["charset"]))
	if isUTF8(cs) {
		return "", nil
	}
	return cs, nil
}

// isUTF8 says whether a charset label means the body is read as it is: none, UTF-8 or ASCII.
func isUTF8(charset string) bool {
	switch charset {
	case "", "utf-8", "utf8", "us-ascii", "ascii":
		return true
	}
	return false
}

// Byte order marks. A mark says more than the label (WHATWG's decode does the same), and JSON
// readers refuse it: it is followed, and dropped.
var (
	bomUTF8    = []byte{0xef, 0xbb, 0xbf}
	bomUTF16LE = []byte{0xff, 0xfe}
	bomUTF16BE = []byte{0xfe, 0xff}
)

// Transcode returns body, declared in charset, as UTF-8: the form the pipeline stores and every
// JSON reader expects.
//
//   - A byte order mark at the start wins over the label and is dropped: UTF-8's, UTF-16LE's or
//     UTF-16BE's.
//   - With no charset, or UTF-8 or US-ASCII declared, the body is returned as it is (undeclared
//     invalid UTF-8 is kept byte for byte, as always; ids and types must still be valid UTF-8).
//   - Any other charset is looked up by its WHATWG label (what senders mean by "iso-8859-1" is
//     windows-1252, a superset), then by its IANA name; one neither knows, or one with no
//     decoder, is ErrUnsupportedCharset.
//   - The body must decode exactly: encoding the text back must give the same bytes. Otherwise
//     (bytes invalid in the charset, a lone UTF-16 surrogate, an odd UTF-16 length, a
//     non-canonical spelling) it is ErrNotInCharset, naming the offset of the first such byte.
//     Decoders replace such bytes with U+FFFD, which would merge different ids into one.
//
// The UTF-8 form may be longer than the body (Latin-1 letters take two bytes): more than limit
// bytes is ErrTooLarge.
func Transcode(charset string, body []byte, limit int64) ([]byte, error) {
	var enc encoding.Encoding
	switch {
	case bytes.HasPrefix(body, bomUTF8):
		body, charset = body[len(bomUTF8):], "utf-8"
	case bytes.HasPrefix(body, bomUTF16LE):
		body, charset, enc = body[len(bomUTF16LE):], "utf-16le", unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM)
	case bytes.HasPrefix(body, bomUTF16BE):
		body, charset, enc = body[len(bomUTF16BE):], "utf-16be", unicode.UTF16(unicode.BigEndian, unicode.IgnoreBOM)
	}
	if isUTF8(charset) {
		return body, nil
	}
	if enc == nil {
		var err error
		if enc, err = lookup(charset); err != nil {
			return nil, err
		}
		if enc == unicode.UTF8 {
			return body, nil
		}
	}
	out, err := enc.NewDecoder().Bytes(body)
	if err != nil {
		return nil, fmt.Errorf("%w: the body could not be read as %s (%v); send it as UTF-8", ErrNotInCharset, strconv.Quote(charset), err)
	}
	back, err := enc.NewEncoder().Bytes(out)
	if err != nil || !bytes.Equal(back, body) {
		return nil, fmt.Errorf("%w: bytes from offset %d of the body are not valid %s text (a decoder would replace them, "+
			"and different bodies could become the same event); send the body as UTF-8 (Content-Type: application/json; charset=utf-8)",
			ErrNotInCharset, firstDifference(body, out, enc), charset)
	}
	if int64(len(out)) > limit {
		return nil, ErrTooLarge
	}
	return out, nil
}

// lookup finds the encoding a charset label names.
func lookup(charset string) (encoding.Encoding, error) {
	enc, err := htmlindex.Get(charset)
	if err != nil {
		enc, err = ianaindex.IANA.Encoding(charset)
	}
	if err != nil || enc == nil || enc == encoding.Replacement {
		return nil, fmt.Errorf("%w %s: send the body as UTF-8 (Content-Type: application/json; charset=utf-8), or in a charset such as iso-8859-1, windows-1252 or utf-16",
			ErrUnsupportedCharset, strconv.Quote(charset))
	}
	return enc, nil
}

// firstDifference is the offset in body of the first byte that does not survive decoding and
// encoding again: each decoded rune is encoded back and compared with the bytes it came from.
func firstDifference(body, decoded []byte, enc encoding.Encoding) int {
	e := enc.NewEncoder()
	off := 0
	for len(decoded) > 0 {
		_, size := utf8.DecodeRune(decoded)
		back, err := e.Bytes(decoded[:size])
		if err != nil || !bytes.HasPrefix(body[off:], back) {
			return off
		}
		off += len(back)
		decoded = decoded[size:]
	}
	return off
}
