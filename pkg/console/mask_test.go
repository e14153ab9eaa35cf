package console_test

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/internal/testkit"
	"github.com/saleassist-pipeline/pipeline/pkg/mapping"
)

// contactData lists the full phone numbers and email addresses in a JSON document, found on
// their own terms: every email-shaped text, every value under a key that says phone or mobile,
// and every digit run (in a text or a number) that is a valid phone number in region IN.
func contactData(t *testing.T, doc []byte) (phones, emails []string) {
	t.Helper()
	m, err := mapping.NewMapper("IN")
	require.NoError(t, err)
	email := regexp.MustCompile(`[\w.+-]+@[\w-]+(\.[\w-]+)+`)
	run := regexp.MustCompile(`\+?\d[\d ()-]{5,}\d`)
	var v any
	d := json.NewDecoder(strings.NewReader(string(doc)))
	d.UseNumber()
	require.NoError(t, d.Decode(&v))
	var walk func(key string, v any)
	walk = func(key string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, c := range x {
				walk(k, c)
			}
		case []any:
			for _, c := range x {
				walk(key, c)
			}
		case json.Number:
			walk(key, x.String())
		case string:
			if strings.Contains(x, "[{") { // JSON inside a string (registration_form)
				var inner any
				if json.Unmarshal([]byte(x), &inner) == nil {
					walk(key, inner)
				}
			}
			emails = append(emails, email.FindAllString(x, -1)...)
			k := strings.ToLower(key)
			if (strings.Contains(k, "phone") || strings.Contains(k, "mobile")) && strings.Count(x, "") > 7 {
				phones = append(phones, x)
			}
			for _, r := range run.FindAllString(x, -1) {
				if _, ok := m.NormalizePhone(r); ok {
					phones = append(phones, r)
				}
			}
		}
	}
	walk("", v)
	return phones, emails
}

// lastDigits is the national part of a phone as it could show: its last ten digits (fewer when
// it has fewer).
func lastDigits(p string) string {
	d := regexp.MustCompile(`\D`).ReplaceAllString(p, "")
	return d[max(0, len(d)-10):]
}

// Get Schema over the seed's sample: neither the API nor the schema page shows a full phone
// number or email address anywhere, though the sample carries them inside longer texts
// ("Meeting with +918765875687"), as bare numbers under keys that do not say phone
// ("moderators": ["8373916383"]) and under keys that do.
func TestSchemaOfTheSampleShowsNoContactData(t *testing.T) {
	t.Parallel()
	b := setup(t)
	fixture := testkit.Fixture(t)
	b.store(t, fixture)
	phones, emails := contactData(t, fixture)
	require.Subset(t, phones, []string{"+918765875687", "8373916383", "+910987654321"}, "the sample's own numbers are found")
	require.Subset(t, emails, []string{"chetan@saleassist.ai", "prakashm@athenabpo.in"})

	_, api := b.do(t, http.MethodGet, "/api/schema/widget_new_conversation", nil, true)
	_, page := b.do(t, http.MethodGet, "/schema/widget_new_conversation", nil, true)
	require.Contains(t, string(api), "Meeting with +91••••••••87", "the text around a number stays")
	for name, body := range map[string]string{"API": string(api), "page": string(page)} {
		for _, p := range phones {
			require.NotContains(t, body, lastDigits(p), "%s shows the phone %s", name, p)
		}
		for _, e := range emails {
			require.NotContains(t, body, e, "%s shows the email %s", name, e)
			require.NotContains(t, body, e[:strings.IndexByte(e, '@')+1], "%s shows the email %s", name, e)
		}
	}
}

// Masking finds contact data by value, whatever the key, and leaves dates, times and short
// numbers readable.
func TestSchemaMasksByValue(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.store(t, []byte(`{"event_type":"mask_probe","payload":{"id":"m-1",
		"note":"Meeting with +918765875687 and mail a.b-c@example.co.in, or 098765 43210.",
		"contact":9876543210, "ref":"9876543210", "intl":"call +1 415 555 2671 now",
		"day":"2024-07-11", "at":"2024-07-11T10:30:00Z", "pin":411001, "count":42, "ms":1720694557992}}`))
	var a schemaAnswer
	b.getJSON(t, "/api/schema/mask_probe", &a)
	got := map[string]string{}
	masked := map[string]bool{}
	for _, f := range a.Fields {
		got[f.Path], masked[f.Path] = f.Example, f.Masked
	}
	require.Equal(t, "Meeting with +91••••••••87 and mail a•••@example.co.in, or 09•••• •••10.", got["payload.note"])
	for _, p := range []string{"payload.note", "payload.contact", "payload.ref", "payload.intl"} {
		require.True(t, masked[p], p)
	}
	require.Equal(t, "98••••••10", got["payload.contact"])
	require.Equal(t, "98••••••10", got["payload.ref"])
	require.Equal(t, "call +1 4•• ••• ••71 now", got["payload.intl"])
	for p, want := range map[string]string{"payload.day": "2024-07-11", "payload.at": "2024-07-11T10:30:00Z",
		"payload.pin": "411001", "payload.count": "42", "payload.ms": "1720694557992"} {
		require.Equal(t, want, got[p], p)
		require.False(t, masked[p], p)
	}
}
