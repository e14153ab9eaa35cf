package mapping

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
)

// Helpers reading the loosely typed values of a decoded payload (map[string]any): SaleAssist
// sends a pincode or a timestamp as a number one time and a string the next.

// text returns v as trimmed text when it is a string or a number, "" when it is nil (JSON null),
// and false for anything else (booleans, objects, arrays), which the caller keeps as JSON.
func text(v any) (string, bool) {
	switch x := v.(type) {
	case nil:
		return "", true
	case string:
		return strings.TrimSpace(x), true
	case json.Number:
		return strings.TrimSpace(string(x)), true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case int:
		return strconv.Itoa(x), true
	case int64:
		return strconv.FormatInt(x, 10), true
	}
	return "", false
}

// hasValue reports whether v carries information: not null, not a blank string, not an empty
// object or array.
func hasValue(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case string:
		return strings.TrimSpace(x) != ""
	case map[string]any:
		return len(x) > 0
	case []any:
		return len(x) > 0
	}
	return true
}

// maxEpochMillis is the last millisecond of year 9999. A later time cannot be written as RFC
// 3339, which is how the store keeps it: one such timestamp would make the lead unreadable.
const maxEpochMillis = 253402300799999

// epochMillis reads v as a positive count of milliseconds since the Unix epoch: a json.Number,
// a float64 or a numeric string. Zero, negative and unreadable values give false, since
// SaleAssist sends 0 for "never"; so do values past year 9999 (maxEpochMillis).
func epochMillis(v any) (int64, bool) {
	var s string
	switch x := v.(type) {
	case json.Number:
		s = string(x)
	case string:
		s = strings.TrimSpace(x)
	case float64:
		return floatMillis(x)
	case int64:
		return x, x > 0 && x <= maxEpochMillis
	case int:
		return int64(x), x > 0 && x <= maxEpochMillis
	default:
		return 0, false
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, n > 0 && n <= maxEpochMillis
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, false
	}
	return floatMillis(f)
}

// floatMillis truncates f to whole milliseconds when it is positive and at most maxEpochMillis.
func floatMillis(f float64) (int64, bool) {
	if !(f >= 1 && f <= maxEpochMillis) { // also rejects NaN
		return 0, false
	}
	return int64(f), true
}

// encodeJSON returns v as JSON for Attributes. Plain ASCII strings, numbers, booleans and null
// take a fast path of one allocation; anything else goes through encoding/json without HTML
// escaping, so "<" stays "<" as sent.
func encodeJSON(v any) (json.RawMessage, error) {
	switch x := v.(type) {
	case nil:
		return json.RawMessage("null"), nil
	case bool:
		return json.RawMessage(strconv.FormatBool(x)), nil
	case json.Number:
		if raw := json.RawMessage(x); json.Valid(raw) {
			return raw, nil
		}
	case string:
		if plainASCII(x) {
			raw := make(json.RawMessage, 0, len(x)+2)
			raw = append(raw, '"')
			raw = append(raw, x...)
			return append(raw, '"'), nil
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// plainASCII reports whether s can be written as a JSON string just by quoting it.
func plainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}
