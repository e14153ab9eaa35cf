package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline"
	"github.com/saleassist-pipeline/pipeline/pkg/store"
)

// PruningStore is a store that also prunes (ingestctl prune).
type PruningStore interface {
	BrowsingStore
	store.Pruner
}

// Ager makes rows old, as time would, since Apply stamps them with the present: the account's
// events eventIDs become stored (and received) at now − age, its leads leadIDs updated (and
// created) then. Each store's tests write it in their SQL.
type Ager func(t *testing.T, s PruningStore, acct string, age time.Duration, leadIDs []int64, eventIDs []string)

// RunPrune runs the cases of store.Pruner. open returns a fresh store, as for Run, and its Ager.
func RunPrune(t *testing.T, open func(t *testing.T) (PruningStore, Ager)) {
	t.Helper()
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, s PruningStore, age Ager)
	}{
		{"OldLeadsAndEventsOfOneAccount", testPrune},
		{"NeverEventsInsideRetryHorizon", testPruneHorizon},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, age := open(t)
			tc.fn(t, s, age)
		})
	}
}

const day = 24 * time.Hour

// pruneFixture stores, in acct: lead 1 (40 days old, with event e1 and a meeting), lead 2 (40
// days old with event e2, but also event e3 of 9 days), lead 3 (new, event e4), and events
// without a lead e5 (20 days) and e6 (3 days). It returns the three leads' ids.
func pruneFixture(t *testing.T, s PruningStore, age Ager, acct string) [3]int64 {
	t.Helper()
	person := func(email string) *pipeline.Lead { return &pipeline.Lead{Email: email, SeenAt: t0} }
	e1 := in(acct, record("e1", person("one@example.com")))
	e1.Meeting = &pipeline.Meeting{ID: "m-1"}
	res := apply(t, s, e1, in(acct, record("e2", person("two@example.com"))),
		in(acct, record("e3", person("two@example.com"))), in(acct, record("e4", person("three@example.com"))),
		in(acct, record("e5", nil)), in(acct, record("e6", nil)))
	ids := [3]int64{res[0].LeadID, res[1].LeadID, res[3].LeadID}
	age(t, s, acct, 40*day, ids[:2], []string{"e1", "e2"})
	age(t, s, acct, 9*day, nil, []string{"e3"})
	age(t, s, acct, 20*day, nil, []string{"e5"})
	age(t, s, acct, 3*day, nil, []string{"e6"})
	return ids
}

// Leads of 30 days and events of 10: lead 1 goes with its event and meeting; lead 2 stays (it has
// an event of 9 days) but loses its old event; events without a lead go by age. The dry run
// counts the same and removes nothing; another account with the same rows is untouched.
func testPrune(t *testing.T, s PruningStore, age Ager) {
	ids := pruneFixture(t, s, age, acctA)
	pruneFixture(t, s, age, acctB)
	before := accountCounts(t, s, acctB)
	now := time.Now()
	q := store.PruneQuery{Account: acctA, LeadsBefore: now.Add(-30 * day), EventsBefore: now.Add(-10 * day), DryRun: true}
	want := store.PruneResult{Leads: 1, LeadEvents: 1, Meetings: 1, Events: 2}

	dry, err := s.Prune(t.Context(), q)
	require.NoError(t, err)
	require.Equal(t, q, dry.Query, "cutoffs older than the horizon are applied as given")
	dry.Query = store.PruneQuery{}
	require.Equal(t, want, dry)
	require.Equal(t, store.Counts{Leads: 3, Events: 6, Meetings: 1}, accountCounts(t, s, acctA), "a dry run removes nothing")

	q.DryRun = false
	got, err := s.Prune(t.Context(), q)
	require.NoError(t, err)
	got.Query = store.PruneQuery{}
	require.Equal(t, want, got)
	require.Equal(t, store.Counts{Leads: 2, Events: 3, Meetings: 0}, accountCounts(t, s, acctA))
	_, err = s.Lead(t.Context(), acctA, ids[0])
	require.ErrorIs(t, err, store.ErrNotFound)
	hist, err := s.LeadHistory(t.Context(), acctA, ids[1])
	require.NoError(t, err)
	require.Len(t, hist, 1)
	require.Equal(t, "e3", hist[0].EventID)
	for _, id := range []string{"e3", "e4", "e6"} {
		_, err := s.Event(t.Context(), acctA, id)
		require.NoError(t, err, id)
	}
	require.Equal(t, before, accountCounts(t, s, acctB), "another account is untouched")

	again, err := s.Prune(t.Context(), q)
	require.NoError(t, err)
	again.Query = store.PruneQuery{}
	require.Equal(t, store.PruneResult{}, again, "a second prune finds nothing")
}

// Cutoffs inside the retry horizon are moved back to it: an event of 3 days and a lead of 3 days
// stay whatever the days asked, and the event's id still dedupes a late copy.
func testPruneHorizon(t *testing.T, s PruningStore, age Ager) {
	id := stored(t, s, in(acctA, record("recent", &pipeline.Lead{Email: "r@example.com", SeenAt: t0})))
	age(t, s, acctA, 3*day, []int64{id}, []string{"recent"})
	now := time.Now()
	got, err := s.Prune(t.Context(), store.PruneQuery{Account: acctA, LeadsBefore: now, EventsBefore: now.Add(-day)})
	require.NoError(t, err)
	for _, c := range []time.Time{got.Query.LeadsBefore, got.Query.EventsBefore} {
		require.WithinDuration(t, now.Add(-store.RetryHorizon), c, time.Minute)
	}
	require.Equal(t, store.PruneResult{Query: got.Query}, got, "nothing inside the horizon is removed")
	require.Equal(t, pipeline.Duplicate, apply(t, s, in(acctA, record("recent", nil)))[0].Outcome)
	require.Equal(t, store.Counts{Leads: 1, Events: 1}, accountCounts(t, s, acctA))

	// A zero cutoff removes nothing of its kind, however old.
	age(t, s, acctA, 100*day, []int64{id}, []string{"recent"})
	got, err = s.Prune(t.Context(), store.PruneQuery{Account: acctA})
	require.NoError(t, err)
	require.Equal(t, store.PruneResult{Query: store.PruneQuery{Account: acctA}}, got)
	require.Equal(t, store.Counts{Leads: 1, Events: 1}, accountCounts(t, s, acctA))
}
