package console_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline"
)

// storeFor stores bodies as events sent to account acct, one batch each, and returns the lead ids.
func (b *testBundle) storeFor(t *testing.T, acct string, bodies ...[]byte) []int64 {
	t.Helper()
	var ids []int64
	for _, body := range bodies {
		rec := dispatch(t, body)
		rec.Account = acct
		res, err := b.db.Apply(context.Background(), []pipeline.Record{*rec})
		require.NoError(t, err)
		require.NoError(t, res[0].Err)
		ids = append(ids, res[0].LeadID)
	}
	return ids
}

type leadEmails struct {
	Leads []struct {
		ID    int64  `json:"id"`
		Email string `json:"email"`
	} `json:"leads"`
}

func (l leadEmails) emails() []string {
	var out []string
	for _, x := range l.Leads {
		out = append(out, x.Email)
	}
	return out
}

// Leads, lead pages, events, the CSV export, schema and stats are the token's account's only.
// The same person in two accounts is two leads; another account's lead or event by id is a 404
// worded exactly as a missing one, on the API and on the pages.
func TestAccountTokenReadsItsOwnLeads(t *testing.T) {
	t.Parallel()
	tn, accts := newTenants()
	b := setup(t, withAccounts(accts...))
	acme := b.storeFor(t, "acme", person("ev-a1", "Ann Acme", "ann@example.com", "9876543210"), person("ev-shared", "Sam Both", "sam@example.com", ""))
	globex := b.storeFor(t, "globex", person("ev-g1", "Gus Globex", "gus@example.com", "9876500000"), person("ev-shared", "Sam Both", "sam@example.com", ""))
	b.storeFor(t, "", person("ev-d1", "Dee Default", "dee@example.com", ""))
	require.NotEqual(t, acme[1], globex[1], "the same person in two accounts is two leads")

	var l leadEmails
	b.getAs(t, tn.acme, "/api/leads", http.StatusOK, &l)
	require.ElementsMatch(t, []string{"ann@example.com", "sam@example.com"}, l.emails())
	b.getAs(t, tn.acme, "/api/leads?q=gus@example.com", http.StatusOK, &l)
	require.Empty(t, l.Leads, "a search finds nothing of another account")

	// Another account's lead and event read as missing ones.
	missingLead, missingEvent := strconv.FormatInt(globex[0]+1000, 10), "ev-none"
	for _, tc := range []struct{ path, absent, id, absentID string }{
		{"/api/leads/" + itoa64(globex[0]), "/api/leads/" + missingLead, itoa64(globex[0]), missingLead},
		{"/api/events/ev-g1", "/api/events/" + missingEvent, "", ""},
		{"/api/events?id=ev-g1", "/api/events?id=" + missingEvent, "", ""},
	} {
		body := b.getAs(t, tn.acme, tc.path, http.StatusNotFound, nil)
		absent := b.getAs(t, tn.acme, tc.absent, http.StatusNotFound, nil)
		_, msg := apiErr(t, body)
		_, absentMsg := apiErr(t, absent)
		if tc.id != "" {
			msg = strings.ReplaceAll(msg, tc.id, tc.absentID)
		}
		require.Equal(t, absentMsg, msg, tc.path)
	}
	for _, path := range []string{"/leads/" + itoa64(globex[0]), "/events/ev-g1"} {
		code, page := b.doAs(t, tn.acme, http.MethodGet, path, nil, "Accept", "text/html")
		require.Equal(t, http.StatusNotFound, code, path)
		require.NotContains(t, string(page), "Gus")
	}
	// Its own lead shows its own copy of the shared event.
	var lead struct {
		Lead struct {
			Name string `json:"name"`
		} `json:"lead"`
		History []struct {
			EventID string `json:"event_id"`
		} `json:"history"`
	}
	b.getAs(t, tn.acme, "/api/leads/"+itoa64(acme[1]), http.StatusOK, &lead)
	require.Equal(t, "Sam Both", lead.Lead.Name)
	require.Len(t, lead.History, 1)
	b.getAs(t, tn.acme, "/api/events/ev-shared", http.StatusOK, nil)

	// The CSV export holds its leads only.
	csv := string(b.getAs(t, tn.acme, "/api/leads.csv?bom=0", http.StatusOK, nil))
	require.Equal(t, 3, strings.Count(csv, "\n"), "a header and two leads:\n%s", csv)
	require.Contains(t, csv, "ann@example.com")
	require.NotContains(t, csv, "gus@example.com")
	require.NotContains(t, csv, "dee@example.com")
	body := b.getAs(t, tn.acme, "/api/leads.csv?account=globex", http.StatusForbidden, nil)
	c, _ := apiErr(t, body)
	require.Equal(t, "account_forbidden", c)

	// Stats and the schema count and sample its own events.
	var stats struct {
		Leads  int64 `json:"leads"`
		Events int64 `json:"events"`
	}
	b.getAs(t, tn.acme, "/api/stats", http.StatusOK, &stats)
	require.EqualValues(t, 2, stats.Leads)
	require.EqualValues(t, 2, stats.Events)
	var types struct {
		Types []struct {
			Events int64 `json:"events"`
		} `json:"event_types"`
	}
	b.getAs(t, tn.acme, "/api/schema", http.StatusOK, &types)
	require.Len(t, types.Types, 1)
	require.EqualValues(t, 2, types.Types[0].Events)
}

func itoa64(n int64) string { return strconv.FormatInt(n, 10) }

// The admin token reads the default account without ?account= (the leads from before accounts)
// and any account with it.
func TestAdminReadsAnyAccountsLeads(t *testing.T) {
	t.Parallel()
	_, accts := newTenants()
	b := setup(t, withAccounts(accts...))
	g := b.storeFor(t, "globex", person("ev-g1", "Gus", "gus@example.com", ""))
	b.storeFor(t, "", person("ev-d1", "Dee", "dee@example.com", ""))

	var l leadEmails
	b.getJSON(t, "/api/leads", &l)
	require.Equal(t, []string{"dee@example.com"}, l.emails())
	b.getJSON(t, "/api/leads?account=globex", &l)
	require.Equal(t, []string{"gus@example.com"}, l.emails())
	b.getAs(t, testToken, "/api/leads/"+itoa64(g[0]), http.StatusNotFound, nil)
	b.getAs(t, testToken, "/api/leads/"+itoa64(g[0])+"?account=globex", http.StatusOK, nil)
	csv := string(b.getAs(t, testToken, "/api/leads.csv?account=globex", http.StatusOK, nil))
	require.Contains(t, csv, "gus@example.com")
	require.NotContains(t, csv, "dee@example.com")
}
