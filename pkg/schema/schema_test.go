package schema_test

import (
	"encoding/json"
	"errors"
	"io/fs"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline"
	"github.com/saleassist-pipeline/pipeline/internal/testkit"
	"github.com/saleassist-pipeline/pipeline/pkg/schema"
	"github.com/saleassist-pipeline/pipeline/proto-free-schemas/schemas"
)

const widgetType = "widget_new_conversation"

type testBundle struct {
	v *schema.Validator
	// fixture is the sample webhook body, as received.
	fixture []byte
}

func setup(tb testing.TB) *testBundle {
	tb.Helper()
	v, err := schema.New()
	require.NoError(tb, err)
	return &testBundle{v: v, fixture: testkit.Fixture(tb)}
}

// decode decodes JSON as the worker does: numbers stay json.Number.
func decode(tb testing.TB, raw []byte) any {
	tb.Helper()
	var doc any
	require.NoError(tb, testkit.DecodeNumbers(raw, &doc), "%s", raw)
	return doc
}

// event returns a fresh decoded copy of the fixture, changed by mutate.
func (b *testBundle) event(tb testing.TB, mutate func(env, payload, people map[string]any)) any {
	tb.Helper()
	return testkit.FixtureDocument(tb, testkit.FixtureID, mutate)
}

// requireProblems checks err is an *Error naming every pointer in want, in its Problems and in
// its message.
func requireProblems(t *testing.T, err error, want ...string) {
	t.Helper()
	require.Error(t, err)
	var serr *schema.Error
	require.True(t, errors.As(err, &serr), "want *schema.Error, got %T: %v", err, err)
	var got []string
	for _, p := range serr.Problems {
		got = append(got, p.Pointer)
	}
	for _, w := range want {
		require.Contains(t, got, w, "error: %v", err)
		require.Contains(t, err.Error(), w+": ")
	}
}

func TestFixtureIsValid(t *testing.T) {
	t.Parallel()
	b := setup(t)

	require.True(t, b.v.HasSchema(widgetType))
	require.NoError(t, b.v.ValidateEvent(widgetType, b.event(t, nil)))
	// An unknown type gets the envelope schema only.
	require.NoError(t, b.v.ValidateEvent("not_a_known_type", b.event(t, nil)))
}

func TestHasSchema(t *testing.T) {
	t.Parallel()
	b := setup(t)

	require.True(t, b.v.HasSchema(widgetType))
	for _, typ := range []string{"", "envelope", "lead", "widget_new_conversation.schema.json", "WIDGET_NEW_CONVERSATION", "chat_message"} {
		require.False(t, b.v.HasSchema(typ), typ)
	}
}

func TestWidgetRejects(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name   string
		mutate func(env, payload, people map[string]any)
		want   []string
	}{
		{"people_detail is a string", func(_, p, _ map[string]any) { p["people_detail"] = "Prakash" }, []string{"/payload/people_detail"}},
		{"people_detail missing", func(_, p, _ map[string]any) { delete(p, "people_detail") }, []string{"/payload/people_detail"}},
		{"payload.id is an object", func(_, p, _ map[string]any) { p["id"] = map[string]any{"x": "y"} }, []string{"/payload/id"}},
		{"payload.id is empty", func(_, p, _ map[string]any) { p["id"] = "" }, []string{"/payload/id"}},
		{"payload.id missing", func(_, p, _ map[string]any) { delete(p, "id") }, []string{"/payload/id"}},
		{"payload missing", func(e, _, _ map[string]any) { delete(e, "payload") }, []string{"/payload"}},
		{"payload is an array", func(e, _, _ map[string]any) { e["payload"] = []any{} }, []string{"/payload"}},
		{"event_type wrong", func(e, _, _ map[string]any) { e["event_type"] = "widget_old_conversation" }, []string{"/event_type"}},
		{"metadata is a string", func(e, _, _ map[string]any) { e["metadata"] = "x" }, []string{"/metadata"}},
		{"email is a number", func(_, _, pd map[string]any) { pd["email"] = json.Number("7") }, []string{"/payload/people_detail/email"}},
		{"latitude out of range", func(_, _, pd map[string]any) { pd["widget_latitude"] = json.Number("123.5") }, []string{"/payload/people_detail/widget_latitude"}},
		{"latitude not numeric", func(_, _, pd map[string]any) { pd["widget_latitude"] = "north" }, []string{"/payload/people_detail/widget_latitude"}},
		{"meta item not an object", func(_, p, _ map[string]any) { p["meta"] = append(p["meta"].([]any), "x") }, []string{"/payload/meta/2"}},
		{"meeting participants not strings", func(_, p, _ map[string]any) {
			p["meta"].([]any)[0].(map[string]any)["participants"] = []any{json.Number("918765875687")}
		}, []string{"/payload/meta/0/participants/0"}},
		{"meeting scheduled_time a float", func(_, p, _ map[string]any) {
			p["meta"].([]any)[0].(map[string]any)["scheduled_time"] = json.Number("1720695600000.5")
		}, []string{"/payload/meta/0/scheduled_time"}},
		{"created_on a string", func(_, p, _ map[string]any) { p["created_on"] = "yesterday" }, []string{"/payload/created_on"}},
		{"several at once", func(e, p, _ map[string]any) {
			e["event_type"] = "x"
			p["id"] = true
			p["people_detail"] = []any{}
		}, []string{"/event_type", "/payload/id", "/payload/people_detail"}},
	}
	b := setup(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := b.v.ValidateEvent(widgetType, b.event(t, tt.mutate))
			requireProblems(t, err, tt.want...)
			require.Contains(t, err.Error(), "widget_new_conversation.schema.json")
		})
	}
}

// TestWidgetAcceptsSloppySenders keeps the schema from over-constraining what real senders do.
func TestWidgetAcceptsSloppySenders(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name   string
		mutate func(env, payload, people map[string]any)
	}{
		{"integer payload.id", func(_, p, _ map[string]any) { p["id"] = json.Number("12345") }},
		{"empty email", func(_, _, pd map[string]any) { pd["email"] = "" }},
		{"email that is no address", func(_, _, pd map[string]any) { pd["email"] = "prakash at athena" }},
		{"numeric pincode", func(_, _, pd map[string]any) { pd["pincode"] = json.Number("400615") }},
		{"numeric mobile_number", func(_, _, pd map[string]any) { pd["mobile_number"] = json.Number("910987654321") }},
		{"numeric-string latitude", func(_, _, pd map[string]any) { pd["widget_latitude"] = "28.4098" }},
		{"empty latitude", func(_, _, pd map[string]any) { pd["widget_longitude"] = "" }},
		{"nulls for optional fields", func(_, p, pd map[string]any) {
			for _, k := range []string{"name", "email", "mobile_number", "pincode", "widget_city", "widget_latitude", "utm_source"} {
				pd[k] = nil
			}
			p["meta"] = nil
			p["created_on"] = nil
			p["raw"] = nil
		}},
		{"empty people_detail", func(_, p, _ map[string]any) { p["people_detail"] = map[string]any{} }},
		{"no meta", func(_, p, _ map[string]any) { delete(p, "meta") }},
		{"empty meta", func(_, p, _ map[string]any) { p["meta"] = []any{} }},
		{"no metadata", func(e, _, _ map[string]any) { delete(e, "metadata") }},
		{"extra fields everywhere", func(e, p, pd map[string]any) {
			e["sent_at"] = json.Number("1720694558068")
			p["brand_new"] = []any{json.Number("1")}
			pd["favourite_colour"] = map[string]any{"hex": "#fff"}
			p["meta"].([]any)[0].(map[string]any)["new_flag"] = true
		}},
	}
	b := setup(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.NoError(t, b.v.ValidateEvent(widgetType, b.event(t, tt.mutate)))
		})
	}
}

func TestUnknownTypeGetsEnvelopeOnly(t *testing.T) {
	t.Parallel()
	b := setup(t)

	// Wrong for widget_new_conversation, fine for an envelope.
	doc := b.event(t, func(e, p, _ map[string]any) {
		e["event_type"] = "chat_message"
		p["people_detail"] = "not an object"
		delete(p, "id")
	})
	require.NoError(t, b.v.ValidateEvent("chat_message", doc))
	requireProblems(t, b.v.ValidateEvent(widgetType, doc), "/event_type", "/payload/people_detail", "/payload/id")

	minimal := decode(t, []byte(`{"event_type":"x","payload":{}}`))
	require.NoError(t, b.v.ValidateEvent("x", minimal))

	tests := []struct {
		name string
		doc  string
		want []string
	}{
		{"not an object", `[1]`, []string{""}},
		{"null", `null`, []string{""}},
		{"empty", `{}`, []string{"/event_type", "/payload"}},
		{"empty event_type", `{"event_type":"","payload":{}}`, []string{"/event_type"}},
		{"long event_type", `{"event_type":"` + strings.Repeat("e", 129) + `","payload":{}}`, []string{"/event_type"}},
		{"numeric event_type", `{"event_type":7,"payload":{}}`, []string{"/event_type"}},
		{"payload a string", `{"event_type":"x","payload":"{}"}`, []string{"/payload"}},
		{"payload null", `{"event_type":"x","payload":null}`, []string{"/payload"}},
		{"metadata an array", `{"event_type":"x","payload":{},"metadata":[]}`, []string{"/metadata"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := b.v.ValidateEvent("x", decode(t, []byte(tt.doc)))
			requireProblems(t, err, tt.want...)
			require.Contains(t, err.Error(), "envelope.schema.json")
		})
	}
}

func TestErrorIsBounded(t *testing.T) {
	t.Parallel()
	b := setup(t)

	doc := b.event(t, func(_, p, _ map[string]any) {
		meta := p["meta"].([]any)
		for range 300 {
			meta = append(meta, json.Number("1"))
		}
		p["meta"] = meta
	})
	err := b.v.ValidateEvent(widgetType, doc)
	requireProblems(t, err, "/payload/meta/2")
	var serr *schema.Error
	require.ErrorAs(t, err, &serr)
	require.Len(t, serr.Problems, 300)
	msg := err.Error()
	require.LessOrEqual(t, len(msg), 1024)
	require.Regexp(t, `; and \d+ more$`, msg)

	// One huge problem is clipped, and still says where it is.
	doc = b.event(t, func(_, _, pd map[string]any) { pd["widget_latitude"] = strings.Repeat("é", 5000) })
	err = b.v.ValidateEvent(widgetType, doc)
	requireProblems(t, err, "/payload/people_detail/widget_latitude")
	require.LessOrEqual(t, len(err.Error()), 1024)
}

// filledLead returns a lead with every field set, as the worker builds one.
func filledLead() pipeline.Lead {
	return pipeline.Lead{
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
		UTMSource:       "google",
		UTMMedium:       "cpc",
		UTMCampaign:     "Test",
		UTMTerm:         "purifier",
		UTMContent:      "ad1",
		ProductCategory: "Water Purifier",
		ProductSKU:      "Test",
		Attributes: map[string]json.RawMessage{
			"widget_latitude": json.RawMessage(`28.4098`),
			"extra1":          json.RawMessage(`"N1"`),
			"nested":          json.RawMessage(`{"a":[1,null]}`),
		},
		SeenAt: time.UnixMilli(1720694558068).In(time.FixedZone("IST", 19800)),
	}
}

func marshalLead(t *testing.T, l pipeline.Lead, extra map[string]any) map[string]any {
	t.Helper()
	raw, err := json.Marshal(l)
	require.NoError(t, err)
	doc := decode(t, raw).(map[string]any)
	for k, v := range extra {
		doc[k] = v
	}
	return doc
}

func TestLeadValid(t *testing.T) {
	t.Parallel()
	b := setup(t)

	require.NoError(t, b.v.ValidateLead(marshalLead(t, filledLead(), nil)))
	require.NoError(t, b.v.ValidateLead(marshalLead(t, filledLead(), map[string]any{
		"id":         json.Number("42"),
		"created_at": "2024-07-11T10:42:38Z",
		"updated_at": "2024-07-11T10:42:38.068123+05:30",
	})))
	// The zero lead still marshals seen_at (0001-01-01T00:00:00Z) and nothing else.
	require.NoError(t, b.v.ValidateLead(marshalLead(t, pipeline.Lead{}, nil)))
}

func TestLeadRejects(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		set  map[string]any
		drop string
		want string
	}{
		{"no seen_at", nil, "seen_at", "/seen_at"},
		{"seen_at not a date-time", map[string]any{"seen_at": "yesterday"}, "", "/seen_at"},
		{"created_at date only", map[string]any{"created_at": "2024-07-11"}, "", "/created_at"},
		{"id a string", map[string]any{"id": "42"}, "", "/id"},
		{"id zero", map[string]any{"id": json.Number("0")}, "", "/id"},
		{"email a number", map[string]any{"email": json.Number("1")}, "", "/email"},
		{"attributes an array", map[string]any{"attributes": []any{}}, "", "/attributes"},
	}
	b := setup(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			doc := marshalLead(t, filledLead(), tt.set)
			delete(doc, tt.drop)
			err := b.v.ValidateLead(doc)
			requireProblems(t, err, tt.want)
			require.Contains(t, err.Error(), "lead.schema.json")
		})
	}
}

// TestLeadSchemaCoversLead fails when pipeline.Lead gains a JSON field lead.schema.json does not
// describe. The schema itself allows unknown fields, so this test, not production, catches drift.
func TestLeadSchemaCoversLead(t *testing.T) {
	t.Parallel()

	raw, err := fs.ReadFile(schemas.FS, "lead.schema.json")
	require.NoError(t, err)
	var sch struct {
		Properties map[string]any `json:"properties"`
	}
	require.NoError(t, json.Unmarshal(raw, &sch))

	typ := reflect.TypeFor[pipeline.Lead]()
	for i := range typ.NumField() {
		f := typ.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		require.Contains(t, sch.Properties, name, "pipeline.Lead.%s is not in lead.schema.json", f.Name)
	}
}

func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	b := setup(t)

	good := b.event(t, nil)
	bad := b.event(t, func(_, p, _ map[string]any) { p["people_detail"] = "x" })
	ld := marshalLead(t, filledLead(), nil)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				if err := b.v.ValidateEvent(widgetType, good); err != nil {
					t.Error(err)
				}
				if err := b.v.ValidateEvent(widgetType, bad); err == nil {
					t.Error("bad event validated")
				}
				if err := b.v.ValidateLead(ld); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
}

func BenchmarkValidateEvent(b *testing.B) {
	tb := setup(b)
	doc := decode(b, tb.fixture)
	b.ReportAllocs()
	for b.Loop() {
		if err := tb.v.ValidateEvent(widgetType, doc); err != nil {
			b.Fatal(err)
		}
	}
}
