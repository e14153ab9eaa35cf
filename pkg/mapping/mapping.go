package mapping

import (
	_ "embed"
	"errors"
	"io/fs"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// defaultYAML is the built-in mapping: the pipeline's mapping from before mappings were
// configurable, written in the mapping format. A test checks that the two agree.
//
//go:embed default.yaml
var defaultYAML []byte

// Mapping says which values of an event fill which fields of a Lead: for every event type, and
// per event type where a type needs something else. See MAPPING.md for the format.
//
// A Mapping is compiled once, when it loads: paths parsed, targets and transforms resolved, the
// per-type mappings merged with the common one. It is immutable, so one value serves any number
// of Mappers and goroutines.
type Mapping struct {
	source string
	base   *plan
	types  map[string]*plan
}

// Source is where the mapping came from: the name it was loaded or parsed under.
func (mp *Mapping) Source() string { return mp.source }

// EventTypes returns, sorted, the event types listed under event_types (with a mapping of their
// own, or with {} to use the common one as it is); every other type uses the common one.
func (mp *Mapping) EventTypes() []string {
	types := make([]string, 0, len(mp.types))
	for t := range mp.types {
		types = append(types, t)
	}
	slices.Sort(types)
	return types
}

// planFor returns the plan for eventType: its own, else the common one.
func (mp *Mapping) planFor(eventType string) *plan {
	if p, ok := mp.types[eventType]; ok {
		return p
	}
	return mp.base
}

// defaultSource names the built-in mapping in Source and in errors.
const defaultSource = "default.yaml (built in)"

var defaultMapping = sync.OnceValue(func() *Mapping {
	mp, err := ParseMapping(defaultSource, defaultYAML)
	if err != nil {
		panic(err) // the embedded file is tested; this cannot happen in a released build
	}
	return mp
})

// DefaultMapping returns the built-in mapping (default.yaml in this package): people_detail's
// fields fill the lead, email trimmed and lower-cased, phones in E.164, unique_field_value as
// alt_phone, every other people_detail field kept in attributes, and seen_at from updated_on,
// else created_on. It is what NewMapper uses without WithMapping.
func DefaultMapping() *Mapping { return defaultMapping() }

// LoadMapping reads and compiles the mapping file at file: YAML for names ending in .yaml or
// .yml, JSON for .json, and otherwise JSON when the content starts with '{', else YAML.
//
// A file that cannot be read or is not a valid mapping gives an error naming the file, the line
// and the field at fault, what is wrong and how to fix it; a file with several faults lists
// them all, one per line. Each fault is a *MappingError (use errors.As).
func LoadMapping(file string) (*Mapping, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		msg := err.Error()
		if pe := (*fs.PathError)(nil); errors.As(err, &pe) {
			msg = pe.Err.Error() // the path is in the message already
		}
		return nil, &MappingError{File: file, Msg: "cannot read the file: " + msg, Err: err}
	}
	return ParseMapping(file, data)
}

// ParseMapping compiles a mapping held in memory. name is used in errors and, by its extension,
// to choose between YAML and JSON as LoadMapping does; errors are those of LoadMapping.
func ParseMapping(name string, data []byte) (*Mapping, error) {
	root, err := parseDocument(name, data)
	if err != nil {
		return nil, err
	}
	return compile(name, root)
}

// isJSON says whether the mapping called name holding data is JSON rather than YAML.
func isJSON(name string, data []byte) bool {
	lower := strings.ToLower(name)
	switch {
	case strings.HasSuffix(lower, ".json"):
		return true
	case strings.HasSuffix(lower, ".yaml"), strings.HasSuffix(lower, ".yml"):
		return false
	}
	s := strings.TrimLeft(strings.TrimPrefix(string(data), "\uFEFF"), " \t\r\n")
	return strings.HasPrefix(s, "{")
}

// MappingError is one fault of a mapping file: where it is and what is wrong with it.
type MappingError struct {
	// File is the file (or name) the mapping was loaded under.
	File string
	// Line is the 1-based line of the fault, 0 when it concerns the file as a whole.
	Line int
	// Field is where in the document the fault is, as a dotted path such as
	// "event_types.widget_new_conversation.lead.email.transforms[1]"; empty for a syntax error.
	Field string
	// Msg says what is wrong and how to fix it.
	Msg string
	// Err is the underlying error, when there is one (reading the file).
	Err error
}

// Error reads "mapping <file>: line <N>: <field>: <message>", leaving out what is unknown.
func (e *MappingError) Error() string {
	var b strings.Builder
	b.WriteString("mapping ")
	b.WriteString(e.File)
	if e.Line > 0 {
		b.WriteString(": line ")
		b.WriteString(strconv.Itoa(e.Line))
	}
	if e.Field != "" {
		b.WriteString(": ")
		b.WriteString(e.Field)
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	return b.String()
}

// Unwrap returns the underlying error, such as fs.ErrNotExist's for a missing file.
func (e *MappingError) Unwrap() error { return e.Err }
