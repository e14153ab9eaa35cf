package deploy_test

import (
	"fmt"
	"strings"
	"testing"
	"unicode"

	"github.com/stretchr/testify/require"
)

// selector is one vector selector of a PromQL expression: a metric name and its label matchers.
type selector struct {
	Metric   string
	Matchers []matcher
}

// matcher is one label matcher, such as code=~"5..".
type matcher struct {
	Label, Op, Value string
}

// promqlRefs is what an expression refers to: its selectors, and the labels it groups or matches
// on (by, without, on, ignoring, group_left, group_right).
type promqlRefs struct {
	Selectors []selector
	Grouping  []string
}

// PromQL words that are not metric names when they stand alone.
var (
	aggregations = set("sum", "min", "max", "avg", "group", "stddev", "stdvar", "count",
		"count_values", "bottomk", "topk", "quantile", "limitk", "limit_ratio")
	keywords     = set("and", "or", "unless", "bool", "offset", "inf", "nan")
	groupingWord = set("by", "without", "on", "ignoring", "group_left", "group_right")
)

func set(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}

// parsePromQL extracts the metric names, label matchers and grouping labels of a PromQL
// expression. It is a scanner, not a parser: it does not check the syntax (promtool does, for the
// rules), only finds every name an expression depends on, which is what a rename would break.
// Grafana's variables ($__rate_interval, ${var}) may appear in ranges and label values.
func parsePromQL(expr string) (promqlRefs, error) {
	var refs promqlRefs
	s := []rune(expr)
	i := 0
	skipSpace := func() {
		for i < len(s) && unicode.IsSpace(s[i]) {
			i++
		}
	}
	for i < len(s) {
		c := s[i]
		switch {
		case unicode.IsSpace(c):
			i++
		case c == '#':
			for i < len(s) && s[i] != '\n' {
				i++
			}
		case c == '"' || c == '\'' || c == '`':
			_, n, err := readString(s[i:])
			if err != nil {
				return refs, err
			}
			i += n
		case c == '[': // a range or subquery: durations and Grafana variables only
			for i < len(s) && s[i] != ']' {
				i++
			}
			if i == len(s) {
				return refs, fmt.Errorf("unclosed [ in %q", expr)
			}
			i++
		case c == '{':
			return refs, fmt.Errorf("selector without a metric name in %q: name the metric", expr)
		case c == '$': // a Grafana variable outside a range or a string
			i++
			for i < len(s) && (s[i] == '{' || s[i] == '}' || isIdent(s[i])) {
				i++
			}
		case unicode.IsDigit(c) || c == '.' && i+1 < len(s) && unicode.IsDigit(s[i+1]):
			for i < len(s) && (isIdent(s[i]) || s[i] == '.') {
				i++
			}
		case isIdentStart(c):
			start := i
			for i < len(s) && isIdent(s[i]) {
				i++
			}
			word := string(s[start:i])
			skipSpace()
			next := rune(0)
			if i < len(s) {
				next = s[i]
			}
			switch {
			case groupingWord[word] && next == '(':
				labels, n, err := readLabelList(s[i:])
				if err != nil {
					return refs, fmt.Errorf("%s in %q: %w", word, expr, err)
				}
				refs.Grouping = append(refs.Grouping, labels...)
				i += n
			case groupingWord[word], keywords[word], aggregations[word], next == '(':
				// an operator, a modifier, or a function or aggregation applied to what follows
			default:
				sel := selector{Metric: word}
				if next == '{' {
					ms, n, err := readMatchers(s[i:])
					if err != nil {
						return refs, fmt.Errorf("matchers of %s in %q: %w", word, expr, err)
					}
					sel.Matchers = ms
					i += n
				}
				refs.Selectors = append(refs.Selectors, sel)
			}
		default:
			i++
		}
	}
	return refs, nil
}

func isIdentStart(c rune) bool { return c == '_' || c == ':' || unicode.IsLetter(c) }
func isIdent(c rune) bool      { return isIdentStart(c) || unicode.IsDigit(c) }

// readString reads a quoted string at the start of s; it returns the unquoted value and the runes
// consumed.
func readString(s []rune) (string, int, error) {
	q := s[0]
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch {
		case s[i] == '\\' && q != '`' && i+1 < len(s):
			i++
			b.WriteRune(s[i])
		case s[i] == q:
			return b.String(), i + 1, nil
		default:
			b.WriteRune(s[i])
		}
	}
	return "", 0, fmt.Errorf("unclosed string %s", string(s))
}

// readLabelList reads "(a, b)" at the start of s.
func readLabelList(s []rune) ([]string, int, error) {
	end := -1
	for i, c := range s {
		if c == ')' {
			end = i
			break
		}
	}
	if end < 0 {
		return nil, 0, fmt.Errorf("unclosed label list")
	}
	var labels []string
	for _, l := range strings.Split(string(s[1:end]), ",") {
		l = strings.TrimSpace(l)
		if l == "" {
			continue
		}
		for _, c := range l {
			if !isIdent(c) {
				return nil, 0, fmt.Errorf("%q is not a label name", l)
			}
		}
		labels = append(labels, l)
	}
	return labels, end + 1, nil
}

// readMatchers reads `{a="x", b=~"y"}` at the start of s.
func readMatchers(s []rune) ([]matcher, int, error) {
	var ms []matcher
	i := 1
	for {
		for i < len(s) && (unicode.IsSpace(s[i]) || s[i] == ',') {
			i++
		}
		if i >= len(s) {
			return nil, 0, fmt.Errorf("unclosed {")
		}
		if s[i] == '}' {
			return ms, i + 1, nil
		}
		start := i
		for i < len(s) && isIdent(s[i]) {
			i++
		}
		label := string(s[start:i])
		for i < len(s) && unicode.IsSpace(s[i]) {
			i++
		}
		opStart := i
		for i < len(s) && strings.ContainsRune("=!~", s[i]) {
			i++
		}
		op := string(s[opStart:i])
		for i < len(s) && unicode.IsSpace(s[i]) {
			i++
		}
		if label == "" || !map[string]bool{"=": true, "!=": true, "=~": true, "!~": true}[op] ||
			i >= len(s) || !strings.ContainsRune("\"'`", s[i]) {
			return nil, 0, fmt.Errorf("bad matcher at %q", string(s[start:]))
		}
		v, n, err := readString(s[i:])
		if err != nil {
			return nil, 0, err
		}
		i += n
		ms = append(ms, matcher{Label: label, Op: op, Value: v})
	}
}

func TestParsePromQL(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		expr     string
		metrics  []string
		grouping []string
		matchers map[string][]matcher
	}{
		{
			expr:     `sum by (code) (rate(saleassist_ingest_requests_total[$__rate_interval]))`,
			metrics:  []string{"saleassist_ingest_requests_total"},
			grouping: []string{"code"},
		},
		{
			expr:     `histogram_quantile(0.95, sum by (le) (rate(saleassist_worker_store_duration_seconds_bucket[5m])))`,
			metrics:  []string{"saleassist_worker_store_duration_seconds_bucket"},
			grouping: []string{"le"},
		},
		{
			expr:     `sum(rate(a_total{code=~"5..", job="ingest"}[5m])) / sum(rate(a_total[5m])) > 0.05`,
			metrics:  []string{"a_total", "a_total"},
			matchers: map[string][]matcher{"a_total": {{"code", "=~", "5.."}, {"job", "=", "ingest"}}},
		},
		{
			expr:    "max(lag) > 0\nand\nderiv(max(lag)[5m:1m]) > 0 # growing",
			metrics: []string{"lag", "lag"},
		},
		{
			expr:    `sum(increase(x_total{code="202"}[30m] offset 1w)) > 5 and count(up{job="worker"} == 1) < bool 2`,
			metrics: []string{"x_total", "up"},
		},
		{
			expr:     `sum without (instance) (m) * on (job) group_left (version) info_metric`,
			metrics:  []string{"m", "info_metric"},
			grouping: []string{"instance", "job", "version"},
		},
		{
			expr:    `label_replace(m{a!="x"}, "dst", "$1", "src", "(.*)") or vector(0) or absent(n)`,
			metrics: []string{"m", "n"},
		},
		{
			expr:    `sum(rate(m[$__rate_interval])) * 1e3 + topk(5, n{l='it\'s'}) + max_over_time(o[${window}])`,
			metrics: []string{"m", "n", "o"},
		},
	} {
		refs, err := parsePromQL(tc.expr)
		require.NoError(t, err, tc.expr)
		var names []string
		for _, s := range refs.Selectors {
			names = append(names, s.Metric)
			if want, ok := tc.matchers[s.Metric]; ok && len(s.Matchers) > 0 {
				require.Equal(t, want, s.Matchers, tc.expr)
			}
		}
		require.Equal(t, tc.metrics, names, tc.expr)
		require.Equal(t, tc.grouping, refs.Grouping, tc.expr)
	}
	for _, bad := range []string{`{__name__="x"}`, `m{a="x"`, `m{a="x}`, `sum by (a (m)`, `m{a}`} {
		_, err := parsePromQL(bad)
		require.Error(t, err, bad)
	}
}
