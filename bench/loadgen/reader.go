package loadgen

import (
	"bytes"
	"io"
)

// bytesReader wraps buf for a request body. net/http recognises *bytes.Reader, sets
// Content-Length and can rewind it (GetBody) if a kept-alive connection turns out closed.
func bytesReader(buf []byte) io.Reader { return bytes.NewReader(buf) }
