// Package schema validates documents against the pipeline's JSON Schemas (package schemas, in
// proto-free-schemas/schemas): webhook envelopes, the event types that have a schema of their
// own, and stored leads. The schemas are compiled once, from the copies embedded in the binary.
package schema

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/saleassist-pipeline/pipeline/proto-free-schemas/schemas"
)

const (
	// baseURL is where every schema's $id lives; a schema file's $id must be baseURL plus its
	// file name, so relative $refs ("envelope.schema.json") resolve to the embedded files.
	baseURL = "https://saleassist-pipeline.dev/schemas/"
	// fileSuffix ends every schema file name; an event type's schema is <event_type>+fileSuffix.
	fileSuffix = ".schema.json"

	envelopeFile = "envelope" + fileSuffix
	leadFile     = "lead" + fileSuffix
)

// Validator checks documents against the pipeline's JSON Schemas. Safe for concurrent use.
type Validator struct {
	envelope compiled
	lead     compiled
	// events maps an event type to its own schema.
	events map[string]compiled
}

// compiled is a schema with the file it came from, which errors name.
type compiled struct {
	file   string
	schema *jsonschema.Schema
	// fast, when not nil, passes documents that are certainly valid without the full
	// validator (see fast.go).
	fast fastCheck
}

// New compiles the embedded schemas. It fails only if the schemas shipped in the binary are
// broken, so callers may treat an error as fatal at start-up.
func New() (*Validator, error) {
	return newFromFS(schemas.FS)
}

// newFromFS compiles every *.schema.json file at the root of fsys. Every file other than the
// envelope and lead schemas is the schema of the event type its name carries, and must say so
// with "event_type": {"const": ...}, so a misnamed file fails here rather than silently never
// being used.
func newFromFS(fsys fs.FS) (*Validator, error) {
	names, err := fs.Glob(fsys, "*"+fileSuffix)
	if err != nil {
		return nil, fmt.Errorf("list schemas: %w", err)
	}

	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.UseLoader(embeddedOnly{})
	docs := make(map[string]any, len(names))
	for _, name := range names {
		raw, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("read schema %s: %w", name, err)
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			return nil, fmt.Errorf("parse schema %s: %w", name, err)
		}
		obj, _ := doc.(map[string]any)
		if id, _ := obj["$id"].(string); id != baseURL+name {
			return nil, fmt.Errorf("schema %s: $id is %q, want %q", name, id, baseURL+name)
		}
		if err := c.AddResource(baseURL+name, doc); err != nil {
			return nil, fmt.Errorf("add schema %s: %w", name, err)
		}
		docs[name] = obj
	}

	fc := &fastCompiler{docs: make(map[string]map[string]any, len(docs)), refs: map[string]*fastCheck{}}
	for name, d := range docs {
		fc.docs[name], _ = d.(map[string]any)
	}
	v := &Validator{events: make(map[string]compiled, len(names))}
	for _, name := range names {
		sch, err := c.Compile(baseURL + name)
		if err != nil {
			return nil, fmt.Errorf("compile schema %s: %w", name, err)
		}
		cs := compiled{file: name, schema: sch}
		if f, err := fc.compile(name, ""); err == nil {
			cs.fast = f
		}
		switch name {
		case envelopeFile:
			v.envelope = cs
		case leadFile:
			v.lead = cs
		default:
			eventType := strings.TrimSuffix(name, fileSuffix)
			if got := eventTypeConst(docs[name]); got != eventType {
				return nil, fmt.Errorf("schema %s: properties.event_type.const is %q, want %q (the file name)", name, got, eventType)
			}
			v.events[eventType] = cs
		}
	}
	if v.envelope.schema == nil || v.lead.schema == nil {
		return nil, fmt.Errorf("schemas %s and %s are both required", envelopeFile, leadFile)
	}
	return v, nil
}

// eventTypeConst returns properties.event_type.const of a schema document, or "".
func eventTypeConst(doc any) string {
	obj, _ := doc.(map[string]any)
	props, _ := obj["properties"].(map[string]any)
	et, _ := props["event_type"].(map[string]any)
	s, _ := et["const"].(string)
	return s
}

// HasSchema reports whether event type t has a schema of its own.
func (v *Validator) HasSchema(eventType string) bool {
	_, ok := v.events[eventType]
	return ok
}

// EventTypes returns, sorted, the event types that have a schema of their own.
func (v *Validator) EventTypes() []string {
	types := make([]string, 0, len(v.events))
	for t := range v.events {
		types = append(types, t)
	}
	slices.Sort(types)
	return types
}

// ValidateEvent validates an already-decoded envelope document (map from a json.Decoder with
// UseNumber, so numbers are json.Number) against the schema for eventType, or against the
// envelope schema when the type has none. The error, when not nil, is human-readable, names the
// JSON pointer of each failing field and is at most ~1 KB (truncate politely).
//
// A failure is an *Error, so callers can tell a bad document (errors.As) from anything else.
func (v *Validator) ValidateEvent(eventType string, doc any) error {
	cs, ok := v.events[eventType]
	if !ok {
		cs = v.envelope
	}
	return cs.validate(doc)
}

// ValidateLead validates a lead document (e.g. decoded from json.Marshal of pipeline.Lead).
// A failure is an *Error.
func (v *Validator) ValidateLead(doc any) error {
	return v.lead.validate(doc)
}

func (cs compiled) validate(doc any) error {
	if cs.fast != nil && cs.fast(doc) {
		return nil
	}
	err := cs.schema.Validate(doc)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if errors.As(err, &ve) {
		return newError(cs.file, ve)
	}
	return fmt.Errorf("validate against %s: %w", cs.file, err)
}

// embeddedOnly is the compiler's loader for any $ref not among the embedded schemas: it refuses,
// so a typo in a $ref fails New instead of reaching for the network or the file system.
type embeddedOnly struct{}

// Load implements jsonschema.URLLoader.
func (embeddedOnly) Load(url string) (any, error) {
	return nil, fmt.Errorf("schema %s is not embedded: $refs may name only the files of proto-free-schemas", url)
}
