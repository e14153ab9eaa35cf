package mapping

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Both formats are read into a yaml.Node tree, which keeps the line of every key and value, so
// one compiler checks either and names the line at fault.

// parseDocument returns the top-level node of the mapping called name, or a *MappingError for
// a syntax error or an empty file.
func parseDocument(name string, data []byte) (*yaml.Node, error) {
	var root *yaml.Node
	var err error
	if isJSON(name, data) {
		root, err = parseJSON(name, data)
	} else {
		root, err = parseYAML(name, data)
	}
	if err != nil {
		return nil, err
	}
	if root == nil {
		return nil, &MappingError{File: name, Msg: "the file is empty: a mapping starts with version: 1"}
	}
	return root, nil
}

// parseYAML parses data as YAML, returning nil for a document with no content.
func parseYAML(name string, data []byte) (*yaml.Node, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		line, msg := yamlErrorLine(data, err)
		return nil, &MappingError{File: name, Line: line, Msg: "invalid YAML: " + msg + yamlHint(msg, data, line)}
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, nil
	}
	return doc.Content[0], nil
}

// maxScan bounds the files yamlErrorLine re-parses line by line: the scan is quadratic.
const maxScan = 256 << 10

// yamlErrorLine returns the line a YAML syntax error is on and its message without the
// "yaml: line N: " prefix. The parser's own line is unreliable: some errors carry none, and
// others the 0-based line where the enclosing construct started. So the line is found as the
// first at which the document, cut after it, fails with the same message (a mapping file is
// small; past maxScan bytes the parser's line is kept); the parser's line is the fallback.
func yamlErrorLine(data []byte, err error) (int, string) {
	parserLine, msg := splitYAMLError(err)
	if len(data) > maxScan {
		return parserLine, msg
	}
	lines := bytes.SplitAfter(data, []byte("\n"))
	var prefix []byte
	for i, l := range lines {
		prefix = append(prefix, l...)
		var n yaml.Node
		if err := yaml.Unmarshal(prefix, &n); err != nil {
			if _, m := splitYAMLError(err); m == msg {
				return i + 1, msg
			}
		}
	}
	return parserLine, msg
}

// splitYAMLError splits "yaml: line 3: did not find expected key" into 3 and the message.
func splitYAMLError(err error) (int, string) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if n, after, ok := strings.Cut(rest, ": "); ok {
			if line, err := strconv.Atoi(n); err == nil {
				return line, after
			}
		}
	}
	return 0, msg
}

// indexInFlow matches a line with an unquoted path index inside { } or [ ].
var indexInFlow = regexp.MustCompile(`[{\[,].*[\w\]]\[\d+\]`)

// yamlHint adds how to fix the YAML errors people make most in a mapping.
func yamlHint(msg string, data []byte, line int) string {
	switch {
	case (strings.Contains(msg, "expected ',' or '}'") || strings.Contains(msg, "expected ',' or ']'")) &&
		line > 0 && indexInFlow.Match(bytes.Split(data, []byte("\n"))[line-1]):
		return ` (inside { } or [ ], a path with an index must be quoted: {path: "payload.meta[0].duration"})`
	case strings.Contains(msg, "cannot start any token") && line > 0 &&
		bytes.ContainsRune(bytes.Split(data, []byte("\n"))[line-1], '\t'):
		return " (YAML indents with spaces, not tabs)"
	}
	return ""
}

// parseJSON parses data as JSON into the yaml.Node tree YAML gives, with lines, returning nil
// for a file holding only white space.
func parseJSON(name string, data []byte) (*yaml.Node, error) {
	r := &jsonReader{dec: json.NewDecoder(bytes.NewReader(data)), data: data}
	r.dec.UseNumber()
	if len(bytes.TrimSpace(bytes.TrimPrefix(data, []byte("\uFEFF")))) == 0 {
		return nil, nil
	}
	n, err := r.value()
	if err == nil {
		if _, err = r.dec.Token(); err == io.EOF {
			return n, nil
		}
		if err == nil {
			return nil, &MappingError{File: name, Line: r.line(r.dec.InputOffset()),
				Msg: "invalid JSON: more data after the top-level object: a mapping file holds one object"}
		}
	}
	var syn *json.SyntaxError
	switch {
	case errors.As(err, &syn):
		line, col := r.position(r.offending(syn))
		return nil, &MappingError{File: name, Line: line,
			Msg: fmt.Sprintf("invalid JSON at column %d: %s", col, syn.Error())}
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return nil, &MappingError{File: name, Line: r.line(int64(len(data))),
			Msg: "invalid JSON: the file ends inside an object or array: close every { and ["}
	}
	return nil, &MappingError{File: name, Msg: "invalid JSON: " + err.Error()}
}

// jsonReader builds yaml.Nodes from the tokens of a JSON decoder.
type jsonReader struct {
	dec  *json.Decoder
	data []byte
}

// line returns the 1-based line of the byte just before offset: the decoder reports offsets
// after the token it read.
func (r *jsonReader) line(offset int64) int {
	line, _ := r.position(offset - 1)
	return line
}

// position returns the 1-based line and column of the byte at index i.
func (r *jsonReader) position(i int64) (line, col int) {
	i = min(max(i, 0), int64(len(r.data)))
	before := r.data[:i]
	return 1 + bytes.Count(before, []byte("\n")), int(i) - bytes.LastIndexByte(before, '\n')
}

// offending returns the index of the byte a syntax error is about. Depending on where the
// decoder found it, the error's Offset counts that byte or stops just before it; the message
// names the byte, which settles it.
func (r *jsonReader) offending(syn *json.SyntaxError) int64 {
	i := syn.Offset
	_, rest, ok := strings.Cut(syn.Error(), "invalid character '")
	if !ok || len(rest) < 2 || rest[1] != '\'' || i <= 0 || i > int64(len(r.data)) {
		return i
	}
	if c := rest[0]; r.data[i-1] == c && (i == int64(len(r.data)) || r.data[i] != c) {
		return i - 1
	}
	return i
}

// value reads one JSON value.
func (r *jsonReader) value() (*yaml.Node, error) {
	tok, err := r.dec.Token()
	if err != nil {
		return nil, err
	}
	n := &yaml.Node{Line: r.line(r.dec.InputOffset()), Column: 1}
	switch t := tok.(type) {
	case json.Delim:
		if t == '{' {
			n.Kind, n.Tag = yaml.MappingNode, "!!map"
			for r.dec.More() {
				k, err := r.dec.Token()
				if err != nil {
					return nil, err
				}
				key := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: k.(string),
					Line: r.line(r.dec.InputOffset()), Column: 1}
				v, err := r.value()
				if err != nil {
					return nil, err
				}
				n.Content = append(n.Content, key, v)
			}
		} else {
			n.Kind, n.Tag = yaml.SequenceNode, "!!seq"
			for r.dec.More() {
				v, err := r.value()
				if err != nil {
					return nil, err
				}
				n.Content = append(n.Content, v)
			}
		}
		if _, err := r.dec.Token(); err != nil { // the closing delimiter
			return nil, err
		}
	case string:
		n.Kind, n.Tag, n.Value = yaml.ScalarNode, "!!str", t
	case json.Number:
		n.Kind, n.Tag, n.Value = yaml.ScalarNode, "!!float", string(t)
		if !strings.ContainsAny(string(t), ".eE") {
			n.Tag = "!!int"
		}
	case bool:
		n.Kind, n.Tag, n.Value = yaml.ScalarNode, "!!bool", strconv.FormatBool(t)
	case nil:
		n.Kind, n.Tag, n.Value = yaml.ScalarNode, "!!null", "null"
	}
	return n, nil
}
