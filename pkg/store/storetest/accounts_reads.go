package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline"
	"github.com/saleassist-pipeline/pipeline/pkg/store"
)

// Every read of one account returns its own rows only, even when another account holds the same
// person, event ids and meeting id: another account's lead or event by id is ErrNotFound (the
// console answers 404, never 403), and lists, histories, types and counts leave it out.
func testReadsNeverCross(t *testing.T, s BrowsingStore) {
	leadOf := map[string]int64{}
	for _, acct := range []string{acctA, acctB} {
		first := in(acct, record("ev-1", asha()))
		first.Meeting = &pipeline.Meeting{ID: "m-1", Status: acct}
		own := in(acct, record("ev-"+acct, asha()))
		own.EventType = "only_" + acct
		own.Invalid = "payload.id: problem of " + acct
		res := apply(t, s, first, own)
		leadOf[acct] = res[0].LeadID
	}
	const empty = "brand-c" // an account with nothing stored
	since := time.Now().Add(-time.Hour)
	for _, tc := range []struct{ self, other string }{{acctA, acctB}, {acctB, acctA}} {
		self, other := tc.self, tc.other
		mine, theirs := leadOf[self], leadOf[other]

		_, err := s.Lead(t.Context(), self, theirs)
		require.ErrorIs(t, err, store.ErrNotFound, "%s reads %s's lead by id", self, other)
		l, err := s.LeadByEmail(t.Context(), self, "asha@example.com")
		require.NoError(t, err)
		require.Equal(t, mine, l.ID)
		_, err = s.Event(t.Context(), self, "ev-"+other)
		require.ErrorIs(t, err, store.ErrNotFound, "%s reads %s's event by id", self, other)
		ev, err := s.Event(t.Context(), self, "ev-1")
		require.NoError(t, err)
		require.Equal(t, self, ev.Account)
		require.Equal(t, mine, ev.LeadID)

		for _, f := range []store.LeadFilter{{}, {Email: "asha@example.com"}, {Phone: "+919876543210"}, {Text: "Asha"}} {
			page := leads(t, s, store.LeadQuery{Account: self, Filter: f})
			require.Equal(t, []int64{mine}, leadIDs(page), "%s lists leads with %+v", self, f)
			require.Equal(t, self, page.Leads[0].Account)
			require.EqualValues(t, 2, page.Leads[0].Events)
		}
		var walked []int64
		require.NoError(t, store.EachLead(t.Context(), s, self, store.LeadFilter{}, func(l *store.LeadSummary) error {
			walked = append(walked, l.ID)
			return nil
		}))
		require.Equal(t, []int64{mine}, walked)

		hist, err := s.LeadHistory(t.Context(), self, theirs)
		require.NoError(t, err)
		require.Empty(t, hist, "%s reads %s's lead history", self, other)
		hist, err = s.LeadHistory(t.Context(), self, mine)
		require.NoError(t, err)
		require.Len(t, hist, 2)
		for _, h := range hist {
			require.Equal(t, self, h.Account)
		}
		ms, err := s.LeadMeetings(t.Context(), self, theirs)
		require.NoError(t, err)
		require.Empty(t, ms, "%s reads %s's meetings", self, other)
		ms, err = s.LeadMeetings(t.Context(), self, mine)
		require.NoError(t, err)
		require.Len(t, ms, 1)
		require.Equal(t, self, ms[0].Status)

		types, err := s.EventTypes(t.Context(), self)
		require.NoError(t, err)
		require.Equal(t, []store.TypeCount{{EventType: "only_" + self, Events: 1}, {EventType: "widget_new_conversation", Events: 1}}, types)
		latest, err := s.LatestEvents(t.Context(), self, "only_"+other, 10)
		require.NoError(t, err)
		require.Empty(t, latest)
		latest, err = s.LatestEvents(t.Context(), self, "widget_new_conversation", 10)
		require.NoError(t, err)
		require.Len(t, latest, 1)
		require.Equal(t, self, latest[0].Account)

		invalid, err := s.InvalidEvents(t.Context(), self, 10)
		require.NoError(t, err)
		require.Len(t, invalid, 1)
		require.Equal(t, "ev-"+self, invalid[0].EventID)

		perMinute, err := s.StoredPerMinute(t.Context(), self, since)
		require.NoError(t, err)
		var total int64
		for _, m := range perMinute {
			total += m.Events
		}
		require.EqualValues(t, 2, total)
		require.Equal(t, store.Counts{Leads: 1, Events: 2, Meetings: 1}, accountCounts(t, s, self))
	}

	// An account with nothing stored sees nothing at all.
	_, err := s.Lead(t.Context(), empty, leadOf[acctA])
	require.ErrorIs(t, err, store.ErrNotFound)
	require.Empty(t, leads(t, s, store.LeadQuery{Account: empty}).Leads)
	types, err := s.EventTypes(t.Context(), empty)
	require.NoError(t, err)
	require.Empty(t, types)
	require.Equal(t, store.Counts{}, accountCounts(t, s, empty))
}
