package console

import (
	"encoding/json"
	"fmt"
	"html/template"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Stored numbers (E.164) read in the international format; what is not a valid number stays as
// stored; tel: links hold only '+' and digits.
func TestFormatPhoneAndTelURL(t *testing.T) {
	for stored, want := range map[string]string{
		"+919876543210": "+91 98765 43210",
		"+14155552671":  "+1 415-555-2671",
		"+442079460958": "+44 20 7946 0958",
		"12345":         "12345",   // kept as typed: not E.164
		"+9112":         "+9112",   // not a valid number
		"call me":       "call me", // not a number at all
		"":              "",
	} {
		require.Equal(t, want, formatPhone(stored), stored)
	}
	require.Equal(t, template.URL("tel:+919876543210"), telURL("+919876543210"))
	require.Equal(t, template.URL("tel:09876543210"), telURL("098765 43210"))
	require.Equal(t, template.URL("tel:12345"), telURL(`12"><script>345`), "only digits reach the link")
	require.Empty(t, telURL("12"), "too short to dial")
	require.Empty(t, telURL(""))
}

// CONSOLE_TZ: empty and UTC are UTC, an IANA name is that zone, anything else is refused with
// the setting named and an example of a good value.
func TestParseZone(t *testing.T) {
	for _, name := range []string{"", "UTC", "utc", " UTC "} {
		loc, err := ParseZone(name)
		require.NoError(t, err, name)
		require.Equal(t, time.UTC, loc, name)
	}
	loc, err := ParseZone("Asia/Kolkata")
	require.NoError(t, err)
	require.Equal(t, "Asia/Kolkata", loc.String())
	for _, bad := range []string{"Asia/Kolkatta", "IST+5:30", "Local", "../etc/passwd"} {
		_, err := ParseZone(bad)
		require.Error(t, err, bad)
		require.Contains(t, err.Error(), "CONSOLE_TZ=", bad)
		require.Contains(t, err.Error(), "Asia/Kolkata", "says what a good value looks like")
	}
}

// A time shows in the operator's zone, with UTC in its title (on hover) and datetime.
func TestClockShowsTheZoneWithUTCOnHover(t *testing.T) {
	loc, err := ParseZone("Asia/Kolkata")
	require.NoError(t, err)
	at := time.Date(2026, 12, 6, 18, 45, 0, 0, time.UTC)
	require.Equal(t, template.HTML(`<time datetime="2026-12-06T18:45:00Z" title="2026-12-06 18:45:00 UTC">2026-12-07 00:15:00 IST</time>`), clock{loc}.html(at))
	require.Equal(t, template.HTML(`<time datetime="2026-12-06T18:45:00Z" title="2026-12-06 18:45:00 UTC">2026-12-06 18:45:00 UTC</time>`), clock{time.UTC}.html(at))
	require.Equal(t, template.HTML("–"), clock{loc}.html(time.Time{}))
	require.Equal(t, "00:15 IST (18:45 UTC)", clock{loc}.minute(at))
	require.Equal(t, "18:45 UTC", clock{time.UTC}.minute(at))
	require.Equal(t, "IST", clock{loc}.zone())
}

// Attributes read as labels and values: no JSON quotes, objects indented.
func TestAttributesReadAsLabelsAndValues(t *testing.T) {
	got := attributes(map[string]json.RawMessage{
		"widget_location_source": json.RawMessage(`"Home page"`),
		"visits":                 json.RawMessage(`3`),
		"consent":                json.RawMessage(`true`),
		"note":                   json.RawMessage(`null`),
		"form":                   json.RawMessage(`{"size":"M"}`),
	})
	require.Equal(t, []attribute{
		{Key: "consent", Label: "Consent", Value: "true"},
		{Key: "form", Label: "Form", Value: "{\n  \"size\": \"M\"\n}", Block: true},
		{Key: "note", Label: "Note"},
		{Key: "visits", Label: "Visits", Value: "3"},
		{Key: "widget_location_source", Label: "Widget location source", Value: "Home page"},
	}, got)
}

// Paging links: Next pushes this page's cursor, Previous pops it, the first page has no
// Previous and the last no Next, and the stack stays bounded.
func TestLeadsPageLinks(t *testing.T) {
	base := url.Values{"q": {"asha"}, "limit": {""}}
	first := leadsPageLinks(base, "", "", "c1")
	require.Equal(t, pageLinks{Next: "/?cursor=c1&q=asha"}, first)

	second := leadsPageLinks(base, "c1", "", "c2")
	require.Equal(t, "/?cursor=c2&prev=c1&q=asha", second.Next)
	require.Equal(t, "/?q=asha", second.Prev, "back to the first page")
	require.Empty(t, second.First, "Previous is the first page already")

	third := leadsPageLinks(base, "c2", "c1", "")
	require.Empty(t, third.Next, "the last page")
	require.Equal(t, "/?cursor=c1&q=asha", third.Prev, "back to the second page, whose stack is empty")
	require.Equal(t, "/?q=asha", third.First)

	var stack []string
	for i := range maxPrevCursors + 10 {
		stack = append(stack, fmt.Sprintf("c%d", i))
	}
	deep := leadsPageLinks(url.Values{}, "cz", strings.Join(stack, ","), "next")
	next, err := url.Parse(deep.Next)
	require.NoError(t, err)
	kept := strings.Split(next.Query().Get("prev"), ",")
	require.Len(t, kept, maxPrevCursors)
	require.Equal(t, "cz", kept[len(kept)-1], "the newest is kept, the oldest dropped")
	require.Equal(t, "/?cursor="+stack[len(stack)-1]+"&prev="+url.QueryEscape(strings.Join(stack[:len(stack)-1], ",")), deep.Prev)
}
