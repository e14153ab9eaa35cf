package ingest

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"

	"github.com/saleassist-pipeline/pipeline/pkg/accept"
)

// readBody reads at most limit bytes of the raw request body. It returns accept.ErrTooLarge past the
// limit, never buffering more than limit+1 bytes.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, accept.ErrTooLarge
	}
	size := r.ContentLength
	if size < 0 || size > limit {
		size = 512
	}
	body, err := readAll(http.MaxBytesReader(w, r.Body, limit), getBody(int(size)+1))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, accept.ErrTooLarge
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
