package pipeline

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"unicode/utf8"

	"github.com/saleassist-pipeline/pipeline/internal/jsonscan"
)

// MaxIDLen bounds an event id taken from payload.id: it travels as the Nats-Msg-Id header and is
// the store's unique key.
const MaxIDLen = 256

// MaxDepth is how deeply an accepted body may nest objects and arrays, the envelope itself being
// level 1. The body is stored as received and its fields are copied into leads.attributes, where
// operators query them with SQLite's JSON functions, which refuse documents nested more than 1000
// levels deep (PostgreSQL's jsonb stops at a few thousand): one deep event would break
// json_extract for the whole table. 512 leaves room under both, and no real event comes near it.
const MaxDepth = 512

// Head is what the ingest needs of an envelope on the request path: which event it is and how to
// route it. The rest of the body is left for the worker to decode.
type Head struct {
	// Type is event_type, unchanged.
	Type string
	// ID is payload.id (a number as its decimal string), or the hex SHA-256 of the whole body
	// when payload.id is absent, null or empty, so that exact re-sends still dedupe.
	ID string
	// IDFromBody says whether ID is the body hash rather than payload.id.
	IDFromBody bool
	// ClientID is payload.client_id, the SaleAssist account the sender says the event belongs
	// to: a string's text, a number as written; "" when it is absent or of another kind. The
	// ingest refuses an event whose client id is not one of its URL's account's (wrong_account).
	ClientID string
}

// SyntaxError says a body is not valid JSON, and where.
type SyntaxError struct {
	Line, Column int
	Msg          string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("body is not valid JSON: %s at line %d, column %d", e.Msg, e.Line, e.Column)
}

// EnvelopeError says a body is JSON but not a SaleAssist envelope, naming the field at fault.
type EnvelopeError struct {
	Field string
	Msg   string
}

func (e *EnvelopeError) Error() string {
	if e.Field == "" {
		return e.Msg
	}
	return e.Field + ": " + e.Msg
}

// wire is the part of the envelope ParseHead decodes, to check the body and the members' types;
// everything else is skipped by the decoder without being stored. The values themselves are then
// taken with lastMember, since the decoder matches keys case-insensitively.
type wire struct {
	EventType json.RawMessage `json:"event_type"`
	Payload   *struct {
		ID json.RawMessage `json:"id"`
	} `json:"payload"`
}

// ParseHead checks that body is a SaleAssist envelope ({"event_type": "...", "payload": {...}})
// and returns its event type and id. Errors are *SyntaxError or *EnvelopeError.
func ParseHead(body []byte) (Head, error) {
	if rawType, payload, rawID, rawClient, levels, ok := scanHead(body); ok && len(rawType) > 0 && rawType[0] == '"' && len(payload) > 0 {
		typ, err := typeText(rawType)
		if err != nil {
			return Head{}, err
		}
		return head(body, typ, rawID, rawClient, levels)
	}
	return parseHeadSlow(body)
}

// parseHeadSlow is ParseHead for what scanHead leaves: invalid JSON, bodies of the wrong shape,
// escaped or differently cased keys. It explains every failure. It is the one place that still
// reads JSON with encoding/json, on purpose: its errors (with line and column, from classify) and
// its case-insensitive struct matching are what a sender is told, and a body only gets here when
// the scanner refused it or needs that matching.
func parseHeadSlow(body []byte) (Head, error) {
	var w wire
	if err := json.Unmarshal(body, &w); err != nil {
		return Head{}, classify(body, err)
	}
	// The members as the worker's map decode reads them: exact keys, the last one winning.
	rawType, _ := lastMember(body, "event_type")
	payload, _ := lastMember(body, "payload")
	if len(rawType) == 0 || string(rawType) == "null" {
		return Head{}, &EnvelopeError{Field: "event_type", Msg: `is missing: the body must be {"event_type": "...", "payload": {...}}`}
	}
	typ, err := typeText(rawType)
	if err != nil {
		return Head{}, err
	}
	if len(payload) == 0 || string(payload) == "null" {
		return Head{}, &EnvelopeError{Field: "payload", Msg: "is missing or null: it must be an object holding the event"}
	}
	rawID, _ := lastMember(payload, "id")
	rawClient, _ := lastMember(payload, "client_id")
	return head(body, typ, rawID, rawClient, nesting(body))
}

// typeText turns the raw event_type member into text, rejecting what cannot travel as a NATS
// subject token and header.
func typeText(raw []byte) (string, error) {
	if !utf8.Valid(raw) {
		// json.Unmarshal would quietly turn invalid bytes into U+FFFD, hiding them from checkText.
		return "", &EnvelopeError{Field: "event_type", Msg: "is not valid UTF-8"}
	}
	if raw[0] != '"' {
		return "", &EnvelopeError{Field: "event_type", Msg: "must be a string, got " + kind(raw)}
	}
	typ, err := stringText("event_type", raw)
	if err != nil {
		return "", err
	}
	if err := checkText("event_type", typ, MaxEventTypeLen); err != nil {
		return "", err
	}
	return typ, nil
}

// stringText is the text of raw, field's value: a JSON string the scanner (or encoding/json, on
// the slow path) has checked. Without escapes it is its own bytes, else it is unquoted by
// jsonscan as the worker's decoder unquotes it. An escape of a lone surrogate is refused: decoded, it would become U+FFFD, and
// two different ids could become one.
func stringText(field string, raw []byte) (string, error) {
	inner := raw[1 : len(raw)-1]
	if bytes.IndexByte(inner, '\\') < 0 {
		return string(inner), nil
	}
	if loneSurrogate(raw) {
		return "", surrogateError(field)
	}
	return string(jsonscan.AppendUnquoted(nil, inner)), nil
}

// head returns the Head of a valid envelope body with event type typ, raw payload.id rawID and
// payload.client_id rawClient (nil when absent) and nesting levels deep.
func head(body []byte, typ string, rawID, rawClient []byte, levels int) (Head, error) {
	if levels > MaxDepth {
		return Head{}, &EnvelopeError{Msg: fmt.Sprintf("the body nests objects and arrays %d levels deep; at most %d are accepted, "+
			"since SQLite's JSON functions cannot read documents nested 1000 levels deep: flatten the deepest values, or send them as a JSON string", levels, MaxDepth)}
	}
	h := Head{Type: typ, ClientID: clientIDText(rawClient)}
	id, err := idText(rawID)
	if err != nil {
		return Head{}, err
	}
	if id == "" {
		sum := sha256.Sum256(body)
		h.ID, h.IDFromBody = hex.EncodeToString(sum[:]), true
		return h, nil
	}
	if err := checkText("payload.id", id, MaxIDLen); err != nil {
		return Head{}, err
	}
	h.ID = id
	return h, nil
}

// idText turns payload.id into text: a string as is, a number as its decimal string, absent or
// null as "".
func idText(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	switch raw[0] {
	case '"':
		if !utf8.Valid(raw) {
			// json.Unmarshal would quietly turn invalid bytes into U+FFFD, hiding them from checkText.
			return "", &EnvelopeError{Field: "payload.id", Msg: "is not valid UTF-8"}
		}
		return stringText("payload.id", raw)
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		if bytes.IndexAny(raw, ".eE") < 0 {
			return string(raw), nil
		}
		if len(raw) > MaxIDLen {
			// Parsing a long mantissa costs time quadratic in its length (1 MiB: over a second).
			return "", &EnvelopeError{Field: "payload.id", Msg: fmt.Sprintf("is a number %d bytes long; at most %d are accepted", len(raw), MaxIDLen)}
		}
		f, ok := new(big.Float).SetPrec(256).SetString(string(raw))
		if !ok {
			return "", &EnvelopeError{Field: "payload.id", Msg: "is not a valid number"}
		}
		// Beyond 2^±1024 the decimal text is longer than MaxIDLen anyway, and formatting a
		// 1e100000000 from a 47-byte body would take minutes of CPU.
		if e := f.MantExp(nil); e > 1024 || e < -1024 {
			return "", &EnvelopeError{Field: "payload.id", Msg: "is a number too large or too small to be an id"}
		}
		return f.Text('f', -1), nil
	}
	return "", &EnvelopeError{Field: "payload.id", Msg: "must be a string or a number, got " + kind(raw)}
}

// clientIDText is payload.client_id as text: a string's text, a number as written. Anything else
// (absent, null, an object, a string that is not Unicode text) is "", which no account lists: a
// client id that cannot be read belongs to no account, and the envelope itself stays valid.
func clientIDText(raw []byte) string {
	if len(raw) == 0 {
		return ""
	}
	switch raw[0] {
	case '"':
		if !utf8.Valid(raw) {
			return ""
		}
		s, err := stringText("payload.client_id", raw)
		if err != nil {
			return ""
		}
		return s
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return string(raw)
	}
	return ""
}

// loneSurrogate reports whether the valid JSON string raw (quotes included) holds a \u escape of
// a UTF-16 surrogate (D800–DFFF) that is not half of a high-low pair. Such a string has no Unicode
// text: encoding/json decodes every lone surrogate to U+FFFD, so different ids would become one.
func loneSurrogate(raw []byte) bool {
	for i := 1; i < len(raw)-1; i++ {
		if raw[i] != '\\' {
			continue
		}
		if raw[i+1] != 'u' {
			i++ // a one-letter escape, \\ included
			continue
		}
		r := hex4(raw[i+2 : i+6])
		switch {
		case r < 0xd800 || r > 0xdfff:
		case r >= 0xdc00:
			return true // a low surrogate with no high one before it
		case i+12 > len(raw) || raw[i+6] != '\\' || raw[i+7] != 'u':
			return true // a high surrogate not followed by an escape
		default:
			if lo := hex4(raw[i+8 : i+12]); lo < 0xdc00 || lo > 0xdfff {
				return true // a high surrogate followed by anything but a low one
			}
			i += 6
		}
		i += 5
	}
	return false
}

// hex4 is the value of four hex digits (a valid JSON \u escape's).
func hex4(b []byte) rune {
	var r rune
	for _, c := range b {
		switch {
		case c >= 'a':
			c -= 'a' - 10
		case c >= 'A':
			c -= 'A' - 10
		default:
			c -= '0'
		}
		r = r<<4 | rune(c)
	}
	return r
}

func surrogateError(field string) error {
	return &EnvelopeError{Field: field, Msg: `holds a lone UTF-16 surrogate escape (\ud800 to \udfff, not part of a high-low pair), ` +
		"which is not Unicode text and cannot be stored as sent; send it as valid Unicode text (a surrogate pair, or the character itself)"}
}

// checkText rejects values that cannot travel as a NATS header or subject, or that would change a
// line they are written into: empty, too long, invalid UTF-8, or holding control characters. C1
// controls (U+0085 is a newline to some readers) and U+2028/U+2029 (line breaks to YAML and
// JavaScript) are refused with the C0 ones: an id or type is printed into logs, YAML comments and
// pages, where each would end a line.
func checkText(field, s string, max int) error {
	switch {
	case s == "":
		return &EnvelopeError{Field: field, Msg: "must not be empty"}
	case len(s) > max:
		return &EnvelopeError{Field: field, Msg: fmt.Sprintf("is %d bytes long; at most %d are accepted", len(s), max)}
	case !utf8.ValidString(s):
		return &EnvelopeError{Field: field, Msg: "is not valid UTF-8"}
	}
	for _, r := range s {
		if r < 0x20 || r >= 0x7f && r <= 0x9f || r == 0x2028 || r == 0x2029 {
			return &EnvelopeError{Field: field, Msg: fmt.Sprintf("must not contain control characters (newlines, tabs, NUL, DEL, "+
				"C1 controls U+0080 to U+009F, line and paragraph separators U+2028 and U+2029); it holds %U: send it without them", r)}
		}
	}
	return nil
}

// classify turns a json.Unmarshal error into a SyntaxError with line and column, or an
// EnvelopeError for a well-formed document of the wrong shape.
func classify(body []byte, err error) error {
	// Checked first: json reports an empty body as a *json.SyntaxError too.
	if len(bytes.TrimSpace(body)) == 0 {
		return &SyntaxError{Line: 1, Column: 1, Msg: "the body is empty"}
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		line, col := position(body, se.Offset)
		return &SyntaxError{Line: line, Column: col, Msg: se.Error()}
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		switch te.Field {
		case "":
			return &EnvelopeError{Msg: "the body must be a JSON object {\"event_type\": \"...\", \"payload\": {...}}, got " + te.Value}
		case "payload":
			return &EnvelopeError{Field: "payload", Msg: "must be an object, got " + te.Value}
		}
		return &EnvelopeError{Field: te.Field, Msg: "has the wrong type: " + te.Value}
	}
	// io.ErrUnexpectedEOF and friends: a truncated document.
	line, col := position(body, int64(len(body)))
	return &SyntaxError{Line: line, Column: col, Msg: "unexpected end of JSON input"}
}

// position converts a byte offset into a 1-based line and column.
func position(body []byte, off int64) (line, col int) {
	if off > int64(len(body)) {
		off = int64(len(body))
	}
	before := body[:off]
	line = bytes.Count(before, []byte{'\n'}) + 1
	col = int(off) - (bytes.LastIndexByte(before, '\n') + 1)
	if col < 1 {
		col = 1
	}
	return line, col
}

func kind(raw json.RawMessage) string {
	switch raw[0] {
	case '"':
		return "a string"
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}
