package pipeline_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline"
	"github.com/saleassist-pipeline/pipeline/internal/testkit"
)

type testBundle struct {
	// fixture is the repaired seed sample shared by every package's tests.
	fixture []byte
	// seed is the seed page's own copy of the sample, byte for byte: it is not valid JSON (a comma
	// is missing after "widget_location_source").
	seed []byte
}

func setup(t testing.TB) *testBundle {
	t.Helper()
	return &testBundle{fixture: testkit.Fixture(t), seed: testkit.SeedSample(t)}
}

// envelope builds {"event_type": <typ>, "payload": {"id": <id>}} from raw JSON fragments; an
// empty fragment leaves the member out.
func envelope(typ, id string) []byte {
	var payload string
	if id != "" {
		payload = `{"id":` + id + `,"people_detail":{"name":"A"}}`
	} else {
		payload = `{"people_detail":{"name":"A"}}`
	}
	if typ == "" {
		return []byte(`{"payload":` + payload + `}`)
	}
	return []byte(`{"event_type":` + typ + `,"payload":` + payload + `}`)
}

func sha(body []byte) string {
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:])
}

func TestParseHead(t *testing.T) {
	t.Parallel()
	b := setup(t)

	tests := []struct {
		name     string
		body     []byte
		wantType string
		wantID   string
	}{
		{"fixture", b.fixture, pipeline.WidgetNewConversation, testkit.FixtureID},
		{"string id", envelope(`"x"`, `"abc-1"`), "x", "abc-1"},
		{"integer id", envelope(`"x"`, `12345`), "x", "12345"},
		{"exponent id", envelope(`"x"`, `1.5e3`), "x", "1500"},
		{"upper-case exponent id", envelope(`"x"`, `1E3`), "x", "1000"},
		{"negative id", envelope(`"x"`, `-7`), "x", "-7"},
		{"integer id beyond float64 keeps every digit", envelope(`"x"`, `123456789012345678901234567890`), "x", "123456789012345678901234567890"},
		{"fractional id", envelope(`"x"`, `2.50`), "x", "2.5"},
		{"unknown event type kept as is", envelope(`"Some.Other type/v2"`, `"7"`), "Some.Other type/v2", "7"},
		{"escaped event type", envelope(`"caf\u00e9"`, `"7"`), "café", "7"},
		{"event type of 128 bytes", envelope(`"`+strings.Repeat("t", pipeline.MaxEventTypeLen)+`"`, `"7"`), strings.Repeat("t", pipeline.MaxEventTypeLen), "7"},
		{"id of 256 bytes", envelope(`"x"`, `"`+strings.Repeat("i", pipeline.MaxIDLen)+`"`), "x", strings.Repeat("i", pipeline.MaxIDLen)},
		{"members in any order, extra members ignored", []byte(`{"metadata":{},"payload":{"x":[1,2],"id":"p"},"event_type":"x","headers":{}}`), "x", "p"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h, err := pipeline.ParseHead(tt.body)
			require.NoError(t, err)
			require.Equal(t, tt.wantType, h.Type)
			require.Equal(t, tt.wantID, h.ID)
			require.False(t, h.IDFromBody)
		})
	}
}

// TestParseHead_ClientID: payload.client_id names the SaleAssist account an event belongs to; the
// head carries it as text, and "" when it is absent or cannot be read, without refusing the body.
func TestParseHead_ClientID(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tests := []struct {
		name, body, want string
	}{
		{"fixture", string(b.fixture), testkit.FixtureClientID},
		{"string", `{"event_type":"x","payload":{"id":"1","client_id":"c-1"}}`, "c-1"},
		{"number as written", `{"event_type":"x","payload":{"client_id":42,"id":"1"}}`, "42"},
		{"escaped key and value", `{"event_type":"x","payload":{"client\u005fid":"c\u002d1"}}`, "c-1"},
		{"the last one wins", `{"event_type":"x","payload":{"client_id":"a","client_id":"b"}}`, "b"},
		{"the last payload's", `{"event_type":"x","payload":{"client_id":"a"},"payload":{"id":"2"}}`, ""},
		{"absent", `{"event_type":"x","payload":{"id":"1"}}`, ""},
		{"null", `{"event_type":"x","payload":{"client_id":null}}`, ""},
		{"an object", `{"event_type":"x","payload":{"client_id":{"id":"c-1"}}}`, ""},
		{"a lone surrogate", `{"event_type":"x","payload":{"client_id":"\ud800"}}`, ""},
		{"nested client ids are not the payload's", `{"event_type":"x","payload":{"meta":[{"client_id":"m"}]}}`, ""},
		{"slow path (a differently cased key)", `{"event_type":"x","PAYLOAD":{"id":"1"},"payload":{"client_id":"c-2"}}`, "c-2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h, err := pipeline.ParseHead([]byte(tt.body))
			require.NoError(t, err)
			require.Equal(t, tt.want, h.ClientID)
			slow, err := pipeline.ParseHeadSlow([]byte(tt.body))
			require.NoError(t, err)
			require.Equal(t, h, slow, "fast and slow paths agree")
		})
	}
}

func TestParseHead_IDFromBody(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		body []byte
	}{
		{"id absent", envelope(`"x"`, ``)},
		{"id null", envelope(`"x"`, `null`)},
		{"id empty string", envelope(`"x"`, `""`)},
		{"empty payload", []byte(`{"event_type":"x","payload":{}}`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h, err := pipeline.ParseHead(tt.body)
			require.NoError(t, err)
			require.Equal(t, "x", h.Type)
			require.True(t, h.IDFromBody)
			require.Equal(t, sha(tt.body), h.ID)
			require.Len(t, h.ID, 64)

			// An exact re-send gets the same id, so the queue and the store dedupe it.
			again, err := pipeline.ParseHead(bytes.Clone(tt.body))
			require.NoError(t, err)
			require.Equal(t, h, again)

			// Any other body gets another id, even one differing only in white space.
			other, err := pipeline.ParseHead(append(bytes.Clone(tt.body), ' '))
			require.NoError(t, err)
			require.True(t, other.IDFromBody)
			require.NotEqual(t, h.ID, other.ID)
		})
	}
}

// TestParseHead_SyntaxError documents the position convention: Line and Column are 1-based,
// Column counts bytes (not runes) and points at the offending byte; for a truncated document
// it points at the last byte present, and an empty or blank body is reported at 1:1.
func TestParseHead_SyntaxError(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name       string
		body       string
		line, col  int
		msgContain string
	}{
		// Line 3 is `  "payload": {"id" 1}`: two spaces, `"payload":` (10), a space, `{`, `"id"`,
		// a space: the unexpected '1' is byte 20 of the line.
		{"missing colon on line 3", "{\n  \"event_type\": \"x\",\n  \"payload\": {\"id\" 1}\n}", 3, 20, "invalid character '1'"},
		{"not JSON at all", "hello", 1, 1, "invalid character 'h'"},
		{"columns count bytes: é is two", "{\"é\" 1}", 1, 7, "invalid character '1'"},
		{"error right after a newline", "{\"event_type\":\"x\",\n}", 2, 1, "invalid character '}'"},
		{"trailing garbage", "{\"event_type\":\"x\",\"payload\":{}} x", 1, 33, "invalid character 'x'"},
		{"empty body", "", 1, 1, "empty"},
		{"white space body", " \n\t\r\n ", 1, 1, "empty"},
		{"truncated after a key", `{"event_type":`, 1, 14, "unexpected end"},
		{"truncated on line 2", "{\"event_type\": \"x\",\n \"payload\": {\"id\": 1", 2, 20, "unexpected end"},
		{"truncated string", `{"event_type":"wid`, 1, 18, "unexpected end"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := pipeline.ParseHead([]byte(tt.body))
			var se *pipeline.SyntaxError
			require.ErrorAs(t, err, &se)
			require.Equal(t, tt.line, se.Line, "line")
			require.Equal(t, tt.col, se.Column, "column")
			require.Contains(t, se.Msg, tt.msgContain)
			require.Contains(t, err.Error(), "not valid JSON")
		})
	}
}

// TestParseHead_SeedSample feeds the seed page's sample as a sloppy sender would send it, and
// expects the error to point at the member after the missing comma.
func TestParseHead_SeedSample(t *testing.T) {
	t.Parallel()
	b := setup(t)

	lines := strings.Split(string(b.seed), "\n")
	wantLine := 0
	for i, l := range lines {
		if strings.Contains(l, `"widget_location_source"`) {
			wantLine = i + 2 // the next line, 1-based
			break
		}
	}
	require.NotZero(t, wantLine, "seed sample has no widget_location_source")
	idLine := lines[wantLine-1]
	require.Equal(t, `"id": "9d438aaa-1eaa-496a-a8b3-b4f98367bb0d"`, strings.TrimSpace(idLine))
	require.Equal(t, 143, wantLine, "testdata/fixtures/seed_sample.json changed")

	_, err := pipeline.ParseHead(b.seed)
	var se *pipeline.SyntaxError
	require.ErrorAs(t, err, &se)
	require.Equal(t, wantLine, se.Line)
	// The offending byte is the opening quote of "id", after the line's indentation.
	require.Equal(t, strings.Index(idLine, `"`)+1, se.Column)
	require.Equal(t, 11, se.Column)
	require.Contains(t, se.Msg, `invalid character '"' after object key:value pair`)
}

func TestParseHead_EnvelopeError(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name      string
		body      []byte
		field     string
		msgPrefix string
	}{
		{"top-level array", []byte(`[{"event_type":"x","payload":{}}]`), "", "the body must be a JSON object"},
		{"top-level string", []byte(`"widget_new_conversation"`), "", "the body must be a JSON object"},
		{"top-level number", []byte(`42`), "", "the body must be a JSON object"},
		{"top-level null", []byte(`null`), "event_type", "is missing"},

		{"event_type missing", envelope(``, `"1"`), "event_type", "is missing"},
		{"event_type null", envelope(`null`, `"1"`), "event_type", "is missing"},
		{"event_type number", envelope(`7`, `"1"`), "event_type", "must be a string, got a number"},
		{"event_type object", envelope(`{}`, `"1"`), "event_type", "must be a string, got an object"},
		{"event_type empty", envelope(`""`, `"1"`), "event_type", "must not be empty"},
		{"event_type 129 bytes", envelope(`"`+strings.Repeat("t", pipeline.MaxEventTypeLen+1)+`"`, `"1"`), "event_type", "is 129 bytes long"},
		{"event_type with newline", envelope(`"a\nb"`, `"1"`), "event_type", "must not contain control characters"},
		{"event_type with NUL", envelope(`"a\u0000b"`, `"1"`), "event_type", "must not contain control characters"},
		{"event_type with DEL", envelope("\"a\x7fb\"", `"1"`), "event_type", "must not contain control characters"},
		{"event_type invalid UTF-8", envelope("\"a\xffb\"", `"1"`), "event_type", "is not valid UTF-8"},

		{"payload missing", []byte(`{"event_type":"x"}`), "payload", "is missing"},
		{"payload null", []byte(`{"event_type":"x","payload":null}`), "payload", "is missing"},
		{"payload string", []byte(`{"event_type":"x","payload":"{\"id\":1}"}`), "payload", "must be an object, got string"},
		{"payload array", []byte(`{"event_type":"x","payload":[{"id":1}]}`), "payload", "must be an object, got array"},
		{"payload number", []byte(`{"event_type":"x","payload":1}`), "payload", "must be an object, got number"},

		{"id object", envelope(`"x"`, `{"v":1}`), "payload.id", "must be a string or a number, got an object"},
		{"id bool", envelope(`"x"`, `true`), "payload.id", "must be a string or a number, got a boolean"},
		{"id array", envelope(`"x"`, `["1"]`), "payload.id", "must be a string or a number, got an array"},
		{"id with CRLF", envelope(`"x"`, `"a\r\nb"`), "payload.id", "must not contain control characters"},
		{"id with tab", envelope(`"x"`, `"a\tb"`), "payload.id", "must not contain control characters"},
		{"id with NEL", envelope(`"x"`, "\"a\u0085b\""), "payload.id", "must not contain control characters"},
		{"id with escaped C1", envelope(`"x"`, `"a\u009bb"`), "payload.id", "must not contain control characters"},
		{"id with line separator", envelope(`"x"`, "\"a\u2028b\""), "payload.id", "must not contain control characters"},
		{"event_type with paragraph separator", envelope(`"a\u2029b"`, `"1"`), "event_type", "must not contain control characters"},
		{"event_type with C1", envelope("\"a\u0080b\"", `"1"`), "event_type", "must not contain control characters"},
		{"id 257 bytes", envelope(`"x"`, `"`+strings.Repeat("i", pipeline.MaxIDLen+1)+`"`), "payload.id", "is 257 bytes long"},
		{"integer id 257 digits", envelope(`"x"`, strings.Repeat("9", pipeline.MaxIDLen+1)), "payload.id", "is 257 bytes long"},
		{"id invalid UTF-8", envelope(`"x"`, "\"a\xffb\""), "payload.id", "is not valid UTF-8"},
		{"id number with a huge exponent", envelope(`"x"`, `1e100000000`), "payload.id", "is a number too large or too small"},
		{"id number with a tiny exponent", envelope(`"x"`, `1e-100000000`), "payload.id", "is a number too large or too small"},
		{"id number formatting to more than 256 bytes", envelope(`"x"`, `1e300`), "payload.id", "is 301 bytes long"},
		{"id number with a long mantissa", envelope(`"x"`, `1.`+strings.Repeat("1", 1<<16)), "payload.id", "is a number 65538 bytes long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h, err := pipeline.ParseHead(tt.body)
			var ee *pipeline.EnvelopeError
			require.ErrorAs(t, err, &ee, "got head %+v", h)
			require.Equal(t, tt.field, ee.Field)
			require.True(t, strings.HasPrefix(ee.Msg, tt.msgPrefix), "message %q does not start with %q", ee.Msg, tt.msgPrefix)
			if tt.field != "" {
				require.True(t, strings.HasPrefix(err.Error(), tt.field+": "), "error %q does not name %s", err, tt.field)
			}
			require.Equal(t, pipeline.Head{}, h)
		})
	}
}
