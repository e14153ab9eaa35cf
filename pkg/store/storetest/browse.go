package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline"
	"github.com/saleassist-pipeline/pipeline/pkg/store"
)

// BrowsingStore is a store with the console's reads.
type BrowsingStore interface {
	store.Store
	store.Browser
}

// RunBrowser runs the store.Browser conformance cases; open is as for Run.
func RunBrowser(t *testing.T, open func(t *testing.T) BrowsingStore) {
	t.Helper()
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, s BrowsingStore)
	}{
		{"LeadsNewestUpdatedFirstInPages", testLeadsPages},
		{"LeadsFilter", testLeadsFilter},
		{"LeadsFilterPages", testLeadsFilterPages},
		{"LeadsText", testLeadsText},
		{"LeadsTextIndexed", testLeadsTextIndexed},
		{"EachLeadWalksEveryPage", testEachLead},
		{"LeadHistoryOldestFirst", testLeadHistory},
		{"LeadMeetings", testLeadMeetings},
		{"MeetingTwiceInOneBatch", testMeetingTwiceInOneBatch},
		{"EventTypesAndLatestEvents", testLatestEvents},
		{"StoredPerMinute", testStoredPerMinute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open(t))
		})
	}
}

// leadIDs lists the ids of a page's leads.
func leadIDs(p store.LeadPage) []int64 {
	ids := make([]int64, len(p.Leads))
	for i, l := range p.Leads {
		ids[i] = l.ID
	}
	return ids
}

func leads(t *testing.T, s store.Browser, q store.LeadQuery) store.LeadPage {
	t.Helper()
	p, err := s.Leads(t.Context(), q)
	require.NoError(t, err)
	return p
}

// Leads come newest updated first; a lead updated later moves to the front; pages chain by
// cursor (also through its text form) and the last one has no Next.
func testLeadsPages(t *testing.T, s BrowsingStore) {
	var ids []int64
	for i := range 5 {
		ids = append(ids, stored(t, s, record(fmt.Sprintf("ev-%d", i),
			&pipeline.Lead{Email: fmt.Sprintf("p%d@example.com", i), Name: fmt.Sprintf("P%d", i), SeenAt: t0})))
	}
	// Separate batches: later ones have a later updated_at, or an equal one and a higher id, so
	// the order is known. A second event for the first lead makes it the most recently updated.
	stored(t, s, record("ev-again", &pipeline.Lead{Email: "p0@example.com", SeenAt: t0}))
	want := []int64{ids[0], ids[4], ids[3], ids[2], ids[1]}

	all := leads(t, s, store.LeadQuery{})
	require.Equal(t, want, leadIDs(all))
	require.Nil(t, all.Next)
	require.EqualValues(t, 2, all.Leads[0].Events)
	require.EqualValues(t, 1, all.Leads[1].Events)
	require.Equal(t, "p4@example.com", all.Leads[1].Email)

	first := leads(t, s, store.LeadQuery{Limit: 2})
	require.Equal(t, want[:2], leadIDs(first))
	require.NotNil(t, first.Next)
	c, err := store.ParseCursor(first.Next.String())
	require.NoError(t, err)
	second := leads(t, s, store.LeadQuery{Limit: 2, After: &c})
	require.Equal(t, want[2:4], leadIDs(second))
	third := leads(t, s, store.LeadQuery{Limit: 2, After: second.Next})
	require.Equal(t, want[4:], leadIDs(third))
	require.Nil(t, third.Next)

	_, err = store.ParseCursor("garbage")
	require.ErrorIs(t, err, store.ErrBadCursor)
}

// Each filter finds its lead; set together they are ORed; LIKE's wildcards are literal.
func testLeadsFilter(t *testing.T, s BrowsingStore) {
	asha := stored(t, s, record("ev-1", &pipeline.Lead{Email: "asha@example.com", Name: "Asha Rao", MobileNumber: "+919876543210", SeenAt: t0}))
	ravi := stored(t, s, record("ev-2", &pipeline.Lead{Name: "Ravi 100%", MobileNumber: "+919000000001", AltPhone: "+919876543210", SeenAt: t0}))
	other := stored(t, s, record("ev-3", &pipeline.Lead{Email: "x@example.com", Name: "Xavier_", SeenAt: t0}))

	for _, tc := range []struct {
		f    store.LeadFilter
		want []int64
	}{
		{store.LeadFilter{Email: "asha@example.com"}, []int64{asha}},
		{store.LeadFilter{Email: "nobody@example.com"}, []int64{}},
		{store.LeadFilter{Phone: "+919876543210"}, []int64{ravi, asha}},
		{store.LeadFilter{Phone: "+919000000001"}, []int64{ravi}},
		{store.LeadFilter{Text: "rao"}, []int64{asha}},
		{store.LeadFilter{Text: "A"}, []int64{other, ravi, asha}},
		{store.LeadFilter{Text: "%"}, []int64{ravi}},
		{store.LeadFilter{Text: "r_"}, []int64{other}},
		{store.LeadFilter{Email: "x@example.com", Phone: "+919000000001"}, []int64{other, ravi}},
	} {
		got := leads(t, s, store.LeadQuery{Filter: tc.f})
		require.Equal(t, tc.want, leadIDs(got), "%+v", tc.f)
	}
}

// A filtered list pages like the full one.
func testLeadsFilterPages(t *testing.T, s BrowsingStore) {
	var recs []pipeline.Record
	for i := range 7 {
		recs = append(recs, record(fmt.Sprintf("ev-%d", i), &pipeline.Lead{Name: fmt.Sprintf("Lead %d", i), MobileNumber: "+919876543210", SeenAt: t0.Add(time.Duration(i) * time.Second)}))
		recs[i].Lead.Email = fmt.Sprintf("l%d@example.com", i) // one lead each, sharing a phone
	}
	apply(t, s, recs...)
	var got []int64
	q := store.LeadQuery{Filter: store.LeadFilter{Phone: "+919876543210"}, Limit: 3}
	for {
		p := leads(t, s, q)
		got = append(got, leadIDs(p)...)
		if p.Next == nil {
			break
		}
		q.After = p.Next
	}
	// One batch: one updated_at, so the order is by id alone.
	require.Len(t, got, 7)
	for i := 1; i < len(got); i++ {
		require.Greater(t, got[i-1], got[i])
	}
}

func testEachLead(t *testing.T, s BrowsingStore) {
	n := store.MaxPageSize + 10
	recs := make([]pipeline.Record, n)
	for i := range recs {
		recs[i] = record(fmt.Sprintf("ev-%d", i), &pipeline.Lead{Email: fmt.Sprintf("l%d@example.com", i), SeenAt: t0})
	}
	apply(t, s, recs...)
	seen := map[int64]bool{}
	err := store.EachLead(t.Context(), s, "", store.LeadFilter{}, func(l *store.LeadSummary) error {
		require.False(t, seen[l.ID], "lead %d twice", l.ID)
		seen[l.ID] = true
		return nil
	})
	require.NoError(t, err)
	require.Len(t, seen, n)
}
