package mapping

import (
	"encoding/json"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline"
	"github.com/saleassist-pipeline/pipeline/internal/testkit"
)

type testBundle struct {
	mapper *Mapper
}

func setup(t testing.TB) *testBundle {
	t.Helper()
	return &testBundle{mapper: newMapper(t, "IN")}
}

func newMapper(t testing.TB, region string) *Mapper {
	t.Helper()
	m, err := NewMapper(region)
	require.NoError(t, err)
	return m
}

// loadFixture returns the sample's "payload", decoded the way the worker decodes it.
func loadFixture(t testing.TB) map[string]any {
	t.Helper()
	return decodePayload(t, string(testkit.Fixture(t)))
}

// decodePayload decodes an envelope {"payload": ...} as the worker does and returns its payload.
func decodePayload(t testing.TB, body string) map[string]any {
	t.Helper()
	payload, _ := testkit.Document(t, []byte(body))["payload"].(map[string]any)
	require.NotNil(t, payload, "payload is not an object: %s", body)
	return payload
}

func TestFromPayloadFixture(t *testing.T) {
	t.Parallel()

	received := time.Date(2024, 7, 11, 16, 0, 0, 0, time.FixedZone("IST", 5*3600+1800))
	l, err := setup(t).mapper.FromPayload(loadFixture(t), received)
	require.NoError(t, err)
	require.NotNil(t, l)

	attrs := l.Attributes
	l.Attributes = nil
	require.Equal(t, pipeline.Lead{
		SourceID:        "9d438aaa-1eaa-496a-a8b3-b4f98367bb0d",
		Name:            "Prakash Mudhaliyar",
		Email:           "prakashm@athenabpo.in",
		MobileNumber:    "+910987654321", // not a valid number: kept as sent
		AltPhone:        "+918765875687", // payload.unique_field_value
		Address:         "Thane",
		Pincode:         "400615",
		City:            "Faridabad",
		State:           "Haryana",
		Country:         "India",
		UTMCampaign:     "Test",
		ProductCategory: "Water Purifier",
		ProductSKU:      "Test",
		SeenAt:          time.UnixMilli(1720694558068).UTC(), // payload.updated_on
	}, *l)
	require.Equal(t, time.UTC, l.SeenAt.Location())

	require.ElementsMatch(t, []string{
		"date_of_month", "time_of_day", "day_of_week", "month_of_year", "originated_from",
		"device", "form_fill", "otp_verified", "extra1", "extra2", "widget_latitude",
		"widget_longitude", "widget_ip_address", "widget_location_source",
	}, slices.Collect(maps.Keys(attrs)))
	require.JSONEq(t, `28.4098`, string(attrs["widget_latitude"]))
	require.Equal(t, `77.31`, string(attrs["widget_longitude"]))
	require.Equal(t, `"28"`, string(attrs["date_of_month"]))
	require.Equal(t, `"N1"`, string(attrs["extra1"]))
	require.Equal(t, `"IP ADDRESS"`, string(attrs["widget_location_source"]))

	_, err = json.Marshal(l) // Attributes must hold valid JSON
	require.NoError(t, err)
}

func TestFromPayloadNoPerson(t *testing.T) {
	t.Parallel()

	m := setup(t).mapper
	for name, body := range map[string]string{
		"no people_detail":     `{"payload": {"id": "e1"}}`,
		"null":                 `{"payload": {"people_detail": null}}`,
		"string":               `{"payload": {"people_detail": "Prakash"}}`,
		"array":                `{"payload": {"people_detail": [{"name": "Prakash"}]}}`,
		"number":               `{"payload": {"people_detail": 7}}`,
		"empty object":         `{"payload": {"people_detail": {}}}`,
		"only blank values":    `{"payload": {"people_detail": {"name": " ", "email": null, "extra1": "", "x": {}}}}`,
		"phone elsewhere only": `{"payload": {"unique_field_value": "+919876543210", "people_detail": {"name": ""}}}`,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			l, err := m.FromPayload(decodePayload(t, body), time.Now())
			require.NoError(t, err)
			require.Nil(t, l)
		})
	}
}

func TestFromPayloadValues(t *testing.T) {
	t.Parallel()

	l, err := setup(t).mapper.FromPayload(decodePayload(t, `{"payload": {
		"unique_field_value": "not a phone",
		"people_detail": {
			"name": "  Asha  ",
			"email": " Asha@Example.IN ",
			"mobile_number": "098765 43210",
			"pincode": 400615,
			"utm_source": "",
			"utm_medium": null,
			"address": {"line1": "12 MG Road", "city": "Pune"},
			"product_sku": true,
			"id": 42,
			"extra1": {"tags": ["a<b", 1, null], "ok": false},
			"extra2": null,
			"extra3": "say \"hi\"\n"
		}}}`), time.Now())
	require.NoError(t, err)
	require.NotNil(t, l)

	require.Equal(t, "Asha", l.Name)
	require.Equal(t, "asha@example.in", l.Email)
	require.Equal(t, "+919876543210", l.MobileNumber)
	require.Empty(t, l.AltPhone)
	require.Equal(t, "400615", l.Pincode)
	require.Equal(t, "42", l.SourceID)
	require.Empty(t, l.UTMSource)
	require.Empty(t, l.UTMMedium)

	// Mapped keys with values that are not text are kept in Attributes, not lost.
	require.Empty(t, l.Address)
	require.JSONEq(t, `{"line1": "12 MG Road", "city": "Pune"}`, string(l.Attributes["address"]))
	require.Empty(t, l.ProductSKU)
	require.Equal(t, `true`, string(l.Attributes["product_sku"]))

	require.Equal(t, `{"ok":false,"tags":["a<b",1,null]}`, string(l.Attributes["extra1"]))
	require.Equal(t, `null`, string(l.Attributes["extra2"]))
	require.Equal(t, `"say \"hi\"\n"`, string(l.Attributes["extra3"]))
	require.Len(t, l.Attributes, 5)
	require.NotContains(t, l.Attributes, "utm_medium")
}

func TestFromPayloadAltPhone(t *testing.T) {
	t.Parallel()

	m := setup(t).mapper
	tests := []struct {
		name, mobile string
		unique       any
		want         string
	}{
		{"other number", "9876543210", "+918765875687", "+918765875687"},
		{"same number written differently", "+91 98765 43210", "09876543210", ""},
		{"same text", "+918765875687", " +918765875687 ", ""},
		{"json number", "", json.Number("8765875687"), "+918765875687"},
		{"email", "9876543210", "asha@example.in", ""},
		{"absent", "9876543210", nil, ""},
		{"mobile unparseable", "call me", "8765875687", "+918765875687"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			payload := map[string]any{"people_detail": map[string]any{"name": "A", "mobile_number": tt.mobile}}
			if tt.unique != nil {
				payload["unique_field_value"] = tt.unique
			}
			l, err := m.FromPayload(payload, time.Now())
			require.NoError(t, err)
			require.Equal(t, tt.want, l.AltPhone)
		})
	}
}

func TestFromPayloadSeenAt(t *testing.T) {
	t.Parallel()

	m := setup(t).mapper
	received := time.Date(2024, 7, 11, 16, 0, 0, 0, time.FixedZone("IST", 5*3600+1800))
	updated, created := time.UnixMilli(1720694558068).UTC(), time.UnixMilli(1720694557992).UTC()
	tests := []struct {
		name             string
		updated, created any
		want             time.Time
	}{
		{"updated_on wins", json.Number("1720694558068"), json.Number("1720694557992"), updated},
		{"created_on when no updated_on", nil, json.Number("1720694557992"), created},
		{"created_on when updated_on is 0", json.Number("0"), json.Number("1720694557992"), created},
		{"float64", 1720694558068.0, nil, updated},
		{"numeric string", " 1720694558068 ", nil, updated},
		{"exponent", json.Number("1.720694558068e12"), nil, updated},
		{"unreadable falls back", "yesterday", nil, received.UTC()},
		{"received when none", nil, nil, received.UTC()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			payload := map[string]any{"people_detail": map[string]any{"name": "A"}}
			if tt.updated != nil {
				payload["updated_on"] = tt.updated
			}
			if tt.created != nil {
				payload["created_on"] = tt.created
			}
			l, err := m.FromPayload(payload, received)
			require.NoError(t, err)
			require.Equal(t, tt.want, l.SeenAt)
			require.Equal(t, time.UTC, l.SeenAt.Location())
		})
	}
}

func TestFromPayloadUnencodable(t *testing.T) {
	t.Parallel()

	payload := map[string]any{"people_detail": map[string]any{"name": "A", "extra1": make(chan int)}}
	l, err := setup(t).mapper.FromPayload(payload, time.Now())
	require.ErrorContains(t, err, "people_detail.extra1")
	require.Nil(t, l)
}

// One Mapper serves every worker goroutine.
func TestFromPayloadConcurrent(t *testing.T) {
	t.Parallel()

	m, payload := setup(t).mapper, loadFixture(t)
	want, err := m.FromPayload(payload, time.Time{})
	require.NoError(t, err)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				got, err := m.FromPayload(payload, time.Time{})
				if err != nil || got.MobileNumber != want.MobileNumber || got.AltPhone != want.AltPhone ||
					len(got.Attributes) != len(want.Attributes) {
					t.Errorf("FromPayload = %+v, %v; want %+v", got, err, want)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestNormalizeEmail(t *testing.T) {
	t.Parallel()

	for in, want := range map[string]string{
		"prakashm@athenabpo.in":     "prakashm@athenabpo.in",
		" Prakash.M@AthenaBPO.IN\n": "prakash.m@athenabpo.in",
		"ÉLODIE@exemple.fr":         "élodie@exemple.fr",
		"not an email":              "not an email",
		"  ":                        "",
		"":                          "",
	} {
		require.Equal(t, want, NormalizeEmail(in), in)
	}
}

func BenchmarkFromPayload(b *testing.B) {
	m, payload := setup(b).mapper, loadFixture(b)
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.FromPayload(payload, now); err != nil {
			b.Fatal(err)
		}
	}
}
