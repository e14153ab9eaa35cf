package ingest_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/internal/testkit"
	"github.com/saleassist-pipeline/pipeline/pkg/account"
	"github.com/saleassist-pipeline/pipeline/pkg/ingest"
	"github.com/saleassist-pipeline/pipeline/pkg/queue"
)

// testAccount is an account as `ingestctl accounts add` makes it, with its secret, shown once.
type testAccount struct {
	account.Account
	secret string
}

func newTestAccount(id string, clientIDs ...string) testAccount {
	secret := account.NewSecret()
	return testAccount{secret: secret, Account: account.Account{
		ID: id, Name: id, ClientIDs: clientIDs, WebhookToken: account.NewSecret(),
		SecretHashes: []string{account.HashSecret(secret)},
	}}
}

// path is the account's webhook URL path.
func (a testAccount) path() string { return ingest.WebhookPath + "/" + a.WebhookToken }

// postTo posts body to path with secret in the default secret header.
func (b *testBundle) postTo(tb testing.TB, path, secret string, body []byte) response {
	tb.Helper()
	return b.do(tb, http.MethodPost, path, bytes.NewReader(body), ingest.DefaultSecretHeader, secret, "Content-Type", jsonUTF8)
}

// events returns every message of the events stream, in order.
func (b *testBundle) events(tb testing.TB) []*jetstream.RawStreamMsg {
	tb.Helper()
	info, err := b.stream.Info(tb.Context())
	require.NoError(tb, err)
	var out []*jetstream.RawStreamMsg
	for seq := info.State.FirstSeq; seq > 0 && seq <= info.State.LastSeq; seq++ {
		m, err := b.stream.GetMsg(tb.Context(), seq)
		require.NoError(tb, err)
		out = append(out, m)
	}
	return out
}

// quarantined is how many requests the quarantine stream holds.
func (b *testBundle) quarantined(tb testing.TB) uint64 {
	tb.Helper()
	info, err := b.quarantine.Info(tb.Context())
	require.NoError(tb, err)
	return info.State.Msgs
}

// Each account's URL takes its own secret and refuses the other's, and the default account's
// secret opens no other account's URL; a refusal names no account.
func TestAccounts_EachURLTakesItsOwnSecret(t *testing.T) {
	t.Parallel()
	a, c := newTestAccount("acme"), newTestAccount("globex")
	b := setup(t, withAccounts(a.Account, c.Account))
	fix := testkit.Fixture(t)

	requireAccepted(t, b.postTo(t, a.path(), a.secret, testkit.WithID(fix, "e-1")))
	requireAccepted(t, b.postTo(t, c.path(), c.secret, testkit.WithID(fix, "e-2")))
	for _, tt := range []struct {
		path, secret string
	}{{a.path(), c.secret}, {c.path(), a.secret}, {a.path(), testSecret}, {ingest.WebhookPath, a.secret}} {
		res := b.postTo(t, tt.path, tt.secret, fix)
		msg := requireError(t, res, http.StatusUnauthorized, "unauthorized")
		require.NotContains(t, msg, "acme")
		require.NotContains(t, msg, "globex")
	}
	res := b.do(t, http.MethodPost, a.path(), bytes.NewReader(fix), "Content-Type", jsonUTF8)
	require.Contains(t, requireError(t, res, http.StatusUnauthorized, "unauthorized"), "ingestctl accounts")
	res = b.do(t, http.MethodGet, a.path(), nil)
	require.Contains(t, requireError(t, res, http.StatusMethodNotAllowed, "method_not_allowed"), "POSTed to this URL")
	require.Equal(t, http.MethodPost, res.header.Get("Allow"))
	require.Equal(t, uint64(2), b.msgs(t))
	require.Equal(t, 2.0, testkit.RequireMetric(t, b.reg, "saleassist_ingest_auth_failures_total", map[string]string{"account": "acme", "reason": ingest.ReasonMismatch}))
	require.Equal(t, 1.0, testkit.RequireMetric(t, b.reg, "saleassist_ingest_auth_failures_total", map[string]string{"account": "default", "reason": ingest.ReasonMismatch}))
}

// An account may name its own secret header; the default header then carries nothing for it.
func TestAccounts_OwnSecretHeader(t *testing.T) {
	t.Parallel()
	a := newTestAccount("acme")
	a.SecretHeader = "X-Acme-Token"
	b := setup(t, withAccounts(a.Account))
	fix := testkit.Fixture(t)

	requireError(t, b.postTo(t, a.path(), a.secret, fix), http.StatusUnauthorized, "unauthorized")
	res := b.do(t, http.MethodPost, a.path(), bytes.NewReader(fix), "X-Acme-Token", a.secret, "Content-Type", jsonUTF8)
	requireAccepted(t, res)
}

// The same event id sent to two accounts is two events: both published, on each account's
// subject, with the account stamped and distinct Nats-Msg-Ids, so JetStream's duplicate window
// does not drop the second.
func TestAccounts_SameEventIDToTwoAccounts(t *testing.T) {
	t.Parallel()
	a, c := newTestAccount("acme"), newTestAccount("globex")
	b := setup(t, withAccounts(a.Account, c.Account))
	fix := testkit.Fixture(t)

	for _, p := range []struct{ path, secret string }{{a.path(), a.secret}, {c.path(), c.secret}, {ingest.WebhookPath, testSecret}} {
		ab := requireAccepted(t, b.postTo(t, p.path, p.secret, fix))
		require.Equal(t, testkit.FixtureID, ab.EventID)
		require.False(t, ab.Duplicate, "%s", p.path)
	}
	msgs := b.events(t)
	require.Len(t, msgs, 3)
	ids := map[string]bool{}
	for i, want := range []string{"acme", "globex", "default"} {
		m := msgs[i]
		require.Equal(t, want, m.Header.Get(queue.HeaderAccount))
		require.Equal(t, "saleassist.events."+want+".widget_new_conversation", m.Subject)
		require.Equal(t, testkit.FixtureID, m.Header.Get(queue.HeaderEventID))
		require.True(t, bytes.Equal(fix, m.Data))
		ids[m.Header.Get(jetstream.MsgIDHeader)] = true
	}
	require.Equal(t, map[string]bool{"acme/" + testkit.FixtureID: true, "globex/" + testkit.FixtureID: true, testkit.FixtureID: true}, ids)

	// A re-send to the same account is still a duplicate.
	require.True(t, requireAccepted(t, b.postTo(t, a.path(), a.secret, fix)).Duplicate)
	require.Equal(t, 1.0, testkit.RequireMetric(t, b.reg, "saleassist_ingest_duplicates_total", map[string]string{"account": "acme"}))
	require.Equal(t, 0.0, testkit.RequireMetric(t, b.reg, "saleassist_ingest_duplicates_total", map[string]string{"account": "globex"}))
}

// A URL of no account (an unknown token, a disabled account, a revoked token) is a 404 that says
// where the right URL is found; nothing is published or kept, and it counts as account "none".
func TestAccounts_UnknownURL(t *testing.T) {
	t.Parallel()
	a, off := newTestAccount("acme"), newTestAccount("retired")
	off.Disabled = true
	b := setup(t, withAccounts(a.Account, off.Account))
	fix := testkit.Fixture(t)

	for _, path := range []string{
		ingest.WebhookPath + "/" + account.NewSecret(), // unknown
		off.path(),                  // disabled, with its own secret
		ingest.WebhookPath + "/",    // no token
		ingest.WebhookPath + "/a/b", // not a token
		a.path() + "x",              // almost
	} {
		secret := a.secret
		if path == off.path() {
			secret = off.secret
		}
		res := b.postTo(t, path, secret, fix)
		msg := requireError(t, res, http.StatusNotFound, "not_found")
		require.Contains(t, msg, "not (or no longer) an account's webhook URL")
		require.Contains(t, msg, "ingestctl accounts show ID")
		require.NotContains(t, msg, "retired", "the answer names no account")
	}
	require.Equal(t, uint64(0), b.msgs(t))
	require.Equal(t, uint64(0), b.quarantined(t))
	require.Equal(t, 5.0, testkit.RequireMetric(t, b.reg, "saleassist_ingest_requests_total", map[string]string{"account": ingest.NoAccount, "code": "404"}))
	logs := b.logs.String()
	require.Equal(t, 1, strings.Count(logs, "no enabled account"), "logged once for the run, not per request:\n%s", logs)
	require.NotContains(t, logs, off.WebhookToken, "tokens are never logged")

	// A new URL revokes the old one.
	rotated := a.Account
	rotated.WebhookToken = account.NewSecret()
	b.accounts.Set([]account.Account{*defaultAccount, rotated})
	requireError(t, b.postTo(t, a.path(), a.secret, fix), http.StatusNotFound, "not_found")
	requireAccepted(t, b.postTo(t, ingest.WebhookPath+"/"+rotated.WebhookToken, a.secret, fix))
}

// An event whose payload.client_id is not one of the URL's account's is refused with 422
// wrong_account, kept in quarantine with the account, and never published.
func TestAccounts_WrongClientID(t *testing.T) {
	t.Parallel()
	a := newTestAccount("acme", "acme-client-1", testkit.FixtureClientID)
	other := newTestAccount("globex", "globex-client")
	b := setup(t, withAccounts(a.Account, other.Account))
	fix := testkit.Fixture(t)

	requireAccepted(t, b.postTo(t, a.path(), a.secret, fix))
	require.Equal(t, uint64(1), b.msgs(t))

	for i, body := range [][]byte{fix, []byte(`{"event_type":"x","payload":{"id":"no-client"}}`)} {
		res := b.postTo(t, other.path(), other.secret, body)
		require.Equal(t, http.StatusUnprocessableEntity, res.status, "body: %s", res.body)
		var eb struct {
			Error        string `json:"error"`
			Message      string `json:"message"`
			QuarantineID string `json:"quarantine_id"`
		}
		require.NoError(t, json.Unmarshal(res.body, &eb))
		require.Equal(t, "wrong_account", eb.Error)
		require.Contains(t, eb.Message, `"globex"`, "names the URL's account")
		if i == 0 {
			require.Contains(t, eb.Message, strconv.Quote(testkit.FixtureClientID), "names the client id received")
		} else {
			require.Contains(t, eb.Message, "no payload.client_id")
		}
		id, err := strconv.ParseUint(eb.QuarantineID, 10, 64)
		require.NoError(t, err)
		m, err := b.quarantine.GetMsg(t.Context(), id)
		require.NoError(t, err)
		q := queue.QuarantineEntry(m)
		require.Equal(t, "globex", q.Account)
		require.Equal(t, "globex", m.Header.Get(queue.HeaderAccount))
		require.Equal(t, "wrong_account", q.Reason)
		require.True(t, bytes.Equal(body, q.Body))
		require.Empty(t, q.Header.Get(ingest.DefaultSecretHeader), "the secret is never kept")
	}
	require.Equal(t, uint64(1), b.msgs(t), "nothing of globex's was published")
	require.Equal(t, 2.0, testkit.RequireMetric(t, b.reg, "saleassist_ingest_quarantined_total", map[string]string{"account": "globex", "reason": "wrong_account"}))
}

// Past an account's burst, its requests are answered 429 with Retry-After and not kept, while
// another account's are taken; a raised rate takes effect at once (the bucket is replaced).
func TestAccounts_RateLimit(t *testing.T) {
	t.Parallel()
	a, c := newTestAccount("acme"), newTestAccount("globex")
	a.RatePerSecond, a.Burst = 0.1, 3 // a token every 10 s
	c.RatePerSecond, c.Burst = 0.1, 3
	b := setup(t, withAccounts(a.Account, c.Account))
	fix := testkit.Fixture(t)

	for i := range a.Burst {
		requireAccepted(t, b.postTo(t, a.path(), a.secret, testkit.WithID(fix, "a-"+strconv.Itoa(i))))
	}
	for range 2 {
		res := b.postTo(t, a.path(), a.secret, testkit.WithID(fix, "a-over"))
		msg := requireError(t, res, http.StatusTooManyRequests, "rate_limited")
		require.Contains(t, msg, `"acme"`)
		secs, err := strconv.Atoi(res.header.Get("Retry-After"))
		require.NoError(t, err, "Retry-After is whole seconds")
		require.GreaterOrEqual(t, secs, 1)
		require.LessOrEqual(t, secs, 10, "the next token is at most 10 s away")
	}
	// Wrong secrets spend no tokens, and are refused as such rather than as over the rate.
	requireError(t, b.postTo(t, c.path(), a.secret, fix), http.StatusUnauthorized, "unauthorized")
	// The other account is unaffected.
	for i := range c.Burst {
		requireAccepted(t, b.postTo(t, c.path(), c.secret, testkit.WithID(fix, "c-"+strconv.Itoa(i))))
	}
	require.Equal(t, uint64(a.Burst+c.Burst), b.msgs(t))
	require.Equal(t, uint64(0), b.quarantined(t), "a 429 is not kept: the sender retries")
	require.Equal(t, 2.0, testkit.RequireMetric(t, b.reg, "saleassist_ingest_requests_total", map[string]string{"account": "acme", "code": "429"}))
	require.Equal(t, 0.0, testkit.RequireMetric(t, b.reg, "saleassist_ingest_requests_total", map[string]string{"account": "globex", "code": "429"}))

	// The operator raises acme's burst: its bucket is replaced, full.
	raised := a.Account
	raised.Burst = 10
	b.accounts.Set([]account.Account{*defaultAccount, raised, c.Account})
	requireAccepted(t, b.postTo(t, a.path(), a.secret, testkit.WithID(fix, "a-raised")))
}

// The default account has no bucket unless one is configured for it: a single-account
// installation takes what it took before accounts existed.
func TestAccounts_DefaultUnlimitedUnlessConfigured(t *testing.T) {
	t.Parallel()
	b := setup(t)
	fix := testkit.Fixture(t)
	for i := range account.DefaultBurst + 5 {
		requireAccepted(t, b.post(t, testkit.WithID(fix, "d-"+strconv.Itoa(i))))
	}
	limited := *defaultAccount
	limited.RatePerSecond, limited.Burst = 0.1, 1
	b.accounts.Set([]account.Account{limited})
	requireAccepted(t, b.post(t, testkit.WithID(fix, "d-limited")))
	requireError(t, b.post(t, testkit.WithID(fix, "d-over")), http.StatusTooManyRequests, "rate_limited")
}

// An account added to the registry while the ingest runs is served at once, and one removed
// loses its URL and its metric series (the label's values stay the configured accounts).
func TestAccounts_ChangedAtRuntime(t *testing.T) {
	t.Parallel()
	b := setup(t)
	fix := testkit.Fixture(t)
	a := newTestAccount("late")

	requireError(t, b.postTo(t, a.path(), a.secret, fix), http.StatusNotFound, "not_found")
	b.accounts.Set([]account.Account{*defaultAccount, a.Account})
	requireAccepted(t, b.postTo(t, a.path(), a.secret, fix))
	require.Equal(t, 1.0, testkit.RequireMetric(t, b.reg, "saleassist_ingest_requests_total", map[string]string{"account": "late", "code": "202"}))

	b.accounts.Set([]account.Account{*defaultAccount})
	requireError(t, b.postTo(t, a.path(), a.secret, fix), http.StatusNotFound, "not_found")
	_, ok := testkit.Metric(t, b.reg, "saleassist_ingest_requests_total", map[string]string{"account": "late", "code": "202"})
	require.False(t, ok, "a removed account's series are removed")
}

// The installation's source ranges apply to every account's URL, not only the default one's.
func TestAccounts_SourceRangesApplyToEveryAccount(t *testing.T) {
	t.Parallel()
	a := newTestAccount("acme")
	b := setup(t, withAccounts(a.Account), withAuth(ingest.AuthConfig{
		SecretHeader: ingest.DefaultSecretHeader, AllowedCIDRs: []string{"203.0.113.0/24"},
	}))
	requireError(t, b.postTo(t, a.path(), a.secret, testkit.Fixture(t)), http.StatusForbidden, "forbidden")
	require.Equal(t, uint64(0), b.msgs(t))
}
