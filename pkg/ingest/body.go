package ingest

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// Body errors: what a body that cannot be decoded gets answered with.
var (
	// ErrTooLarge is a body (or its decompressed form) over the limit.
	ErrTooLarge = errors.New("too large")
	// ErrUnsupportedEncoding is a Content-Encoding other than gzip or identity.
	ErrUnsupportedEncoding = errors.New("unsupported content encoding")
	// ErrCorruptGzip is a body declared gzip that does not decompress.
	ErrCorruptGzip = errors.New("corrupt gzip stream")
)

// readBody reads at most limit bytes of the raw request body. It returns ErrTooLarge past the
// limit, never buffering more than limit+1 bytes.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, ErrTooLarge
	}
	size := r.ContentLength
	if size < 0 || size > limit {
		size = 512
	}
	body, err := readAll(http.MaxBytesReader(w, r.Body, limit), getBody(int(size)+1))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, ErrTooLarge
	}
	if err != nil {
		return nil, fmt.Errorf("could not read the request body: %w", err)
	}
	return body, nil
}

// Body buffers are reused: a request's body was the largest allocation on the request path, and
// garbage collection a tenth of the ingest's CPU under load. Buffers up to maxPooledBody are
// kept; larger ones (rare, up to MAX_BODY_BYTES) are left to the collector, so the pool holds
// little memory.
const maxPooledBody = 64 << 10

var bodies sync.Pool

// getBody returns an empty buffer with room for at least n bytes.
func getBody(n int) []byte {
	if n <= maxPooledBody {
		if b, ok := bodies.Get().(*[]byte); ok {
			if cap(*b) >= n {
				return (*b)[:0]
			}
			bodies.Put(b)
		}
		n = max(n, 8<<10)
	}
	return make([]byte, 0, n)
}

// putBody gives a body back for reuse. Only a body nothing refers to any more may be given back:
// the webhook handler does so once JetStream has acknowledged the event (a publish that failed may
// still be resent from it by the client).
func putBody(b []byte) {
	if cap(b) <= maxPooledBody {
		bodies.Put(&b)
	}
}

// readAll reads r to the end into buf, growing it as needed.
func readAll(r io.Reader, buf []byte) ([]byte, error) {
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

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
	out, err := readAll(io.LimitReader(zr, limit+1), make([]byte, 0, min(int64(len(raw))*4, limit)+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorruptGzip, err)
	}
	if int64(len(out)) > limit {
		return nil, ErrTooLarge
	}
	return out, nil
}

func tooLarge(limit int64) string {
	return fmt.Sprintf("the body is larger than %d bytes (MAX_BODY_BYTES, applied after decompression and transcoding to UTF-8); send smaller events or raise the limit", limit)
}

// checkContentType accepts JSON (with any parameters) and a missing type, and returns the
// declared charset ("" for none, or for what the common case spells "utf-8"); msg says what is
// wrong otherwise.
func checkContentType(ct string) (charset, msg string) {
	// What senders send (SaleAssist: "application/json; charset=UTF-8"), without parsing: this
	// runs on every request, and ParseMediaType allocates.
	if ct == "" || ct == "application/json" || strings.EqualFold(ct, "application/json; charset=utf-8") {
		return "", ""
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err == nil && (mt == "application/json" || strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json")) {
		return strings.ToLower(strings.TrimSpace(params["charset"])), ""
	}
	return "", "Content-Type " + strconv.Quote(ct) + " is not accepted; send application/json"
}
