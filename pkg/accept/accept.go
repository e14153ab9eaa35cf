// Package accept decides whether an authenticated request's body is an event the pipeline takes:
// it undoes the Content-Encoding, reads the declared charset, transcodes to UTF-8 and parses the
// envelope's head. The webhook and the quarantine replay both call Body, so a body kept in
// quarantine is replayed exactly as the webhook would have read it, or refused again with the
// same reason.
package accept

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/saleassist-pipeline/pipeline"
)

// DefaultMaxBody is the largest body taken unless MAX_BODY_BYTES says otherwise (1 MiB): the
// webhook's limit, and so a quarantine replay's. It lives here, not in pkg/ingest, so that the
// console, which replays, does not link the ingest's request path.
const DefaultMaxBody = 1 << 20

// Request is what Body needs of a request: its raw bytes as received and the two headers that say
// how to read them.
type Request struct {
	// ContentType is the Content-Type header ("" when absent).
	ContentType string
	// ContentEncoding is the Content-Encoding header ("" when absent).
	ContentEncoding string
	// Raw is the body exactly as received (what the signature covers, and what quarantine keeps).
	Raw []byte
}

// FromHeader is the Request of raw with header h.
func FromHeader(h http.Header, raw []byte) Request {
	return Request{ContentType: h.Get("Content-Type"), ContentEncoding: h.Get("Content-Encoding"), Raw: raw}
}

// Accepted is a body the pipeline takes: its head and the body as UTF-8, the form that is stored.
type Accepted struct {
	Head pipeline.Head
	// Body is the decoded body; it may share memory with Request.Raw.
	Body []byte
}

// Rejection is why a body is not taken: the HTTP status and contract error code to answer with, a
// message that says what was wrong and how to fix it, and whether the request is worth keeping in
// quarantine for replay.
type Rejection struct {
	Status  int
	Code    string
	Message string
	// Keep is false only where keeping cannot help: an empty body, or one over the size limit.
	Keep bool
	// Err is the underlying error (ErrTooLarge, ErrNotInCharset, an *pipeline.SyntaxError, …).
	Err error
}

// Error is the rejection's message.
func (r *Rejection) Error() string { return r.Code + ": " + r.Message }

// Unwrap returns the underlying error.
func (r *Rejection) Unwrap() error { return r.Err }

// Body reads req as the pipeline does, with at most limit bytes after decompression and
// transcoding, and returns the accepted event or the rejection. It never returns both nil.
func Body(req Request, limit int64) (Accepted, *Rejection) {
	if len(req.Raw) == 0 {
		return Accepted{}, &Rejection{Status: http.StatusBadRequest, Code: "invalid_body",
			Message: `the body is empty; send the event as JSON {"event_type": "...", "payload": {...}}`}
	}
	charset, err := MediaCharset(req.ContentType)
	if err != nil {
		return Accepted{}, unsupported(err)
	}
	body, err := DecodeContent(req.ContentEncoding, req.Raw, limit)
	switch {
	case errors.Is(err, ErrTooLarge):
		return Accepted{}, tooLarge(limit)
	case errors.Is(err, ErrUnsupportedEncoding):
		return Accepted{}, unsupported(err)
	case err != nil:
		return Accepted{}, &Rejection{Status: http.StatusBadRequest, Code: "invalid_gzip", Keep: true, Err: err,
			Message: err.Error() + "; send a complete gzip stream, or the body uncompressed"}
	}
	// The common case (UTF-8, no byte order mark) returns body itself, without a call.
	if charset != "" || len(body) > 0 && (body[0] == 0xef || body[0] == 0xfe || body[0] == 0xff) {
		body, err = Transcode(charset, body, limit)
		switch {
		case errors.Is(err, ErrTooLarge):
			return Accepted{}, tooLarge(limit)
		case err != nil:
			return Accepted{}, unsupported(err)
		}
	}
	head, err := pipeline.ParseHead(body)
	if err != nil {
		var se *pipeline.SyntaxError
		if errors.As(err, &se) {
			return Accepted{}, &Rejection{Status: http.StatusBadRequest, Code: "invalid_json", Keep: true, Err: err,
				Message: err.Error() + "; send the event as a JSON object"}
		}
		return Accepted{}, &Rejection{Status: http.StatusUnprocessableEntity, Code: "invalid_envelope", Keep: true, Err: err, Message: err.Error()}
	}
	return Accepted{Head: head, Body: body}, nil
}

func unsupported(err error) *Rejection {
	return &Rejection{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type", Keep: true, Err: err, Message: err.Error()}
}

func tooLarge(limit int64) *Rejection {
	return &Rejection{Status: http.StatusRequestEntityTooLarge, Code: "too_large", Err: ErrTooLarge, Message: TooLargeMessage(limit)}
}

// TooLargeMessage says that a body is over limit bytes, and what to do.
func TooLargeMessage(limit int64) string {
	return fmt.Sprintf("the body is larger than %d bytes (MAX_BODY_BYTES, applied after decompression and transcoding to UTF-8); send smaller events or raise the limit", limit)
}
