package ingest

import (
	"errors"
	"fmt"
	"mime"
	"strconv"
	"strings"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/ianaindex"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// ErrUnsupportedCharset is a Content-Type charset the ingest does not know how to read.
var ErrUnsupportedCharset = errors.New("unsupported charset")

// ContentCharset returns the charset parameter of a Content-Type, lower-cased, or "" when there
// is none (or the header cannot be parsed).
func ContentCharset(contentType string) string {
	_, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return ""
	}
	return strings.ToLower(strings.TrimSpace(params["charset"]))
}

// Transcode returns body, declared in charset, as UTF-8: the form the pipeline stores and every
// JSON reader expects. A body with no charset, or declared UTF-8 or US-ASCII, is returned as it
// is (undeclared invalid UTF-8 is kept byte for byte, as always). Any other charset is looked up
// by its WHATWG label (what senders mean by "iso-8859-1" is windows-1252, a superset), then by
// its IANA name; one neither knows, or one that has no decoder, is ErrUnsupportedCharset. The
// UTF-8 form may be longer than the body (Latin-1 letters take two bytes): more than limit bytes
// is ErrTooLarge.
func Transcode(charset string, body []byte, limit int64) ([]byte, error) {
	switch charset {
	case "", "utf-8", "utf8", "us-ascii", "ascii":
		return body, nil
	}
	enc, err := htmlindex.Get(charset)
	if err != nil {
		enc, err = ianaindex.IANA.Encoding(charset)
	}
	if err != nil || enc == nil || enc == encoding.Replacement {
		return nil, fmt.Errorf("%w %s: send the body as UTF-8 (Content-Type: application/json; charset=utf-8), or in a charset such as iso-8859-1, windows-1252 or utf-16",
			ErrUnsupportedCharset, strconv.Quote(charset))
	}
	if enc == unicode.UTF8 {
		return body, nil
	}
	// A byte order mark says more than the label (and JSON readers refuse it): it is followed,
	// and dropped.
	out, _, err := transform.Bytes(unicode.BOMOverride(enc.NewDecoder()), body)
	if err != nil {
		return nil, fmt.Errorf("%w %s: the body could not be read in it (%v); send it as UTF-8", ErrUnsupportedCharset, strconv.Quote(charset), err)
	}
	if int64(len(out)) > limit {
		return nil, ErrTooLarge
	}
	return out, nil
}
