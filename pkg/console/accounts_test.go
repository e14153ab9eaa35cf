package console_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/pkg/account"
	"github.com/saleassist-pipeline/pipeline/pkg/queue"
)

// tenants are two accounts beside the default one, each with a console token.
type tenants struct {
	acme, globex string // console tokens
}

func newTenants() (tenants, []account.Account) {
	tn := tenants{acme: account.NewSecret(), globex: account.NewSecret()}
	return tn, []account.Account{
		{ID: account.Default, Name: "Default"},
		{ID: "acme", Name: "Acme Brands", ConsoleTokenHashes: []string{account.HashSecret(tn.acme)}},
		{ID: "globex", Name: "Globex", ConsoleTokenHashes: []string{account.HashSecret(tn.globex)}},
	}
}

// quarantineOf keeps a malformed body as the ingest keeps a request to account acct's URL.
func (b *testBundle) quarantineOf(t *testing.T, acct string) uint64 {
	t.Helper()
	h := nats.Header{}
	h.Set(queue.HeaderQuarantineReason, "invalid_json")
	h.Set(queue.HeaderQuarantineError, "not JSON")
	h.Set(queue.HeaderReceivedAt, time.Now().UTC().Format(time.RFC3339Nano))
	h.Set(queue.HeaderAccount, acct)
	ack, err := b.js.JS.PublishMsg(context.Background(), &nats.Msg{Subject: b.js.Config.QuarantineSubject, Header: h, Data: []byte(`{"event_type":"x" "payload":{}}`)})
	require.NoError(t, err)
	return ack.Sequence
}

// getAs GETs path with token, requires want and decodes the answer into v (when not nil).
func (b *testBundle) getAs(t *testing.T, token, path string, want int, v any) []byte {
	t.Helper()
	code, body := b.doAs(t, token, http.MethodGet, path, nil)
	require.Equal(t, want, code, "%s: %s", path, body)
	if v != nil {
		require.NoError(t, json.Unmarshal(body, v), string(body))
	}
	return body
}

type dlIDs struct {
	DeadLetters []struct {
		ID      uint64 `json:"id"`
		EventID string `json:"event_id"`
		Account string `json:"account"`
	} `json:"dead_letters"`
}

func (l dlIDs) eventIDs() []string {
	var ids []string
	for _, d := range l.DeadLetters {
		ids = append(ids, d.EventID)
	}
	return ids
}

// An account's console token sees its own dead letters and quarantine only. Another account's
// dead letter or quarantined request by id is a 404 worded exactly as for one that does not
// exist, for reading, replaying and discarding alike, and it stays where it was; asking for
// another account with ?account= is refused whatever the id (403: it names no lead, and says
// nothing about which accounts exist).
func TestAccountTokenSeesItsOwnDeadLettersAndQuarantine(t *testing.T) {
	t.Parallel()
	tn, accts := newTenants()
	b := setup(t, withJetStream(t), withAccounts(accts...))
	mine := b.deadLetterOf(t, "acme", "dl-acme", "max_deliver", "database is locked", person("dl-acme", "Ann", "ann@acme.example", ""))
	theirs := b.deadLetterOf(t, "globex", "dl-globex", "max_deliver", "database is locked", person("dl-globex", "Gus", "gus@globex.example", ""))
	legacy := b.deadLetterAs(t, "dl-old", "max_deliver", "database is locked", person("dl-old", "Old", "old@example.com", ""))
	qMine, qTheirs := b.quarantineOf(t, "acme"), b.quarantineOf(t, "globex")

	var acc struct {
		Current  string `json:"current"`
		Accounts []struct{ ID, Name string }
	}
	b.getAs(t, tn.acme, "/api/accounts", http.StatusOK, &acc)
	require.Equal(t, "acme", acc.Current)
	require.Len(t, acc.Accounts, 1, "an account token is told of its own account only")
	require.Equal(t, "Acme Brands", acc.Accounts[0].Name)

	var l dlIDs
	b.getAs(t, tn.acme, "/api/deadletters", http.StatusOK, &l)
	require.Equal(t, []string{"dl-acme"}, l.eventIDs())
	require.Equal(t, "acme", l.DeadLetters[0].Account)
	var q struct {
		Quarantine []struct{ ID uint64 } `json:"quarantine"`
	}
	b.getAs(t, tn.acme, "/api/quarantine", http.StatusOK, &q)
	require.Len(t, q.Quarantine, 1)
	require.Equal(t, qMine, q.Quarantine[0].ID)

	// Another account's entry by id reads as one that does not exist.
	absent := theirs + 1000
	for _, tc := range []struct{ method, path, absent string }{
		{http.MethodGet, "/api/deadletters/" + itoa(theirs), "/api/deadletters/" + itoa(absent)},
		{http.MethodPost, "/api/deadletters/" + itoa(theirs) + "/replay", "/api/deadletters/" + itoa(absent) + "/replay"},
		{http.MethodPost, "/api/deadletters/" + itoa(legacy) + "/replay", "/api/deadletters/" + itoa(absent) + "/replay"},
		{http.MethodPost, "/api/quarantine/" + itoa(qTheirs) + "/replay", "/api/quarantine/" + itoa(qTheirs+1000) + "/replay"},
	} {
		code, body := b.doAs(t, tn.acme, tc.method, tc.path, nil)
		require.Equal(t, http.StatusNotFound, code, "%s: %s", tc.path, body)
		_, absentBody := b.doAs(t, tn.acme, tc.method, tc.absent, nil)
		_, msg := apiErr(t, body)
		_, absentMsg := apiErr(t, absentBody)
		require.Equal(t, absentMsg, strings.ReplaceAll(msg, idIn(tc.path), idIn(tc.absent)), "another account's entry must read as a missing one")
	}
	code, body := b.doAs(t, tn.acme, http.MethodPost, "/api/deadletters/"+itoa(theirs)+"/discard", strings.NewReader(`{"reason":"not mine"}`), "Content-Type", "application/json")
	require.Equal(t, http.StatusNotFound, code, string(body))
	b.getAs(t, testToken, "/api/deadletters?account=globex", http.StatusOK, &l)
	require.Equal(t, []string{"dl-globex"}, l.eventIDs(), "nothing was done to globex's dead letter")
	require.Zero(t, b.streamMsgs(t, queue.DefaultStream), "nothing was replayed")

	// Its own replays, into its own account.
	code, body = b.doAs(t, tn.acme, http.MethodPost, "/api/deadletters/"+itoa(mine)+"/replay", nil)
	require.Equal(t, http.StatusOK, code, string(body))
	s, err := b.js.JS.Stream(context.Background(), queue.DefaultStream)
	require.NoError(t, err)
	m, err := s.GetLastMsgForSubject(context.Background(), b.js.Config.Subject("acme", "widget_new_conversation"))
	require.NoError(t, err)
	require.Equal(t, "acme", m.Header.Get(queue.HeaderAccount))

	// ?account= of another account, existing or not, is refused alike; its own is fine.
	for _, other := range []string{"globex", "default", "no-such-account"} {
		body := b.getAs(t, tn.acme, "/api/deadletters?account="+other, http.StatusForbidden, nil)
		c, msg := apiErr(t, body)
		require.Equal(t, "account_forbidden", c)
		require.Contains(t, msg, `account "acme" only`)
		require.NotContains(t, msg, other)
	}
	b.getAs(t, tn.acme, "/api/deadletters?account=acme", http.StatusOK, nil)
	b.getAs(t, tn.globex, "/api/deadletters", http.StatusOK, &l)
	require.Equal(t, []string{"dl-globex"}, l.eventIDs())
}

// idIn is the last number in an API path.
func idIn(path string) string {
	parts := strings.Split(strings.TrimSuffix(strings.TrimSuffix(path, "/replay"), "/discard"), "/")
	return parts[len(parts)-1]
}

// The admin token sees every account: ?account= picks one per request (the default account
// without it), an unknown one is 404 unknown_account, and /api/accounts lists them all, the
// default first, with no secret nor token hash.
func TestAdminPicksAnAccountPerRequest(t *testing.T) {
	t.Parallel()
	_, accts := newTenants()
	b := setup(t, withJetStream(t), withAccounts(accts...))
	b.deadLetterOf(t, "acme", "dl-acme", "max_deliver", "x", person("dl-acme", "Ann", "", ""))
	b.deadLetterAs(t, "dl-old", "max_deliver", "x", person("dl-old", "Old", "", ""))

	var l dlIDs
	b.getAs(t, testToken, "/api/deadletters", http.StatusOK, &l)
	require.Equal(t, []string{"dl-old"}, l.eventIDs(), "without ?account= the default account, which has the entries from before accounts")
	b.getAs(t, testToken, "/api/deadletters?account=acme", http.StatusOK, &l)
	require.Equal(t, []string{"dl-acme"}, l.eventIDs())
	b.getAs(t, testToken, "/api/deadletters?account=globex", http.StatusOK, &l)
	require.Empty(t, l.DeadLetters)
	body := b.getAs(t, testToken, "/api/deadletters?account=nope", http.StatusNotFound, nil)
	c, msg := apiErr(t, body)
	require.Equal(t, "unknown_account", c)
	require.Contains(t, msg, "/api/accounts")

	body = b.getAs(t, testToken, "/api/accounts?account=globex", http.StatusOK, nil)
	var acc struct {
		Current  string `json:"current"`
		Accounts []map[string]any
	}
	require.NoError(t, json.Unmarshal(body, &acc))
	require.Equal(t, "globex", acc.Current)
	require.Len(t, acc.Accounts, 3)
	require.Equal(t, "default", acc.Accounts[0]["id"])
	require.NotContains(t, string(body), "hash")

	var stats struct {
		DeadLetters *uint64 `json:"dead_letters"`
	}
	b.getAs(t, testToken, "/api/stats?account=acme", http.StatusOK, &stats)
	require.NotNil(t, stats.DeadLetters)
	require.EqualValues(t, 1, *stats.DeadLetters, "stats count the account's dead letters")
}

// signInAs signs a cookie-keeping client in with token through the form and returns it with the
// CSRF token and the leads page it landed on.
func (b *testBundle) signInAs(t *testing.T, token string) (client *http.Client, csrf, page string) {
	t.Helper()
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	client = &http.Client{Jar: jar}
	resp, err := client.PostForm(b.srv.URL+"/signin", url.Values{"token": {token}})
	require.NoError(t, err)
	page = readAll(t, resp)
	require.Equal(t, http.StatusOK, resp.StatusCode, page)
	require.Equal(t, "/", resp.Request.URL.Path, "signed in, on the leads page")
	_, csrf, ok := strings.Cut(page, `name="csrf" value="`)
	require.True(t, ok, "the page carries a CSRF token")
	csrf, _, _ = strings.Cut(csrf, `"`)
	return client, csrf, page
}

// The admin's switcher: the header lists every account (the default first), the choice is kept
// in the session for pages and the API alike, and a form that names no known account is refused.
func TestSwitcherKeepsTheChoiceInTheSession(t *testing.T) {
	t.Parallel()
	_, accts := newTenants()
	b := setup(t, withJetStream(t), withAccounts(accts...))
	b.deadLetterOf(t, "globex", "dl-globex", "max_deliver", "x", person("dl-globex", "Gus", "", ""))
	client, csrf, page := b.signInAs(t, testToken)
	require.Contains(t, page, `id="switcher"`)
	require.Regexp(t, `<option value="default" selected>Default \(default\)</option><option value="acme">Acme Brands \(acme\)</option><option value="globex">Globex \(globex\)</option>`, page)

	resp, err := client.PostForm(b.srv.URL+"/account", url.Values{"csrf": {csrf}, "account": {"globex"}, "next": {"/deadletters"}})
	require.NoError(t, err)
	page = readAll(t, resp)
	require.Equal(t, http.StatusOK, resp.StatusCode, page)
	require.Equal(t, "/deadletters", resp.Request.URL.Path)
	require.Contains(t, page, `<option value="globex" selected>`)
	require.Contains(t, page, "dl-globex")
	resp, err = client.Get(b.srv.URL + "/api/deadletters")
	require.NoError(t, err)
	require.Contains(t, readAll(t, resp), "dl-globex", "the API under the session reads the chosen account too")

	resp, err = client.PostForm(b.srv.URL+"/account", url.Values{"csrf": {csrf}, "account": {"nope"}})
	require.NoError(t, err)
	page = readAll(t, resp)
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	require.Contains(t, page, "there is no account")
	resp, err = client.PostForm(b.srv.URL+"/account", url.Values{"account": {"acme"}})
	require.NoError(t, err)
	readAll(t, resp)
	require.Equal(t, http.StatusForbidden, resp.StatusCode, "the switcher's form needs the CSRF token")

	// With the default account alone there is nothing to switch to, and no switcher.
	solo := setup(t)
	_, _, page = solo.signInAs(t, testToken)
	require.NotContains(t, page, `id="switcher"`)
	require.NotContains(t, page, `id="account-name"`)
}

// An account's console token signs in to its account: the header names it, there is no switcher,
// and the switcher's form is refused. Its session ends when the account's token is replaced
// (`ingestctl accounts token` issues a new one) or the account is disabled; a disabled account's
// token does not sign in, and says why.
func TestAccountSession(t *testing.T) {
	t.Parallel()
	tn, accts := newTenants()
	b := setup(t, withAccounts(accts...))
	client, csrf, page := b.signInAs(t, tn.acme)
	require.Contains(t, page, `id="account-name"`)
	require.Contains(t, page, "Account: Acme Brands")
	require.NotContains(t, page, `id="switcher"`)
	require.NotContains(t, page, "Globex", "an account token's pages name no other account")

	resp, err := client.PostForm(b.srv.URL+"/account", url.Values{"csrf": {csrf}, "account": {"globex"}})
	require.NoError(t, err)
	page = readAll(t, resp)
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
	require.Contains(t, page, `account &#34;acme&#34; only`)

	// A new token for acme replaces the old one: its session ends.
	replaced := accts[1]
	replaced.ConsoleTokenHashes = []string{account.HashSecret(account.NewSecret())}
	b.accounts.Set([]account.Account{accts[0], replaced, accts[2]})
	req, err := http.NewRequest(http.MethodGet, b.srv.URL+"/api/leads", nil)
	require.NoError(t, err)
	resp, err = client.Do(req)
	require.NoError(t, err)
	readAll(t, resp)
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode, "the session of a replaced token has ended")
	code, _ := b.doAs(t, tn.acme, http.MethodGet, "/api/leads", nil)
	require.Equal(t, http.StatusUnauthorized, code, "the replaced token itself is refused")

	// A disabled account's token: the session ends, and signing in again says why.
	client, _, _ = b.signInAs(t, tn.globex)
	disabled := accts[2]
	disabled.Disabled = true
	b.accounts.Set([]account.Account{accts[0], replaced, disabled})
	resp, err = client.Get(b.srv.URL + "/api/leads")
	require.NoError(t, err)
	readAll(t, resp)
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	resp, err = http.PostForm(b.srv.URL+"/signin", url.Values{"token": {tn.globex}})
	require.NoError(t, err)
	page = readAll(t, resp)
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	require.Contains(t, page, "account is disabled")
	require.Contains(t, b.metrics(t), `saleassist_console_signin_failures_total{reason="account_disabled"} 1`)

	// A token that is nobody's says what the tokens are.
	resp, err = http.PostForm(b.srv.URL+"/signin", url.Values{"token": {account.NewSecret()}})
	require.NoError(t, err)
	page = readAll(t, resp)
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	require.Contains(t, page, "ingestctl accounts token")
}
