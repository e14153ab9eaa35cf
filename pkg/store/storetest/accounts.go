package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline"
	"github.com/saleassist-pipeline/pipeline/pkg/account"
	"github.com/saleassist-pipeline/pipeline/pkg/store"
)

// RunAccounts runs the cases of accounts (issue 22): everything a record identifies is its
// account's own (the lead matched by email or phone, the event id's dedupe, the meeting id), and
// no read of one account returns another's rows. open is as for Run.
func RunAccounts(t *testing.T, open func(t *testing.T) BrowsingStore) {
	t.Helper()
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, s BrowsingStore)
	}{
		{"SameEmailAndPhoneTwoAccountsTwoLeads", testSamePersonTwoAccounts},
		{"SameEventIDTwoAccountsBothStored", testSameEventTwoAccounts},
		{"LeadNeverMatchedAcrossAccounts", testNoMatchAcrossAccounts},
		{"SameMeetingIDTwoAccountsTwoMeetings", testSameMeetingTwoAccounts},
		{"EmptyAccountIsDefault", testEmptyAccountIsDefault},
		{"ReadsNeverCrossAccounts", testReadsNeverCross},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open(t))
		})
	}
}

// The two accounts of these cases besides the default one.
const (
	acctA = "brand-a"
	acctB = "brand-b"
)

// in returns rec sent to account acct.
func in(acct string, rec pipeline.Record) pipeline.Record {
	rec.Account = acct
	return rec
}

// asha is one person's lead, as two accounts may both know her.
func asha() *pipeline.Lead {
	return &pipeline.Lead{Name: "Asha", Email: "asha@example.com", MobileNumber: "+919876543210", SeenAt: t0}
}

// The same email and phone in two accounts are two leads, whether the accounts' events come in
// separate batches or in one; each account's later event joins its own lead.
func testSamePersonTwoAccounts(t *testing.T, s BrowsingStore) {
	a := stored(t, s, in(acctA, record("a-1", asha())))
	b := stored(t, s, in(acctB, record("b-1", asha())))
	require.NotEqual(t, a, b)

	res := apply(t, s, in(acctB, record("b-2", asha())), in(acctA, record("a-2", asha())))
	require.Equal(t, b, res[0].LeadID, "account B's second event joins B's lead")
	require.Equal(t, a, res[1].LeadID, "account A's second event joins A's lead")

	// A batch naming a new person in two accounts at once.
	l := func() *pipeline.Lead {
		return &pipeline.Lead{Email: "ravi@example.com", MobileNumber: "+911111111111", SeenAt: t0}
	}
	res = apply(t, s, in(acctA, record("a-3", l())), in(acctB, record("b-3", l())))
	require.NotEqual(t, res[0].LeadID, res[1].LeadID)

	for acct, id := range map[string]int64{acctA: a, acctB: b} {
		got, err := s.LeadByEmail(t.Context(), acct, "asha@example.com")
		require.NoError(t, err)
		require.Equal(t, id, got.ID, acct)
		require.Equal(t, acct, got.Account)
		require.Equal(t, store.Counts{Leads: 2, Events: 3}, accountCounts(t, s, acct))
	}
	require.Equal(t, store.Counts{}, accountCounts(t, s, account.Default))
}

// The same event id in two accounts is two events, both stored; a resend in either account is
// that account's duplicate.
func testSameEventTwoAccounts(t *testing.T, s BrowsingStore) {
	require.Equal(t, pipeline.Stored, apply(t, s, in(acctA, record("ev-1", nil)))[0].Outcome)
	require.Equal(t, pipeline.Stored, apply(t, s, in(acctB, record("ev-1", nil)))[0].Outcome, "another account's event id is no duplicate")

	// In one batch: both new, then both duplicates.
	res := apply(t, s, in(acctA, record("ev-2", nil)), in(acctB, record("ev-2", nil)), in(account.Default, record("ev-2", nil)))
	for i, r := range res {
		require.Equal(t, pipeline.Stored, r.Outcome, "record %d", i)
	}
	res = apply(t, s, in(acctA, record("ev-1", nil)), in(acctB, record("ev-2", nil)), in(acctB, record("ev-3", nil)))
	require.Equal(t, []pipeline.Outcome{pipeline.Duplicate, pipeline.Duplicate, pipeline.Stored},
		[]pipeline.Outcome{res[0].Outcome, res[1].Outcome, res[2].Outcome})

	for acct, n := range map[string]int64{acctA: 2, acctB: 3, account.Default: 1} {
		require.EqualValues(t, n, accountCounts(t, s, acct).Events, acct)
		ev, err := s.Event(t.Context(), acct, "ev-2")
		require.NoError(t, err)
		require.Equal(t, acct, ev.Account)
	}
}

// A lead is never matched across accounts: not by email, not by phone (an email-less event, or
// an email-less lead in another account that an event with an email could otherwise join).
func testNoMatchAcrossAccounts(t *testing.T, s BrowsingStore) {
	phoneOnly := func() *pipeline.Lead {
		return &pipeline.Lead{Name: "No mail", MobileNumber: "+912222222222", SeenAt: t0}
	}
	a := stored(t, s, in(acctA, record("a-1", phoneOnly())))
	b := stored(t, s, in(acctB, record("b-1", phoneOnly())))
	require.NotEqual(t, a, b, "an email-less lead with the phone in A is no match for B")

	// With an email: A's email-less lead with the phone would be joined in A, never from B.
	withMail := &pipeline.Lead{Email: "late@example.com", MobileNumber: "+912222222222", SeenAt: t0.Add(time.Minute)}
	c := stored(t, s, in(account.Default, record("d-1", withMail)))
	require.NotEqual(t, a, c)
	require.NotEqual(t, b, c)
	got := getLeadIn(t, s, acctA, a)
	require.Empty(t, got.Email, "A's lead did not gain the default account's email")

	// An alternative phone in A is no match for a mobile number in B either.
	alt := &pipeline.Lead{AltPhone: "+913333333333", SeenAt: t0}
	x := stored(t, s, in(acctA, record("a-2", alt)))
	y := stored(t, s, in(acctB, record("b-2", &pipeline.Lead{MobileNumber: "+913333333333", SeenAt: t0})))
	require.NotEqual(t, x, y)
	require.Equal(t, x, stored(t, s, in(acctA, record("a-3", &pipeline.Lead{MobileNumber: "+913333333333", SeenAt: t0}))),
		"within A the alternative phone still matches")
}

// A meeting id is unique per account: the same id in two accounts is two meetings, each linked
// to its account's lead.
func testSameMeetingTwoAccounts(t *testing.T, s BrowsingStore) {
	withMeeting := func(acct, id, status string) pipeline.Record {
		r := in(acct, record(id, asha()))
		r.Meeting = &pipeline.Meeting{ID: "m-1", Status: status}
		return r
	}
	a := stored(t, s, withMeeting(acctA, "a-1", "scheduled"))
	b := stored(t, s, withMeeting(acctB, "b-1", "cancelled"))
	for acct, want := range map[string]struct {
		lead   int64
		status string
	}{acctA: {a, "scheduled"}, acctB: {b, "cancelled"}} {
		ms, err := s.LeadMeetings(t.Context(), acct, want.lead)
		require.NoError(t, err)
		require.Len(t, ms, 1, acct)
		require.Equal(t, want.status, ms[0].Status, acct)
		require.Equal(t, acct, ms[0].Account)
		require.Equal(t, want.lead, ms[0].LeadID)
		require.EqualValues(t, 1, accountCounts(t, s, acct).Meetings)
	}
}

// A record without an account is the default account's, and "" reads the default account.
func testEmptyAccountIsDefault(t *testing.T, s BrowsingStore) {
	id := stored(t, s, record("ev-1", asha()))
	l, err := s.Lead(t.Context(), account.Default, id)
	require.NoError(t, err)
	require.Equal(t, account.Default, l.Account)
	ev, err := s.Event(t.Context(), "", "ev-1")
	require.NoError(t, err)
	require.Equal(t, account.Default, ev.Account)
	require.Equal(t, pipeline.Duplicate, apply(t, s, in(account.Default, record("ev-1", asha())))[0].Outcome)
	require.Equal(t, accountCounts(t, s, ""), accountCounts(t, s, account.Default))
}

func accountCounts(t *testing.T, s store.Store, acct string) store.Counts {
	t.Helper()
	c, err := s.Counts(t.Context(), acct)
	require.NoError(t, err)
	return c
}

func getLeadIn(t *testing.T, s store.Store, acct string, id int64) *store.StoredLead {
	t.Helper()
	l, err := s.Lead(t.Context(), acct, id)
	require.NoError(t, err)
	require.Equal(t, acct, l.Account)
	return l
}
