package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline"
	"github.com/saleassist-pipeline/pipeline/pkg/account"
	"github.com/saleassist-pipeline/pipeline/pkg/store"
)

// CheckUpgraded checks a store written before accounts and then opened (migrated) by this code:
// its rows are the default account's and read as before, and it takes new writes, per account.
// The store must hold what the release's code wrote for these records, in one batch (see
// store/sqlite/testdata/genrelease, which wrote store/sqlite/testdata/release-0c7bda0.db):
//
//	ev-1: Asha, asha@example.com, +919876543210, meeting m-1 (scheduled)  → lead 1
//	ev-2: Ravi, +911111111111 (no email)                                  → lead 2
//	ev-3: Asha K, asha@example.com                                        → lead 1
//	ev-4: video_tile_click, no lead, invalid "payload.id: missing"
func CheckUpgraded(t *testing.T, s BrowsingStore) {
	t.Helper()
	ctx := t.Context()
	def := account.Default
	require.Equal(t, store.Counts{Leads: 2, Events: 4, Meetings: 1}, accountCounts(t, s, def))
	asha, err := s.LeadByEmail(ctx, def, "asha@example.com")
	require.NoError(t, err)
	require.Equal(t, int64(1), asha.ID)
	require.Equal(t, def, asha.Account)
	require.Equal(t, "Asha K", asha.Name)
	require.Equal(t, "+919876543210", asha.MobileNumber)
	ravi := getLeadIn(t, s, def, 2)
	require.Equal(t, "Ravi", ravi.Name)
	ev, err := s.Event(ctx, "", "ev-4")
	require.NoError(t, err)
	require.Equal(t, def, ev.Account)
	require.Equal(t, "payload.id: missing", ev.Invalid)
	hist, err := s.LeadHistory(ctx, def, 1)
	require.NoError(t, err)
	require.Len(t, hist, 2)
	require.Equal(t, []string{"ev-1", "ev-3"}, []string{hist[0].EventID, hist[1].EventID})
	ms, err := s.LeadMeetings(ctx, def, 1)
	require.NoError(t, err)
	require.Len(t, ms, 1)
	require.Equal(t, "scheduled", ms[0].Status)
	require.Equal(t, def, ms[0].Account)
	require.Len(t, leads(t, s, store.LeadQuery{}).Leads, 2)
	require.Equal(t, store.Counts{}, accountCounts(t, s, acctA), "no other account has rows")
	_, err = s.Lead(ctx, acctA, 1)
	require.ErrorIs(t, err, store.ErrNotFound)

	// New writes: the old event ids still dedupe in the default account, and only there; the
	// old leads are still matched by email and phone in the default account, and only there.
	t1 := time.Now().UTC()
	res := apply(t, s,
		record("ev-1", &pipeline.Lead{Email: "asha@example.com", SeenAt: t1}),
		in(acctA, record("ev-1", &pipeline.Lead{Email: "asha@example.com", SeenAt: t1})),
		record("ev-5", &pipeline.Lead{Email: "asha@example.com", City: "Pune", SeenAt: t1}),
		record("ev-6", &pipeline.Lead{MobileNumber: "+911111111111", SeenAt: t1}),
	)
	require.Equal(t, pipeline.Result{Outcome: pipeline.Duplicate, LeadID: 1}, res[0])
	require.Equal(t, pipeline.Stored, res[1].Outcome)
	require.NotEqual(t, int64(1), res[1].LeadID, "account A's Asha is a lead of A's own")
	require.Equal(t, pipeline.Result{Outcome: pipeline.Stored, LeadID: 1}, res[2])
	require.Equal(t, pipeline.Result{Outcome: pipeline.Stored, LeadID: 2}, res[3])
	require.Equal(t, "Pune", getLeadIn(t, s, def, 1).City)
	// The fragment search finds the old leads (indexed by the upgrade) and the new city.
	for text, want := range map[string][]int64{"asha k": {1}, "RAVI": {2}, "pune": {1}, "example.com": {1}} {
		require.Equal(t, want, leadIDs(leads(t, s, store.LeadQuery{Filter: store.LeadFilter{Text: text}})), text)
	}

	m := record("ev-7", nil)
	m.Meeting = &pipeline.Meeting{ID: "m-1", Status: "completed"}
	mA := in(acctA, record("ev-7", nil))
	mA.Meeting = &pipeline.Meeting{ID: "m-1", Status: "scheduled"}
	apply(t, s, m, mA)
	ms, err = s.LeadMeetings(ctx, def, 1)
	require.NoError(t, err)
	require.Len(t, ms, 1)
	require.Equal(t, "completed", ms[0].Status, "the old meeting is updated in place")
	require.Equal(t, store.Counts{Leads: 2, Events: 7, Meetings: 1}, accountCounts(t, s, def))
	require.Equal(t, store.Counts{Leads: 1, Events: 2, Meetings: 1}, accountCounts(t, s, acctA))
}
