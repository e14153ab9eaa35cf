package mapping

import (
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/internal/testkit"
)

// Values the generated payloads draw from, as JSON text: the shapes SaleAssist sends and the
// odd ones a sloppy sender might.
var (
	genText = []string{`"Asha"`, `"  Asha  "`, `""`, `" "`, `null`, `42`, `4.5`, `0`, `-7`, `1e3`,
		`true`, `false`, `{}`, `{"a":1}`, `[]`, `["x"]`, `"ÉLODIE"`, `"a\"b<c>"`, `"é\n"`,
		`"Prakash Mudhaliyar"`, `400615`, `"400615"`}
	genPhone = []string{`"09876543210"`, `"98765-43210"`, `"+91 98765 43210"`, `"+910987654321"`,
		`"+918765875687"`, `" 8765875687 "`, `"call me"`, `"1-800-FLOWERS"`, `""`, `null`,
		`9876543210`, `8765875687`, `"+1 650 253 0000"`, `"12345"`, `"+91 98765 43210 ext. 12"`,
		`true`, `["9876543210"]`, `{"n":"9876543210"}`, `"９８７６５４３２１０"`}
	genEmail = []string{`" Asha@Example.IN "`, `"asha@example.in"`, `"ASHA@EXAMPLE.IN"`, `""`,
		`null`, `7`, `{"e":"x"}`, `"  "`}
	genTime = []string{`0`, `1720694558068`, `"1720694558068"`, `" 1720694557992 "`,
		`"yesterday"`, `-5`, `1.720694558068e12`, `null`, `true`, `1720694557992.9`, `""`}
	genKeys = []string{"id", "name", "email", "mobile_number", "address", "pincode", "widget_city",
		"widget_state", "widget_country", "utm_source", "utm_medium", "utm_campaign", "utm_term",
		"utm_content", "product_category", "product_sku", "extra1", "widget_latitude", "city",
		"x y", "", "date_of_month", "nested"}
	genPerson = []string{`null`, `"Prakash"`, `[{"name":"A"}]`, `{}`, `7`, `{"name":" ","email":null}`}
)

// genEnvelope returns a random envelope around a people_detail shaped like SaleAssist's.
func genEnvelope(r *rand.Rand) string {
	pick := func(list []string) string { return list[r.IntN(len(list))] }
	var b strings.Builder
	b.WriteString(`{"event_type":"widget_new_conversation","metadata":{},"payload":{"id":"e1"`)
	var mobile string
	switch n := r.IntN(20); {
	case n == 0: // no people_detail at all
	case n < 3:
		b.WriteString(`,"people_detail":` + pick(genPerson))
	default:
		b.WriteString(`,"people_detail":{`)
		sep := ""
		for _, k := range genKeys {
			if r.IntN(5) >= 2 {
				continue
			}
			v := pick(genText)
			switch {
			case k == "email":
				v = pick(genEmail)
			case k == "mobile_number" || (r.IntN(6) == 0 && k != "id"):
				v = pick(genPhone)
			}
			if k == "mobile_number" {
				mobile = v
			}
			b.WriteString(sep + `"` + k + `":` + v)
			sep = ","
		}
		b.WriteString("}")
	}
	switch n := r.IntN(10); {
	case n < 2 && mobile != "": // the same number again, sometimes written differently
		b.WriteString(`,"unique_field_value":` + strings.Replace(mobile, `"`, `" `, 1))
	case n < 7:
		b.WriteString(`,"unique_field_value":` + pick(append(genPhone, genEmail...)))
	}
	for _, k := range []string{"updated_on", "created_on"} {
		if r.IntN(3) > 0 {
			b.WriteString(`,"` + k + `":` + pick(genTime))
		}
	}
	b.WriteString("}}")
	return b.String()
}

// decodeEnvelope decodes body as the worker does (useNumber) or with float64 numbers.
func decodeEnvelope(t testing.TB, body string, useNumber bool) map[string]any {
	t.Helper()
	if useNumber {
		return testkit.Document(t, []byte(body))
	}
	dec := json.NewDecoder(strings.NewReader(body))
	var doc map[string]any
	require.NoError(t, dec.Decode(&doc), body)
	return doc
}

// The built-in mapping, run through the generic engine, gives exactly the Lead the hard-coded
// mapping did, for the sample and for thousands of generated payloads, whatever the entry
// point.
func TestDefaultMappingMatchesLegacy(t *testing.T) {
	t.Parallel()

	received := time.Date(2024, 7, 11, 16, 0, 0, 0, time.FixedZone("IST", 5*3600+1800))
	bodies := []string{string(testkit.Fixture(t))}
	r := rand.New(rand.NewPCG(20240711, 1))
	for range 2000 {
		bodies = append(bodies, genEnvelope(r))
	}
	for _, region := range []string{"IN", "US"} {
		m := newMapper(t, region)
		nonNil := 0
		for _, body := range bodies {
			for _, useNumber := range []bool{true, false} {
				doc := decodeEnvelope(t, body, useNumber)
				payload, _ := doc["payload"].(map[string]any)
				want, err := legacyFromPayload(m, payload, received)
				require.NoError(t, err)

				got, err := m.FromPayload(payload, received)
				require.NoError(t, err)
				require.Equal(t, want, got, "FromPayload, region %s, UseNumber %v: %s", region, useNumber, body)

				got, err = m.FromEvent("widget_new_conversation", doc, received)
				require.NoError(t, err)
				require.Equal(t, want, got, "FromEvent, region %s, UseNumber %v: %s", region, useNumber, body)
				if want != nil {
					nonNil++
				}
			}
		}
		// The generator must exercise both outcomes.
		require.Greater(t, nonNil, len(bodies))
		require.Less(t, nonNil, 2*len(bodies))
	}
}

func TestDefaultMapping(t *testing.T) {
	t.Parallel()

	mp := DefaultMapping()
	require.Same(t, mp, DefaultMapping())
	require.Equal(t, defaultSource, mp.Source())
	// Every event type the pipeline knows is listed, using the common mapping as it is
	// (pkg/handlers' TestEventTypesAgree checks the list against the schemas and the router).
	require.Equal(t, []string{"widget_new_conversation"}, mp.EventTypes())
	require.Same(t, mp.base, mp.planFor("widget_new_conversation"))
	require.Same(t, mp, setup(t).mapper.Mapping())
	m, err := NewMapper("IN", WithMapping(nil))
	require.NoError(t, err)
	require.Same(t, mp, m.Mapping())
}

func BenchmarkFromEvent(b *testing.B) {
	m := setup(b).mapper
	doc := decodeEnvelope(b, string(testkit.Fixture(b)), true)
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.FromEvent("widget_new_conversation", doc, now); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLegacyFromPayload is the hard-coded mapping's cost, to compare with
// BenchmarkFromPayload on the same machine.
func BenchmarkLegacyFromPayload(b *testing.B) {
	m, payload := setup(b).mapper, loadFixture(b)
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := legacyFromPayload(m, payload, now); err != nil {
			b.Fatal(err)
		}
	}
}
