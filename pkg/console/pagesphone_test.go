package console_test

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"html"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// page GETs a console page with the admin token, requiring 200.
func (b *testBundle) page(t *testing.T, path string) string {
	t.Helper()
	code, body := b.do(t, http.MethodGet, path, nil, true)
	require.Equal(t, http.StatusOK, code, path)
	return string(body)
}

var linkRE = regexp.MustCompile(`<a href="([^"]*)" id="(prev|next|first)"`)

// links returns a leads page's paging links by id, unescaped.
func links(body string) map[string]string {
	out := map[string]string{}
	for _, m := range linkRE.FindAllStringSubmatch(body, -1) {
		out[m[2]] = html.UnescapeString(m[1])
	}
	return out
}

var leadNameRE = regexp.MustCompile(`class="lead-link">([^<]*)</a>`)

func leadNames(body string) []string {
	var out []string
	for _, m := range leadNameRE.FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

// The leads page shows the account's total and pages both ways: Next to the end, then
// Previous back to the start, each page the same as on the way forward; a search keeps its
// query on every link.
func TestLeadsPagePagesBothWays(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var bodies [][]byte
	for i := range 5 {
		bodies = append(bodies, person(fmt.Sprintf("pg-%d", i), fmt.Sprintf("Person %d", i), fmt.Sprintf("p%d@example.com", i), ""))
	}
	b.store(t, bodies...)

	path := "/?limit=2"
	var forward [][]string
	for {
		body := b.page(t, path)
		require.Contains(t, body, `id="total">5 in all<`)
		forward = append(forward, leadNames(body))
		l := links(body)
		if len(forward) == 1 {
			require.NotContains(t, l, "prev", "the first page has no Previous")
		} else {
			require.Contains(t, l, "prev")
		}
		next, ok := l["next"]
		if !ok {
			break
		}
		require.Contains(t, next, "limit=2")
		path = next
		require.Less(t, len(forward), 5, "Next never ends")
	}
	require.Equal(t, [][]string{{"Person 4", "Person 3"}, {"Person 2", "Person 1"}, {"Person 0"}}, forward)

	for i := len(forward) - 1; i > 0; i-- {
		body := b.page(t, path)
		require.Equal(t, forward[i], leadNames(body), "page %d", i)
		path = links(body)["prev"]
		require.NotEmpty(t, path, "page %d has a Previous", i)
	}
	body := b.page(t, path)
	require.Equal(t, forward[0], leadNames(body), "Previous leads back to the first page")
	require.NotContains(t, links(body), "prev")

	body = b.page(t, "/?q=Person&limit=2")
	require.Contains(t, links(body)["next"], "q=Person")
	next := b.page(t, links(body)["next"])
	require.Contains(t, links(next)["prev"], "q=Person")
}

// Phones read formatted and dial as tel:, emails are mailto:, the event names its lead, times
// show in CONSOLE_TZ with UTC on hover, and the JSON API stays UTC.
func TestPagesReadForPeople(t *testing.T) {
	t.Parallel()
	b := setup(t, withZone(t, "Asia/Kolkata"))
	ids := b.store(t, []byte(`{"event_type":"widget_new_conversation","payload":{"id":"rp-1","people_detail":`+
		`{"name":"Asha Rao","email":"asha.rao@example.com","mobile_number":"+919876543210","preferred_store":"Koregaon Park","visits":3}},"metadata":{}}`))

	leads := b.page(t, "/")
	require.Contains(t, leads, `<a href="tel:&#43;919876543210" class="phone">&#43;91 98765 43210</a>`)
	require.Contains(t, leads, `<a href="mailto:asha.rao@example.com" class="email">asha.rao@example.com</a>`)
	require.Contains(t, leads, "Updated (IST)")
	require.Regexp(t, `<time datetime="[0-9T:-]+Z" title="[0-9 :-]+ UTC">[0-9 :-]+ IST</time>`, leads)

	lead := b.page(t, fmt.Sprintf("/leads/%d", ids[0]))
	require.Contains(t, lead, `id="lead-phone"><a href="tel:&#43;919876543210" class="phone">&#43;91 98765 43210</a>`)
	require.Contains(t, lead, `<dt title="preferred_store">Preferred store</dt><dd>Koregaon Park</dd>`, "attributes read as labels and values")
	require.Contains(t, lead, `<dt title="visits">Visits</dt><dd>3</dd>`)
	require.NotContains(t, lead, `<dd>&#34;Koregaon Park&#34;`, "no JSON quotes")

	ev := b.page(t, "/events/rp-1")
	require.Contains(t, ev, fmt.Sprintf(`<a href="/leads/%d" id="event-lead">Asha Rao</a>`, ids[0]))

	var api struct {
		ReceivedAt string `json:"received_at"`
	}
	b.getJSON(t, "/api/events/rp-1", &api)
	at, err := time.Parse(time.RFC3339Nano, api.ReceivedAt)
	require.NoError(t, err)
	require.True(t, strings.HasSuffix(api.ReceivedAt, "Z"), "the API stays UTC: %s", api.ReceivedAt)
	require.Contains(t, ev, `title="`+at.UTC().Format("2006-01-02 15:04:05")+` UTC">`+at.In(istZone(t)).Format("2006-01-02 15:04:05")+` IST</time>`)
}

func istZone(t *testing.T) *time.Location {
	loc, err := time.LoadLocation("Asia/Kolkata")
	require.NoError(t, err)
	return loc
}

// The page's stylesheet is the one the Content-Security-Policy allows, byte for byte: a change
// html/template makes to it (it drops CSS comments) would leave every page unstyled.
func TestStylesheetMatchesThePolicy(t *testing.T) {
	t.Parallel()
	b := setup(t)
	resp, err := http.Get(b.srv.URL + "/signin")
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	_, css, ok := strings.Cut(string(body), "<style>")
	require.True(t, ok)
	css, _, _ = strings.Cut(css, "</style>")
	sum := sha256.Sum256([]byte(css))
	require.Contains(t, resp.Header.Get("Content-Security-Policy"), "'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'")
	require.Contains(t, css, "table.cards thead{display:none}", "the phone's cards are in it")
}
