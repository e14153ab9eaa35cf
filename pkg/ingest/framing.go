package ingest

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"sync/atomic"
)

// A request carrying both Content-Length and Transfer-Encoding is framed two ways: net/http
// follows Transfer-Encoding and deletes Content-Length from the header before any handler runs
// (net/http/transfer.go, fixLength), while a proxy in front may have followed Content-Length. The
// bytes after the chunked body would then be served as a second request the proxy never saw
// (request smuggling). RFC 9112 §6.3 asks the server to close the connection after answering such
// a request; we answer it 400 as well. Since the handler cannot see the deleted header, the
// connection itself is watched: GuardFraming wraps the listener so that each connection notes,
// per request header block, which of the two headers it carried.
//
// The watcher follows requests only as far as it can frame them without a second HTTP parser:
// header blocks, and bodies of Content-Length bytes. At the first header block with a
// Transfer-Encoding it stops; from then on every answer on that connection closes it, so no
// request it did not see is ever served on it. A chunked request (rare from webhook senders) thus
// costs its sender a new connection.

// GuardFraming returns ln wrapped so that the ingest's handler can tell a request that carried
// both Content-Length and Transfer-Encoding, and installs the hook that lets it (srv.ConnContext,
// chained after any already set). Serve srv on the returned listener.
func GuardFraming(srv *http.Server, ln net.Listener) net.Listener {
	prev := srv.ConnContext
	srv.ConnContext = func(ctx context.Context, c net.Conn) context.Context {
		if prev != nil {
			ctx = prev(ctx, c)
		}
		if fc, ok := c.(*framedConn); ok {
			ctx = context.WithValue(ctx, framingKey{}, fc)
		}
		return ctx
	}
	return framingListener{ln}
}

type framingKey struct{}

type framingListener struct{ net.Listener }

func (l framingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &framedConn{Conn: c}, nil
}

// framedConn watches the requests read from a connection. Its reading state is touched only by
// Read, which net/http never calls from two goroutines at once; what the handler asks is atomic.
type framedConn struct {
	net.Conn
	// stopped: a header block with Transfer-Encoding was read; ambiguous: it had Content-Length too.
	stopped, ambiguous atomic.Bool

	inBody      int64 // body bytes still to skip
	lines       int   // lines of the current header block so far
	line        [32]byte
	n           int // bytes of the current line (those past len(line) are not kept)
	hasCL, hasT bool
	cl          int64
}

func (c *framedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 && !c.stopped.Load() {
		c.watch(p[:n])
	}
	return n, err
}

// watch follows the bytes b of the request stream.
func (c *framedConn) watch(b []byte) {
	for len(b) > 0 {
		if c.inBody > 0 {
			skip := min(c.inBody, int64(len(b)))
			c.inBody -= skip
			b = b[skip:]
			continue
		}
		// The rest of the current header line: found with bytes.IndexByte (vectorized), and only
		// its start kept, which is all a header name needs.
		end := bytes.IndexByte(b, '\n')
		part := b
		if end >= 0 {
			part = b[:end]
		}
		if c.n < len(c.line) {
			copy(c.line[c.n:], part)
		}
		c.n += len(part)
		if end < 0 {
			return
		}
		b = b[end+1:]
		if c.endLine() {
			return
		}
	}
}

// endLine takes the line just ended; it reports whether watching stops.
func (c *framedConn) endLine() bool {
	line := c.line[:min(c.n, len(c.line))]
	full := c.n
	c.n = 0
	if full > 0 && line[len(line)-1] == '\r' && full <= len(c.line) {
		line = line[:len(line)-1]
		full--
	}
	if full == 0 {
		if c.lines == 0 {
			return false // a blank line before a request line
		}
		// The end of a header block.
		c.lines = 0
		if c.hasT {
			c.ambiguous.Store(c.hasCL)
			c.stopped.Store(true)
			return true
		}
		c.inBody, c.hasCL, c.cl = c.cl, false, 0
		return false
	}
	c.lines++
	if c.lines == 1 {
		return false // the request line
	}
	switch {
	case hasName(line, "content-length:"):
		if !c.hasCL {
			c.hasCL, c.cl = true, digits(line[len("content-length:"):])
		}
	case hasName(line, "transfer-encoding:"):
		c.hasT = true
	}
	return false
}

// hasName reports whether line starts with name (lower-case, colon included), in any case.
func hasName(line []byte, name string) bool {
	if len(line) < len(name) {
		return false
	}
	for i := 0; i < len(name); i++ {
		if line[i]|0x20 != name[i] && line[i] != name[i] {
			return false
		}
	}
	return true
}

// digits is the decimal number v holds, around optional white space; anything else (net/http
// refuses it and closes the connection) counts as 0.
func digits(v []byte) int64 {
	var n int64
	seen := false
	for _, ch := range v {
		switch {
		case ch >= '0' && ch <= '9' && n < 1<<40:
			n, seen = n*10+int64(ch-'0'), true
		case ch == ' ' || ch == '\t' || ch == '\r':
		default:
			return 0
		}
	}
	if !seen {
		return 0
	}
	return n
}

// checkFraming answers a request whose framing was ambiguous (400, connection closed) and
// reports true; on a connection where GuardFraming stopped watching, any other answer closes the
// connection too.
func checkFraming(w http.ResponseWriter, r *http.Request) bool {
	fc, _ := r.Context().Value(framingKey{}).(*framedConn)
	if fc == nil || !fc.stopped.Load() {
		return false
	}
	w.Header().Set("Connection", "close")
	// A request net/http read as chunked is the block the watcher stopped at: it is the first
	// with a Transfer-Encoding, and every answer after it closes the connection.
	if len(r.TransferEncoding) == 0 || !fc.ambiguous.Load() {
		return false
	}
	writeError(w, http.StatusBadRequest, "ambiguous_framing",
		"the request carries both Content-Length and Transfer-Encoding, which can be read as different requests (RFC 9112 section 6.3); "+
			"send one of the two (Content-Length, or Transfer-Encoding: chunked alone); the connection is closed")
	return true
}
