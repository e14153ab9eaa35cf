package app_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/internal/testkit"
	"github.com/saleassist-pipeline/pipeline/pkg/account"
	"github.com/saleassist-pipeline/pipeline/pkg/app/workerapp"
	"github.com/saleassist-pipeline/pipeline/pkg/console"
	"github.com/saleassist-pipeline/pipeline/pkg/store"
)

// Issue 22, the whole pipeline over HTTP, as SaleAssist and an operator would drive it: two
// accounts on one standalone ingest, the default one and brand2 (added to the accounts bucket
// while the ingest runs).
//   - Isolation: the same event id and the same person sent to both are two events and two leads,
//     each under its own account.
//   - Fairness: a flood posted to the default account before any worker runs delays brand2's
//     events by no more than a few batches of the flood (the worker takes accounts in turn; one
//     shared consumer would store them after the whole flood).
//   - The 404s: a URL of no account, and brand2's console token asking for the default
//     account's lead.
func TestTwoAccountsIsolationFairnessAnd404(t *testing.T) {
	t.Parallel()
	const (
		flood = 1200
		batch = 50
		bound = 5 * batch // the batch being stored, the next, and the slack of the turns
	)
	tb := setup(t, "-worker=false", "-console-addr", "127.0.0.1:0")
	ctx := context.Background()
	consoleToken := account.NewSecret()
	brand2, secret := addAccount(t, tb, account.Account{ID: "brand2", Name: "Brand Two", ConsoleTokenHashes: []string{account.HashSecret(consoleToken)}},
		testkit.WithID(testkit.Fixture(t), "b-probe"))

	code, a := postTo(t, tb.url+"/webhooks/saleassist/"+account.NewSecret(), secret, testkit.Fixture(t))
	require.Equal(t, http.StatusNotFound, code, "a URL of no account: %+v", a)
	code, _ = postTo(t, brand2, testSecret, testkit.Fixture(t))
	require.Equal(t, http.StatusUnauthorized, code, "the default account's secret does not open brand2's URL")

	// The flood, eight senders at once, then brand2's events: one with the flood's first id.
	var wg sync.WaitGroup
	next := make(chan int)
	for range 8 {
		wg.Go(func() {
			for i := range next {
				code, a := post(t, tb.url, testSecret, testkit.WithID(testkit.Fixture(t), fmt.Sprintf("a-%d", i)))
				if code != http.StatusAccepted {
					t.Errorf("flood event %d: %d %+v", i, code, a)
				}
			}
		})
	}
	for i := range flood {
		next <- i
	}
	close(next)
	wg.Wait()
	for _, id := range []string{"a-0", "b-1", "b-2"} {
		code, a := postTo(t, brand2, secret, testkit.WithID(testkit.Fixture(t), id))
		require.Equal(t, http.StatusAccepted, code, "%s: %+v", id, a)
		require.False(t, a.Duplicate, "%s: the same id in another account is another event", id)
	}

	db := filepath.Join(tb.dataDir, "leads.db")
	w := workerapp.New()
	w.Env, w.Stderr = envOf(map[string]string{"NATS_URL": tb.ingest.EmbeddedNATSURL(), "DATABASE_URL": "sqlite:" + db,
		"WORKER_BATCH_SIZE": strconv.Itoa(batch)}), &testkit.SyncBuffer{}
	require.NoError(t, w.ParseFlags([]string{"-addr", "127.0.0.1:0"}))
	require.NoError(t, w.Run(ctx))
	t.Cleanup(func() { require.NoError(t, w.Close()) })
	st := tb.openStore(t)
	awaitAccountEvents(t, st, "brand2", 4)
	awaitAccountEvents(t, st, account.Default, flood)

	// Fairness, read from the order the store wrote the events in (as sqlite3 would).
	rdb, err := sql.Open("sqlite3", "file:"+db+"?mode=ro&_busy_timeout=5000")
	require.NoError(t, err)
	t.Cleanup(func() { _ = rdb.Close() })
	var ahead int
	require.NoError(t, rdb.QueryRow(`SELECT count(*) FROM events WHERE account = 'default'
		AND rowid < (SELECT max(rowid) FROM events WHERE account = 'brand2')`).Scan(&ahead))
	require.LessOrEqual(t, ahead, bound, "brand2's last event waited behind %d of the flood's %d", ahead, flood)

	// Isolation: both a-0s stored, each linked to its own account's lead for the one person.
	mine, err := st.Event(ctx, "brand2", "a-0")
	require.NoError(t, err)
	theirs, err := st.Event(ctx, account.Default, "a-0")
	require.NoError(t, err)
	require.NotEqual(t, mine.LeadID, theirs.LeadID, "one person, two accounts: two leads")
	for _, acct := range []string{"brand2", account.Default} {
		c, err := st.Counts(ctx, acct)
		require.NoError(t, err)
		require.EqualValues(t, 1, c.Leads, "account %s: every event is about the fixture's person", acct)
	}
	_, err = st.Lead(ctx, "brand2", theirs.LeadID)
	require.ErrorIs(t, err, store.ErrNotFound)

	// The console: brand2's token reads its own lead, and the default account's as missing.
	tok, err := os.ReadFile(filepath.Join(tb.dataDir, console.TokenFile))
	require.NoError(t, err)
	require.NotEmpty(t, strings.TrimSpace(string(tok)))
	base := strings.TrimSuffix(tb.ingest.ConsoleURL(), "/signin")
	code, body := consoleBody(t, base, consoleToken, "/api/leads/"+strconv.FormatInt(mine.LeadID, 10))
	require.Equal(t, http.StatusOK, code, body)
	code, body = consoleBody(t, base, consoleToken, "/api/leads/"+strconv.FormatInt(theirs.LeadID, 10))
	require.Equal(t, http.StatusNotFound, code, body)
}
