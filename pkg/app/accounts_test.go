package app_test

import (
	"bytes"
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	ingestctl "github.com/saleassist-pipeline/pipeline/cmd/ingestctl/ctl"
	"github.com/saleassist-pipeline/pipeline/internal/testkit"
	"github.com/saleassist-pipeline/pipeline/pkg/account"
	"github.com/saleassist-pipeline/pipeline/pkg/queue"
)

func postTo(t *testing.T, url, secret string, body []byte) (int, answer) {
	t.Helper()
	return signedPostTo(t, url, secret, "", "application/json; charset=UTF-8", body)
}

// addAccount puts a into the running pipeline's accounts bucket with a new webhook token and
// secret (and the fixture's client id when it has none), then posts body to its URL until the
// ingest serves it (202): the ingest follows the bucket, so this takes a moment. It returns the
// account's URL and secret; body is stored as the account's first event.
func addAccount(t *testing.T, tb *testBundle, a account.Account, body []byte) (url, secret string) {
	t.Helper()
	kv, err := account.OpenKV(context.Background(), tb.js(t))
	require.NoError(t, err)
	secret = account.NewSecret()
	a.WebhookToken, a.SecretHashes = account.NewSecret(), []string{account.HashSecret(secret)}
	if a.ClientIDs == nil {
		a.ClientIDs = []string{testkit.FixtureClientID}
	}
	_, err = kv.Create(context.Background(), a)
	require.NoError(t, err)
	url = tb.url + a.WebhookPath()
	var code int
	var ans answer
	require.Eventually(t, func() bool {
		code, ans = postTo(t, url, secret, body)
		return code == http.StatusAccepted
	}, 10*time.Second, 20*time.Millisecond, "account %s's URL is served; last answer %d %+v\nlog: %s", a.ID, code, ans, tb.stderr)
	require.False(t, ans.Duplicate)
	return url, secret
}

// An account put in the accounts bucket while the ingest runs is served at its own URL without a
// restart (the ingest follows the bucket), with its own secret, and its events carry it; the
// default URL and secret go on working as before.
func TestIngestServesAccountAddedToBucket(t *testing.T) {
	t.Parallel()
	tb := setup(t, "-worker=false")
	js := tb.js(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	kv, err := account.OpenKV(ctx, js)
	require.NoError(t, err)

	secret, token := account.NewSecret(), account.NewSecret()
	url := tb.url + "/webhooks/saleassist/" + token
	code, a := postTo(t, url, secret, testkit.Fixture(t))
	require.Equal(t, http.StatusNotFound, code, "answer: %+v", a)

	_, err = kv.Create(ctx, account.Account{ID: "acme", Name: "Acme", ClientIDs: []string{testkit.FixtureClientID},
		WebhookToken: token, SecretHashes: []string{account.HashSecret(secret)}})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		code, a = postTo(t, url, secret, testkit.Fixture(t))
		return code == http.StatusAccepted
	}, 10*time.Second, 20*time.Millisecond, "the new account's URL is served; last answer %d %+v\nlog: %s", code, a, tb.stderr)
	require.False(t, a.Duplicate)

	code, _ = postTo(t, url, testSecret, testkit.Fixture(t))
	require.Equal(t, http.StatusUnauthorized, code, "the default secret does not open another account's URL")
	tb.post(t, testkit.Fixture(t))

	stream, err := js.Stream(ctx, queue.DefaultStream)
	require.NoError(t, err)
	m, err := stream.GetLastMsgForSubject(ctx, "saleassist.events.acme.widget_new_conversation")
	require.NoError(t, err)
	require.Equal(t, "acme", m.Header.Get(queue.HeaderAccount))
	m, err = stream.GetLastMsgForSubject(ctx, "saleassist.events.default.widget_new_conversation")
	require.NoError(t, err)
	require.Equal(t, "default", m.Header.Get(queue.HeaderAccount))
	metrics := scrape(t, tb.url)
	require.Contains(t, metrics, `saleassist_ingest_requests_total{account="acme",code="202"} 1`)
	// The first 404, and any while the bucket's change was on its way.
	require.Regexp(t, `saleassist_ingest_requests_total\{account="none",code="404"\} [1-9]`, metrics)
}

// ingestctl accounts delete, against the running standalone pipeline: an account whose events are
// stored goes with the consumer of its events, while the worker goes on storing the others'.
func TestAccountDeletedUnderARunningWorker(t *testing.T) {
	t.Parallel()
	tb := setup(t)
	st := tb.openStore(t)
	url, secret := addAccount(t, tb, account.Account{ID: "acme", Name: "Acme"}, testkit.WithID(testkit.Fixture(t), "acme-1"))
	require.Eventually(t, func() bool {
		c, err := st.Counts(context.Background(), "acme")
		require.NoError(t, err)
		return c.Events == 1
	}, 30*time.Second, 10*time.Millisecond, "acme's event is stored")

	natsURL := tb.ingest.EmbeddedNATSURL()
	ctl := func(args ...string) (int, string) {
		var out, errOut bytes.Buffer
		c := &ingestctl.CLI{Env: envOf(nil), Stdout: &out, Stderr: &errOut}
		code := c.Run(context.Background(), append([]string{"-nats-url", natsURL}, args...))
		return code, out.String() + errOut.String()
	}
	code, out := ctl("accounts", "disable", "acme")
	require.Equal(t, 0, code, out)
	// The account must have been disabled for the settle time: refused until then.
	require.Eventually(t, func() bool {
		code, out = ctl("accounts", "delete", "acme", "-settle", "1s")
		require.Contains(t, []int{0, 1}, code, out)
		return code == 0
	}, 30*time.Second, 100*time.Millisecond, "accounts delete: %s", out)
	require.Contains(t, out, "account acme deleted: its entry and the consumer of its events")

	js := tb.js(t)
	_, err := js.Consumer(context.Background(), queue.DefaultStream, queue.DefaultConfig().AccountConsumer("acme"))
	require.ErrorIs(t, err, jetstream.ErrConsumerNotFound)
	code, _ = postTo(t, url, secret, testkit.WithID(testkit.Fixture(t), "acme-2"))
	require.Equal(t, http.StatusNotFound, code, "a deleted account's URL is gone")

	tb.post(t, testkit.WithID(testkit.Fixture(t), "default-after"))
	awaitEvents(t, st, 1) // the default account's: the worker still stores
	c, err := st.Counts(context.Background(), "acme")
	require.NoError(t, err)
	require.EqualValues(t, 1, c.Events, "the account's data stays")
}
