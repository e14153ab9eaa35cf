package storetest

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline"
	"github.com/saleassist-pipeline/pipeline/pkg/store"
)

// testSamePersonTwoAccountsManyWriters: writers on their own handles apply events of one person
// (same email and phone, same event ids) to two accounts at once, each batch mixing both: one
// lead per account, every event stored once per account and linked to its account's lead.
func testSamePersonTwoAccountsManyWriters(t *testing.T, open func() store.Store) {
	const perWriter = 12
	handles := make([]store.Store, writers)
	for w := range handles {
		handles[w] = open()
	}
	err := together(writers, func(w int) error {
		for i := range perWriter {
			n := (i*writers + w*5) % (writers * perWriter)
			var batch []pipeline.Record
			for _, acct := range []string{acctA, acctB} {
				l := &pipeline.Lead{Email: "asha@example.com", MobileNumber: "+919876543210", SeenAt: t0}
				batch = append(batch, in(acct, record(fmt.Sprintf("ev-%d", n), l)))
			}
			if w%2 == 1 {
				batch[0], batch[1] = batch[1], batch[0]
			}
			if _, err := applyAll(t.Context(), handles[w], batch); err != nil {
				return err
			}
		}
		return nil
	})
	require.NoError(t, err)

	s := handles[0]
	leadOf := map[string]int64{}
	for _, acct := range []string{acctA, acctB} {
		c, err := s.Counts(t.Context(), acct)
		require.NoError(t, err)
		require.Equal(t, store.Counts{Leads: 1, Events: writers * perWriter}, c, acct)
		l, err := s.LeadByEmail(t.Context(), acct, "asha@example.com")
		require.NoError(t, err)
		leadOf[acct] = l.ID
		for n := range writers * perWriter {
			ev, err := s.Event(t.Context(), acct, fmt.Sprintf("ev-%d", n))
			require.NoError(t, err)
			require.Equal(t, l.ID, ev.LeadID, "%s event %d", acct, n)
		}
	}
	require.NotEqual(t, leadOf[acctA], leadOf[acctB])
}
