package ctl_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline"
	"github.com/saleassist-pipeline/pipeline/pkg/account"
	"github.com/saleassist-pipeline/pipeline/pkg/admin"
	"github.com/saleassist-pipeline/pipeline/pkg/store"
	"github.com/saleassist-pipeline/pipeline/pkg/store/sqlite"
)

// pruneStore writes, in accounts brand-a and brand-b each: a lead of 40 days with its event
// "old-lead", an event without a lead of 20 days "old", and one of 3 days "recent"; it returns
// the SQLite file.
func pruneStore(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "leads.db")
	st, err := sqlite.Open(context.Background(), path)
	require.NoError(t, err)
	now := time.Now()
	var recs []pipeline.Record
	for _, acct := range []string{"brand-a", "brand-b"} {
		for _, id := range []string{"old-lead", "old", "recent"} {
			r := pipeline.Record{Account: acct, EventID: id, EventType: "widget_new_conversation", ReceivedAt: now, Payload: []byte(`{}`)}
			if id == "old-lead" {
				r.Lead = &pipeline.Lead{Email: "asha@example.com", SeenAt: now}
			}
			recs = append(recs, r)
		}
	}
	_, err = st.Apply(context.Background(), recs)
	require.NoError(t, err)
	require.NoError(t, st.Close())

	// Age the rows as time would (Apply stamps the present), in the store's time format.
	raw, err := sql.Open("sqlite3", path)
	require.NoError(t, err)
	defer raw.Close()
	ago := func(days int) string { return now.AddDate(0, 0, -days).UTC().Format("2006-01-02T15:04:05.000000000Z") }
	for _, s := range []struct {
		sql  string
		args []any
	}{
		{`UPDATE leads SET updated_at = ?, created_at = ?`, []any{ago(40), ago(40)}},
		{`UPDATE events SET stored_at = ? WHERE event_id = 'old-lead'`, []any{ago(40)}},
		{`UPDATE events SET stored_at = ? WHERE event_id = 'old'`, []any{ago(20)}},
		{`UPDATE events SET stored_at = ? WHERE event_id = 'recent'`, []any{ago(3)}},
	} {
		_, err := raw.Exec(s.sql, s.args...)
		require.NoError(t, err)
	}
	return path
}

func countsOf(t *testing.T, path, acct string) store.Counts {
	t.Helper()
	st, err := sqlite.Open(context.Background(), path)
	require.NoError(t, err)
	defer st.Close()
	c, err := st.Counts(context.Background(), acct)
	require.NoError(t, err)
	return c
}

// `ingestctl prune` with days given as flags needs no NATS: a dry run says what would go and
// what stays and removes nothing; the run removes one account's old rows only; days inside the
// retry horizon are applied as the horizon, and the output says so.
func TestIngestctlPrune(t *testing.T) {
	t.Parallel()
	path := pruneStore(t)
	code, out, errOut := runCtl("-db", path, "prune", "-account", "brand-a", "-events-days", "10", "-leads-days", "30", "-dry-run")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "account brand-a (retention from flags: events 10 days, leads 30 days)")
	require.Contains(t, out, "would remove (dry run: nothing removed): 1 lead (with their 1 event and 0 meetings), 1 event by age")
	require.Contains(t, out, "kept: every lead updated since ")
	require.Contains(t, out, "kept: every event stored since ")
	require.Contains(t, out, "kept: always the events of the last 7 days (the retry horizon)")
	require.Equal(t, store.Counts{Leads: 1, Events: 3}, countsOf(t, path, "brand-a"))

	code, out, errOut = runCtl("-db", path, "prune", "-account", "brand-a", "-events-days", "10", "-leads-days", "30", "-json")
	require.Equal(t, 0, code, errOut)
	var r admin.PruneReport
	require.NoError(t, json.Unmarshal([]byte(out), &r), out)
	require.Equal(t, "brand-a", r.Account)
	require.Equal(t, "flags", r.From)
	require.Equal(t, 7, r.HorizonDays)
	require.Equal(t, [4]int64{1, 1, 0, 1}, [4]int64{r.Leads, r.LeadEvents, r.Meetings, r.Events})
	require.WithinDuration(t, time.Now().AddDate(0, 0, -10), r.EventsBefore, time.Minute)
	require.Equal(t, store.Counts{Events: 1}, countsOf(t, path, "brand-a"))
	require.Equal(t, store.Counts{Leads: 1, Events: 3}, countsOf(t, path, "brand-b"), "another account is untouched")

	// One day asked: the horizon's seven applied; the event of 3 days stays.
	code, out, errOut = runCtl("-db", path, "prune", "-account", "brand-a", "-events-days", "1", "-leads-days", "0")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "removed: 0 leads (with their 0 events and 0 meetings), 0 events by age")
	require.Contains(t, out, "kept: every lead\n")
	require.Contains(t, out, "days under 7 were applied as 7")
	require.Equal(t, store.Counts{Events: 1}, countsOf(t, path, "brand-a"))
}

// Errors say what was wrong: no account, nothing to prune, and days left to an account whose
// retention cannot be read (no NATS here).
func TestIngestctlPruneErrors(t *testing.T) {
	t.Parallel()
	path := pruneStore(t)
	for _, tc := range []struct {
		args []string
		code int
		says string
	}{
		{[]string{"prune", "-events-days", "10"}, 2, "prune: -account"},
		{[]string{"prune", "-account", "brand-a", "-events-days", "0", "-leads-days", "0"}, 2, "nothing to prune for brand-a"},
		{[]string{"prune", "-account", "brand-a", "-events-days", "x"}, 2, "invalid value"},
		{[]string{"prune", "-account", "brand-a", "extra"}, 2, `unexpected argument "extra"`},
		{[]string{"-data-dir", t.TempDir(), "prune", "-account", "brand-a", "-events-days", "10"}, 1,
			"the account's retention could not be read: no NATS server to ask"},
	} {
		code, _, errOut := runCtl(append([]string{"-db", path}, tc.args...)...)
		require.Equal(t, tc.code, code, "%v: %s", tc.args, errOut)
		require.Contains(t, errOut, tc.says, tc.args)
	}
	require.Equal(t, store.Counts{Leads: 1, Events: 3}, countsOf(t, path, "brand-a"))
}

// Days not given come from the account's retention in the accounts bucket.
func TestIngestctlPruneUsesTheAccountsRetention(t *testing.T) {
	t.Parallel()
	b := setup(t)
	path := pruneStore(t)
	b.add(t, "brand-a", "-client-id", "c-1")
	kv, err := account.OpenKV(t.Context(), b.JS.JS)
	require.NoError(t, err)
	_, err = kv.Update(t.Context(), "brand-a", func(a *account.Account) error {
		a.RetainEventsDays, a.RetainLeadsDays = 10, 30
		return nil
	})
	require.NoError(t, err)

	out := b.ok(t, "-db", path, "prune", "-account", "brand-a", "-dry-run", "-json")
	var r admin.PruneReport
	require.NoError(t, json.Unmarshal([]byte(out), &r), out)
	require.Equal(t, admin.PruneReport{Account: "brand-a", DryRun: true, EventsDays: 10, LeadsDays: 30, From: "account",
		EventsBefore: r.EventsBefore, LeadsBefore: r.LeadsBefore, HorizonDays: 7, Leads: 1, LeadEvents: 1, Events: 1}, r)

	// A flag wins over the account's retention.
	out = b.ok(t, "-db", path, "prune", "-account", "brand-a", "-leads-days", "0", "-dry-run", "-json")
	require.NoError(t, json.Unmarshal([]byte(out), &r), out)
	require.Equal(t, [2]int{10, 0}, [2]int{r.EventsDays, r.LeadsDays})
	require.Equal(t, [2]int64{0, 2}, [2]int64{r.Leads, r.Events})

	code, _, errOut := b.run(t, "-db", path, "prune", "-account", "brand-z", "-dry-run")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, `no account "brand-z"`)
}
