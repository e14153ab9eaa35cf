package schema

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

const (
	// maxErrorLen bounds Error's message: it ends up in logs, dead-letter headers and HTTP
	// answers, where a document with hundreds of bad fields must not produce a novel.
	maxErrorLen = 1024
	// maxMessageLen bounds one problem's message; some quote the offending value.
	maxMessageLen = 160
)

// englishPrinter renders the library's messages, as its own Error method does.
var englishPrinter = message.NewPrinter(language.English)

// Error is a document that does not match its schema.
type Error struct {
	// Schema is the file name of the schema the document failed, e.g. "envelope.schema.json".
	Schema string
	// Problems lists every failing field once, in document order by Pointer (array indexes
	// compared as numbers).
	Problems []Problem

	cause *jsonschema.ValidationError
}

// Problem is one field failing its schema.
type Problem struct {
	// Pointer is the field's JSON pointer (RFC 6901), e.g. "/payload/people_detail"; "" is the
	// whole document. For a missing required field it points at the field that is missing.
	Pointer string
	// Message says what is wrong, e.g. "got string, want object".
	Message string
}

func newError(file string, ve *jsonschema.ValidationError) *Error {
	e := &Error{Schema: file, cause: ve}
	collect(ve, &e.Problems)
	slices.SortStableFunc(e.Problems, func(a, b Problem) int { return comparePointers(a.Pointer, b.Pointer) })
	e.Problems = slices.Compact(e.Problems)
	return e
}

// collect appends the leaves of the library's error tree: the inner nodes only group them
// ("allOf failed", "validation failed with ...") and say nothing a reader can act on.
func collect(ve *jsonschema.ValidationError, out *[]Problem) {
	if len(ve.Causes) > 0 {
		for _, c := range ve.Causes {
			collect(c, out)
		}
		return
	}
	ptr := pointer(ve.InstanceLocation)
	if req, ok := ve.ErrorKind.(*kind.Required); ok {
		for _, name := range req.Missing {
			*out = append(*out, Problem{Pointer: ptr + "/" + escape(name), Message: "required, missing"})
		}
		return
	}
	*out = append(*out, Problem{Pointer: ptr, Message: clip(problemMessage(ve.ErrorKind), maxMessageLen)})
}

// problemMessage is the library's message for k, except for the kinds whose message quotes the value:
// an invalid event's fields are lead data (a person's address typed into a numeric field), and
// the message goes to logs and dead-letter headers, which must not hold lead records. The
// pointer already says which field it is.
func problemMessage(k jsonschema.ErrorKind) string {
	switch k := k.(type) {
	case *kind.Pattern:
		return "does not match pattern " + strconv.Quote(k.Want) + " (value not shown)"
	case *kind.Format:
		return "is not a valid " + k.Want + " (value not shown)"
	}
	return k.LocalizedString(englishPrinter)
}

// Error lists each problem as "pointer: message" within maxErrorLen bytes; problems that do not
// fit are counted ("; and 7 more"), never dropped silently.
func (e *Error) Error() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "document does not match %s: ", e.Schema)
	if len(e.Problems) == 0 { // not expected from the library; say what it said
		sb.WriteString(clip(e.cause.Error(), maxErrorLen-sb.Len()))
		return sb.String()
	}
	for i, p := range e.Problems {
		ptr := p.Pointer
		if ptr == "" {
			ptr = "(document)"
		}
		item := ptr + ": " + p.Message
		if i > 0 {
			item = "; " + item
		}
		tail := ""
		if left := len(e.Problems) - i - 1; left > 0 {
			tail = fmt.Sprintf("; and %d more", left)
		}
		if sb.Len()+len(item)+len(tail) <= maxErrorLen {
			sb.WriteString(item)
			continue
		}
		if i == 0 {
			// The first problem always shows, clipped if need be, so the error says where.
			sb.WriteString(clip(item, maxErrorLen-sb.Len()-len(tail)))
			sb.WriteString(tail)
		} else {
			// The previous item left room for exactly this tail.
			fmt.Fprintf(&sb, "; and %d more", len(e.Problems)-i)
		}
		break
	}
	return sb.String()
}

// Unwrap returns the library's own error, whose tree also names the schema keywords that failed.
func (e *Error) Unwrap() error {
	return e.cause
}

// comparePointers orders JSON pointers as a reader expects: token by token, array indexes by
// value (/meta/2 before /meta/10), a field before what lies inside it.
func comparePointers(a, b string) int {
	at, bt := strings.Split(a, "/"), strings.Split(b, "/")
	for i := 0; i < len(at) && i < len(bt); i++ {
		x, y := at[i], bt[i]
		if x == y {
			continue
		}
		if isIndex(x) && isIndex(y) {
			if c := cmp.Compare(len(x), len(y)); c != 0 {
				return c
			}
		}
		return strings.Compare(x, y)
	}
	return cmp.Compare(len(at), len(bt))
}

// isIndex reports whether a pointer token is an array index (no leading zeros, as RFC 6901 has it).
func isIndex(tok string) bool {
	if tok == "" || (len(tok) > 1 && tok[0] == '0') {
		return false
	}
	for _, r := range tok {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// pointer renders instance location tokens as a JSON pointer.
func pointer(tokens []string) string {
	var sb strings.Builder
	for _, t := range tokens {
		sb.WriteByte('/')
		sb.WriteString(escape(t))
	}
	return sb.String()
}

// escape escapes one JSON pointer token (RFC 6901).
func escape(token string) string {
	return strings.NewReplacer("~", "~0", "/", "~1").Replace(token)
}

// clip shortens s to at most n bytes, on a rune boundary, marking the cut with "…".
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const ellipsis = "…"
	n -= len(ellipsis)
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	if n < 0 {
		n = 0
	}
	return s[:n] + ellipsis
}
