package accept

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Body errors: what a body that cannot be decoded is refused with.
var (
	// ErrTooLarge is a body (or its decompressed or transcoded form) over the limit.
	ErrTooLarge = errors.New("too large")
	// ErrUnsupportedEncoding is a Content-Encoding other than gzip or identity.
	ErrUnsupportedEncoding = errors.New("unsupported content encoding")
	// ErrCorruptGzip is a body declared gzip that does not decompress.
	ErrCorruptGzip = errors.New("corrupt gzip stream")
)

// DecodeContent undoes the request's Content-Encoding (gzip or identity), refusing more than limit
// decompressed bytes, so a small gzip bomb cannot become a large body.
func DecodeContent(encoding string, raw []byte, limit int64) ([]byte, error) {
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "", "identity":
		if int64(len(raw)) > limit {
			return nil, ErrTooLarge
		}
		return raw, nil
	case "gzip", "x-gzip":
	default:
		return nil, fmt.Errorf("%w %q: send the body uncompressed or gzip-compressed", ErrUnsupportedEncoding, encoding)
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorruptGzip, err)
	}
	out := bytes.NewBuffer(make([]byte, 0, min(int64(len(raw))*4, limit)+1))
	if _, err := out.ReadFrom(io.LimitReader(zr, limit+1)); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorruptGzip, err)
	}
	if int64(out.Len()) > limit {
		return nil, ErrTooLarge
	}
	return out.Bytes(), nil
}
