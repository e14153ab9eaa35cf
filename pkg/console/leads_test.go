package console_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/internal/testkit"
)

type leadsAnswer struct {
	Leads []struct {
		ID           int64             `json:"id"`
		Name         string            `json:"name"`
		Email        string            `json:"email"`
		MobileNumber string            `json:"mobile_number"`
		City         string            `json:"city"`
		Events       int64             `json:"events"`
		Attributes   map[string]any    `json:"attributes"`
		Extra        map[string]string `json:"-"`
	} `json:"leads"`
	NextCursor *string `json:"next_cursor"`
}

func (b *testBundle) search(t *testing.T, q string) leadsAnswer {
	t.Helper()
	var a leadsAnswer
	b.getJSON(t, "/api/leads?q="+url.QueryEscape(q), &a)
	return a
}

// q finds a lead by email in any case and with spaces, by a phone written any way the pipeline
// normalizes, and by part of a name; each lead carries its event count.
func TestLeadsSearch(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ids := b.store(t,
		person("e-1", "Asha Rao", "asha@example.com", "+91 98765 43210"),
		person("e-2", "Asha Rao", "asha@example.com", ""),
		person("e-3", "Ravi Kumar", "ravi@example.com", "9000000001"),
		testkit.Fixture(t))
	require.Equal(t, ids[0], ids[1])

	for _, q := range []string{"  ASHA@Example.com ", "098765 43210", "+919876543210", "98765-43210", "sha r"} {
		a := b.search(t, q)
		require.Len(t, a.Leads, 1, q)
		require.Equal(t, ids[0], a.Leads[0].ID, q)
		require.EqualValues(t, 2, a.Leads[0].Events, q)
		require.Equal(t, "+919876543210", a.Leads[0].MobileNumber)
	}
	// The fixture's invalid number is kept as sent, and found as typed.
	a := b.search(t, "+910987654321")
	require.Len(t, a.Leads, 1)
	require.Equal(t, "Prakash Mudhaliyar", a.Leads[0].Name)
	require.Empty(t, b.search(t, "nobody@example.com").Leads)
	require.Len(t, b.search(t, "").Leads, 3)
}

// Issue 23 item 9: q is also a fragment of a name, an email or a city, in any case, and the
// leads page says how it read the search.
func TestLeadsSearchFragments(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ids := b.store(t,
		person("f-1", "Asha Rao", "asha.rao@gmail.com", "+91 98765 43210"),
		person("f-2", "Ravi Kumar", "ravi@example.com", "9000000001"),
		testkit.Fixture(t))
	for q, want := range map[string][]int64{
		"GMAIL":        {ids[0]},
		"rao@gm":       {ids[0]}, // an @ but no whole address: a fragment
		"@GMAIL.COM":   {ids[0]},
		"xample":       {ids[1]},
		"kumar":        {ids[1]},
		"pun":          {ids[1], ids[0]}, // person's widget_city is Pune
		"nobody-there": {},
	} {
		var got []int64
		for _, l := range b.search(t, q).Leads {
			got = append(got, l.ID)
		}
		require.ElementsMatch(t, want, got, q)
	}
	for q, says := range map[string]string{
		"rao":            "Leads whose name, email or city contains “rao”",
		"asha@x.example": "Leads with this email “asha@x.example”",
		"asha@x":         "Leads whose name, email or city contains “asha@x”",
		"098765 43210":   "Leads with this phone number “098765 43210”",
	} {
		require.Contains(t, b.page(t, "/?q="+url.QueryEscape(q)), says, q)
	}
	require.NotContains(t, b.page(t, "/"), `id="searched"`)
}

// Newest updated first, in keyset pages; the cursor of the last page is empty.
func TestLeadsPaging(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var bodies [][]byte
	for i := range 5 {
		bodies = append(bodies, person(fmt.Sprintf("p-%d", i), fmt.Sprintf("Person %d", i), fmt.Sprintf("p%d@example.com", i), ""))
	}
	ids := b.store(t, bodies...)
	var got []int64
	path := "/api/leads?limit=2"
	for range 4 {
		var a leadsAnswer
		b.getJSON(t, path, &a)
		for _, l := range a.Leads {
			got = append(got, l.ID)
		}
		require.NotNil(t, a.NextCursor, "next_cursor is always there")
		if *a.NextCursor == "" {
			break
		}
		path = "/api/leads?limit=2&cursor=" + url.QueryEscape(*a.NextCursor)
	}
	require.Equal(t, []int64{ids[4], ids[3], ids[2], ids[1], ids[0]}, got)

	for _, bad := range []string{"limit=0", "limit=501", "limit=x", "cursor=nonsense"} {
		code, body := b.do(t, http.MethodGet, "/api/leads?"+bad, nil, true)
		require.Equal(t, http.StatusBadRequest, code, bad)
		c, _ := apiErr(t, body)
		require.Equal(t, "invalid_query", c)
	}
}

// A lead with its meetings and history (oldest first), and the stored event as received.
func TestLeadDetailAndEvent(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ids := b.store(t, testkit.WithID(testkit.Fixture(t), "first"), testkit.WithID(testkit.Fixture(t), "second"))
	var a struct {
		Lead struct {
			ID     int64  `json:"id"`
			Email  string `json:"email"`
			Events int64  `json:"events"`
		} `json:"lead"`
		Meetings []struct {
			ID     string `json:"id"`
			Status string `json:"status"`
		} `json:"meetings"`
		History []struct {
			EventID    string `json:"event_id"`
			EventType  string `json:"event_type"`
			ReceivedAt string `json:"received_at"`
			StoredAt   string `json:"stored_at"`
		} `json:"history"`
	}
	b.getJSON(t, fmt.Sprintf("/api/leads/%d", ids[0]), &a)
	require.Equal(t, "prakashm@athenabpo.in", a.Lead.Email)
	require.EqualValues(t, 2, a.Lead.Events)
	require.Len(t, a.Meetings, 1)
	require.Len(t, a.History, 2)
	require.Equal(t, "first", a.History[0].EventID)
	require.Equal(t, "widget_new_conversation", a.History[0].EventType)
	require.NotEmpty(t, a.History[0].StoredAt)

	var ev struct {
		EventID string          `json:"event_id"`
		LeadID  int64           `json:"lead_id"`
		Payload json.RawMessage `json:"payload"`
	}
	b.getJSON(t, "/api/events/second", &ev)
	require.Equal(t, ids[0], ev.LeadID)
	require.JSONEq(t, string(testkit.WithID(testkit.Fixture(t), "second")), string(ev.Payload))

	code, body := b.do(t, http.MethodGet, "/api/leads/999", nil, true)
	require.Equal(t, http.StatusNotFound, code)
	c, _ := apiErr(t, body)
	require.Equal(t, "not_found", c)
	code, _ = b.do(t, http.MethodGet, "/api/events/nope", nil, true)
	require.Equal(t, http.StatusNotFound, code)
}

// leads.csv: a header row, one row per matching lead, and formulas typed by visitors defused
// while phone numbers stay numbers.
func TestLeadsCSV(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.store(t,
		person("c-1", "=HYPERLINK(\"http://evil\")", "a@example.com", "9876543210"),
		person("c-2", "Plain Name", "b@example.com", ""))
	code, body := b.do(t, http.MethodGet, "/api/leads.csv", nil, true)
	require.Equal(t, http.StatusOK, code)
	rows := spreadsheet(t, body)
	require.Len(t, rows, 3)
	require.Equal(t, []string{"id", "name", "email", "mobile_number"}, rows[0][:4])
	require.Equal(t, "Plain Name", rows[1][1])
	require.Equal(t, `'=HYPERLINK("http://evil")`, rows[2][1])
	require.Equal(t, "+919876543210", rows[2][3])

	code, body = b.do(t, http.MethodGet, "/api/leads.csv?q=b@example.com", nil, true)
	require.Equal(t, http.StatusOK, code)
	require.Len(t, spreadsheet(t, body), 2)
}

// leads.csv opens in Excel with accents intact: it starts with one UTF-8 byte order mark by
// default, and ?bom=0 leaves it out. Read the way a spreadsheet reads it (the mark taken as the
// encoding and dropped, the text UTF-8, spaces and invisible characters before a cell's first
// sign ignored), no cell is a formula, the mark included: it is never part of a cell of data.
func TestLeadsCSVOpensInASpreadsheet(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.store(t,
		person("x-1", "José Ñúñez", "jose@example.com", "9876543210"),
		person("x-2", "\ufeff=1+1", "bom@example.com", ""),
		person("x-3", "\u200b@SUM(A1:A9)", "zw@example.com", ""),
		person("x-4", "=cmd|' /C calc'!A0", "dde@example.com", ""),
		person("x-5", "राहुल शर्मा", "rahul@example.com", ""),
		person("x-6", "-2+3", "minus@example.com", ""))
	code, body := b.do(t, http.MethodGet, "/api/leads.csv", nil, true)
	require.Equal(t, http.StatusOK, code)
	require.True(t, bytes.HasPrefix(body, []byte("\xef\xbb\xbfid,")), "one byte order mark, then the header: %q", body[:min(12, len(body))])
	require.False(t, bytes.HasPrefix(body[3:], []byte("\xef\xbb\xbf")), "one mark, not two")
	rows := spreadsheet(t, body)
	require.Equal(t, "id", rows[0][0], "the mark is not part of the first column's name")
	names := map[string]bool{}
	for _, row := range rows[1:] {
		names[row[1]] = true
		for _, c := range row {
			require.False(t, isFormula(c), "a spreadsheet would run the cell %q", c)
		}
	}
	require.True(t, names["José Ñúñez"], "accents intact: %v", names)
	require.True(t, names["राहुल शर्मा"], "%v", names)

	code, body = b.do(t, http.MethodGet, "/api/leads.csv?bom=0", nil, true)
	require.Equal(t, http.StatusOK, code)
	require.True(t, bytes.HasPrefix(body, []byte("id,name,")), "no mark with bom=0")
	require.Len(t, spreadsheet(t, body), 7)
	code, body = b.do(t, http.MethodGet, "/api/leads.csv?bom=maybe", nil, true)
	require.Equal(t, http.StatusBadRequest, code)
	c, msg := apiErr(t, body)
	require.Equal(t, "invalid_query", c)
	require.Contains(t, msg, "bom=0")
}

// spreadsheet reads a CSV file as a spreadsheet does: a leading UTF-8 byte order mark says the
// encoding and is dropped, the text is UTF-8, then the rows.
func spreadsheet(t *testing.T, file []byte) [][]string {
	t.Helper()
	text, _ := bytes.CutPrefix(file, []byte("\xef\xbb\xbf"))
	require.True(t, utf8.Valid(text))
	rows, err := csv.NewReader(bytes.NewReader(text)).ReadAll()
	require.NoError(t, err)
	return rows
}

// isFormula says whether a spreadsheet would evaluate cell: its first sign, after spaces and
// invisible characters some spreadsheets drop, is = + - @ and the cell is not a plain number
// (a quoted cell starting with ' is text).
func isFormula(cell string) bool {
	rest := strings.TrimLeftFunc(cell, func(r rune) bool { return unicode.IsSpace(r) || unicode.Is(unicode.Cf, r) })
	if rest == "" || !strings.ContainsRune("=+-@", rune(rest[0])) {
		return false
	}
	_, err := strconv.ParseFloat(strings.ReplaceAll(rest, " ", ""), 64)
	return err != nil
}

// Markup in lead data is text on every page: html/template escapes it.
func TestPagesEscapeLeadData(t *testing.T) {
	t.Parallel()
	b := setup(t)
	const evil = `<img src=x onerror=alert(1)>`
	ids := b.store(t, person("x-1", evil, "x@example.com", ""))
	for _, p := range []string{"/", fmt.Sprintf("/leads/%d", ids[0]), "/events/x-1", "/schema/widget_new_conversation"} {
		code, body := b.do(t, http.MethodGet, p, nil, true)
		require.Equal(t, http.StatusOK, code, p)
		require.NotContains(t, string(body), "<img", p)
	}
	_, body := b.do(t, http.MethodGet, "/", nil, true)
	require.Contains(t, string(body), "&lt;img src=x onerror=alert(1)&gt;")
}
