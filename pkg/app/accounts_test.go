package app_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/internal/testkit"
	"github.com/saleassist-pipeline/pipeline/pkg/account"
	"github.com/saleassist-pipeline/pipeline/pkg/queue"
)

func postTo(t *testing.T, url, secret string, body []byte) (int, answer) {
	t.Helper()
	return signedPostTo(t, url, secret, "", "application/json; charset=UTF-8", body)
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
	require.Contains(t, metrics, `saleassist_ingest_requests_total{account="none",code="404"} 1`)
}
