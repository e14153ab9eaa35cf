package mapping

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline"
	"github.com/saleassist-pipeline/pipeline/internal/testkit"
)

// exampleFiles are the same mapping in both formats; every happy-path test runs on each.
var exampleFiles = []string{"testdata/mapping.example.yaml", "testdata/mapping.example.json"}

// exampleMapper returns a Mapper ("IN") using the example mapping in file.
func exampleMapper(t testing.TB, file string) *Mapper {
	t.Helper()
	mp, err := LoadMapping(file)
	require.NoError(t, err)
	require.Equal(t, file, mp.Source())
	m, err := NewMapper("IN", WithMapping(mp))
	require.NoError(t, err)
	require.Same(t, mp, m.Mapping())
	return m
}

// testArrival is when the events of these tests arrived: after the fixture's SaleAssist times,
// which would otherwise be too far in the future to believe (MaxClockSkew).
var testArrival = time.Date(2024, 7, 11, 16, 0, 0, 0, time.UTC)

// fromEvent maps the envelope body (JSON) as the worker would.
func fromEvent(t testing.TB, m *Mapper, eventType, body string) *pipeline.Lead {
	t.Helper()
	l, err := m.FromEvent(eventType, decodeEnvelope(t, body, true), testArrival)
	require.NoError(t, err)
	return l
}

func TestExampleMappingFixture(t *testing.T) {
	t.Parallel()

	for _, file := range exampleFiles {
		t.Run(filepath.Ext(file), func(t *testing.T) {
			t.Parallel()
			m := exampleMapper(t, file)
			require.Equal(t, []string{"form_submission", "widget_new_conversation"}, m.Mapping().EventTypes())
			l := fromEvent(t, m, "widget_new_conversation", string(testkit.Fixture(t)))
			require.NotNil(t, l)

			attrs := l.Attributes
			l.Attributes = nil
			require.Equal(t, pipeline.Lead{
				SourceID:        "9d438aaa-1eaa-496a-a8b3-b4f98367bb0d",
				Name:            "Prakash Mudhaliyar",
				Email:           "prakashm@athenabpo.in",
				MobileNumber:    "+910987654321",
				AltPhone:        "+918765875687",
				Address:         "Thane",
				Pincode:         "400615",
				City:            "Faridabad",
				State:           "Haryana",
				Country:         "India",
				UTMSource:       "FNP Button test", // first_of falls back to payload.source_name
				UTMCampaign:     "Test",
				ProductCategory: "Water Purifier",
				ProductSKU:      "Test",
				SeenAt:          time.UnixMilli(1720694558068).UTC(),
			}, *l)

			// The person's unmapped fields, as with the default mapping, plus the mapped attributes.
			require.ElementsMatch(t, []string{
				"date_of_month", "time_of_day", "day_of_week", "month_of_year", "originated_from",
				"device", "form_fill", "otp_verified", "extra1", "extra2", "widget_latitude",
				"widget_longitude", "widget_ip_address", "widget_location_source",
				"registration_form", "duration_min", "meeting_name", "source_type", "meeting_status",
			}, slices.Collect(maps.Keys(attrs)))
			require.Equal(t, `30`, string(attrs["duration_min"]))
			require.Equal(t, `"Meeting with +918765875687"`, string(attrs["meeting_name"]))
			require.Equal(t, `"live_call"`, string(attrs["source_type"]))
			require.Equal(t, `"scheduled"`, string(attrs["meeting_status"]))
			var form []map[string]any
			require.NoError(t, json.Unmarshal(attrs["registration_form"], &form))
			require.Len(t, form, 4)
			require.Equal(t, "email", form[2]["name"])

			// Another type gets the common mapping only.
			other := fromEvent(t, m, "widget_other", string(testkit.Fixture(t)))
			require.NotContains(t, other.Attributes, "meeting_status")
			require.Equal(t, attrs["registration_form"], other.Attributes["registration_form"])
		})
	}
}

func TestExampleMappingTransforms(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name    string
		payload string // the envelope's payload
		check   func(t *testing.T, l *pipeline.Lead)
	}{
		{"trim and lowercase", `{"people_detail": {"email": " Asha@Example.IN "}, "source_type": "  LIVE_Call "}`,
			func(t *testing.T, l *pipeline.Lead) {
				require.Equal(t, "asha@example.in", l.Email)
				require.Equal(t, `"live_call"`, string(l.Attributes["source_type"]))
			}},
		{"e164", `{"people_detail": {"mobile_number": "098765 43210"}}`, func(t *testing.T, l *pipeline.Lead) {
			require.Equal(t, "+919876543210", l.MobileNumber)
		}},
		{"e164 keeps what is not a number", `{"people_detail": {"mobile_number": " call 98765 43210 "}}`, func(t *testing.T, l *pipeline.Lead) {
			require.Equal(t, "call 98765 43210", l.MobileNumber)
		}},
		{"a phone without digits is no identity", `{"people_detail": {"mobile_number": " call me "}}`, func(t *testing.T, l *pipeline.Lead) {
			require.Empty(t, l.MobileNumber)
			require.Equal(t, `" call me "`, string(l.Attributes["mobile_number"]))
		}},
		{"e164-strict drops what is not a number", `{"people_detail": {"name": "A"}, "unique_field_value": "call me"}`,
			func(t *testing.T, l *pipeline.Lead) {
				require.Empty(t, l.AltPhone)
				require.NotContains(t, l.Attributes, "unique_field_value")
			}},
		{"alt_phone equal to mobile_number", `{"people_detail": {"mobile_number": "+91 98765 43210"}, "unique_field_value": 9876543210}`,
			func(t *testing.T, l *pipeline.Lead) {
				require.Equal(t, "+919876543210", l.MobileNumber)
				require.Empty(t, l.AltPhone)
			}},
		{"number from text", `{"people_detail": {"pincode": " 0400615 "}, "meta": [{"duration": "45"}]}`,
			func(t *testing.T, l *pipeline.Lead) {
				require.Equal(t, "400615", l.Pincode)
				require.Equal(t, `45`, string(l.Attributes["duration_min"]))
			}},
		{"number from a number", `{"people_detail": {"pincode": 400615}, "meta": [{"duration": 7.5}]}`,
			func(t *testing.T, l *pipeline.Lead) {
				require.Equal(t, "400615", l.Pincode)
				require.Equal(t, `7.5`, string(l.Attributes["duration_min"]))
			}},
		{"not a number stays in attributes", `{"people_detail": {"pincode": "PIN 400615"}, "meta": [{"duration": "thirty"}]}`,
			func(t *testing.T, l *pipeline.Lead) {
				require.Empty(t, l.Pincode)
				require.Equal(t, `"PIN 400615"`, string(l.Attributes["pincode"]))
				require.NotContains(t, l.Attributes, "duration_min")
			}},
		{"json-decode", `{"people_detail": {"name": "A"}, "meta": [{"registration_form": " {\"a\": [1, \"x\"]} "}]}`,
			func(t *testing.T, l *pipeline.Lead) {
				require.Equal(t, `{"a":[1,"x"]}`, string(l.Attributes["registration_form"]))
			}},
		{"json-decode keeps JSON already decoded", `{"people_detail": {"name": "A"}, "meta": [{"registration_form": [{"b": true}]}]}`,
			func(t *testing.T, l *pipeline.Lead) {
				require.Equal(t, `[{"b":true}]`, string(l.Attributes["registration_form"]))
			}},
		{"json-decode skips what is not JSON", `{"people_detail": {"name": "A"}, "meta": [{"registration_form": "{oops"}]}`,
			func(t *testing.T, l *pipeline.Lead) {
				require.NotContains(t, l.Attributes, "registration_form")
			}},
		{"first_of takes the first with a value", `{"people_detail": {"widget_city": " ", "city": "Pune"}}`,
			func(t *testing.T, l *pipeline.Lead) {
				require.Equal(t, "Pune", l.City)
				require.NotContains(t, l.Attributes, "widget_city")
				require.NotContains(t, l.Attributes, "city")
			}},
		{"first_of keeps the candidates it did not need", `{"people_detail": {"widget_city": "Thane", "city": "Pune"}}`,
			func(t *testing.T, l *pipeline.Lead) {
				require.Equal(t, "Thane", l.City)
				require.Equal(t, `"Pune"`, string(l.Attributes["city"]))
			}},
		{"first_of skips a value that is not text", `{"people_detail": {"widget_city": {"n": 1}, "city": "Pune"}}`,
			func(t *testing.T, l *pipeline.Lead) {
				require.Equal(t, "Pune", l.City)
				require.Equal(t, `{"n":1}`, string(l.Attributes["widget_city"]))
			}},
		{"index beyond the array", `{"people_detail": {"name": "A"}, "meta": []}`, func(t *testing.T, l *pipeline.Lead) {
			require.NotContains(t, l.Attributes, "meeting_name")
		}},
		{"mapped attribute wins over the person's own key", `{"people_detail": {"name": "A", "source_type": "form"}, "source_type": "Chat"}`,
			func(t *testing.T, l *pipeline.Lead) {
				require.Equal(t, `"chat"`, string(l.Attributes["source_type"]))
			}},
	}
	for _, file := range exampleFiles {
		m := exampleMapper(t, file)
		for _, tt := range tests {
			t.Run(filepath.Ext(file)+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				l := fromEvent(t, m, "widget_other", `{"event_type": "widget_other", "payload": `+tt.payload+`}`)
				require.NotNil(t, l)
				tt.check(t, l)
			})
		}
	}
}

// A section for one event type applies to that type only: the same event under another type
// gets the common mapping.
func TestExampleMappingEventType(t *testing.T) {
	t.Parallel()

	body := `{"event_type": "form_submission", "payload": {
		"contact": {"full_name": " Ravi ", "email_id": "RAVI@X.IN", "phone": "9876543210", "note": "hi"},
		"people_detail": {"name": "Someone Else"},
		"unique_field_value": "+918765875687",
		"submitted_at": 1720694558068}}`
	for _, file := range exampleFiles {
		t.Run(filepath.Ext(file), func(t *testing.T) {
			t.Parallel()
			m := exampleMapper(t, file)
			require.Equal(t, &pipeline.Lead{
				Name:         "Ravi",
				Email:        "ravi@x.in", // the short form still normalizes email
				MobileNumber: "+919876543210",
				// alt_phone: ~ removes it for this type; people_detail is not its person.
				Attributes: map[string]json.RawMessage{"note": json.RawMessage(`"hi"`)},
				SeenAt:     time.UnixMilli(1720694558068).UTC(),
			}, fromEvent(t, m, "form_submission", body))

			require.Equal(t, &pipeline.Lead{
				Name:     "Someone Else",
				AltPhone: "+918765875687",
				SeenAt:   testArrival, // no updated_on or created_on: arrival
			}, fromEvent(t, m, "widget_new_conversation", body))

			// FromPayload knows no event type: the common mapping applies.
			l, err := m.FromPayload(decodeEnvelope(t, body, true)["payload"].(map[string]any), testArrival)
			require.NoError(t, err)
			require.Equal(t, "Someone Else", l.Name)

			require.Nil(t, fromEvent(t, m, "form_submission", `{"payload": {"contact": {"full_name": ""}}}`))
			require.Nil(t, fromEvent(t, m, "widget_new_conversation", `{"payload": {"contact": {"full_name": "Ravi"}}}`))
		})
	}
}

func BenchmarkFromEventExample(b *testing.B) {
	m := exampleMapper(b, exampleFiles[0])
	doc := decodeEnvelope(b, string(testkit.Fixture(b)), true)
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.FromEvent("widget_new_conversation", doc, now); err != nil {
			b.Fatal(err)
		}
	}
}

// MAPPING.md's example is a valid mapping that maps like the example file.
func TestMappingDocExample(t *testing.T) {
	t.Parallel()

	doc, err := os.ReadFile("MAPPING.md")
	require.NoError(t, err)
	_, block, ok := strings.Cut(string(doc), "```yaml\n")
	require.True(t, ok)
	block, _, ok = strings.Cut(block, "```")
	require.True(t, ok)
	mp, err := ParseMapping("MAPPING.md", []byte(block))
	require.NoError(t, err)
	m, err := NewMapper("IN", WithMapping(mp))
	require.NoError(t, err)
	want := fromEvent(t, exampleMapper(t, exampleFiles[0]), "widget_new_conversation", string(testkit.Fixture(t)))
	require.Equal(t, want, fromEvent(t, m, "widget_new_conversation", string(testkit.Fixture(t))))
}
