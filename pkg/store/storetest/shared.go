package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline"
	"github.com/saleassist-pipeline/pipeline/pkg/store"
)

// Handles opens a fresh, empty database for one test and returns a function that opens one more
// independent handle on it each time it is called: its own connections, as a worker on another
// host would have (for SQLite, another Open of the same file). Handles are closed by t.Cleanup.
type Handles func(t *testing.T) (open func() store.Store)

// RunShared runs the cases that matter once writers are concurrent: several handles on one
// database, writing at once. Every implementation passes them as it passes Run.
func RunShared(t *testing.T, handles Handles) {
	t.Helper()
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, open func() store.Store)
	}{
		{"SameEmailManyWritersOneLead", func(t *testing.T, open func() store.Store) {
			testSamePersonManyWriters(t, open, func(l *pipeline.Lead) { l.Email = "asha@example.com" })
		}},
		{"SamePhoneManyWritersOneLead", func(t *testing.T, open func() store.Store) {
			testSamePersonManyWriters(t, open, func(l *pipeline.Lead) { l.MobileNumber = "+919876543210" })
		}},
		{"SameEventTwoWritersStoredOnce", testSameEventTwoWriters},
		{"SamePersonTwoAccountsManyWritersOneLeadEach", testSamePersonTwoAccountsManyWriters},
		{"FailedRecordInvisibleToOtherWriter", testFailureInvisible},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, handles(t))
		})
	}
}

// writers is how many handles write at once in the shared cases.
const writers = 4

// together runs f(w) for every writer on its own goroutine, released at once, and returns their
// errors joined.
func together(n int, f func(w int) error) error {
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make([]error, n)
	for w := range n {
		wg.Go(func() {
			<-start
			errs[w] = f(w)
		})
	}
	close(start)
	wg.Wait()
	return errors.Join(errs...)
}

// applyAll applies records and turns a record's error into an error.
func applyAll(ctx context.Context, s store.Store, records []pipeline.Record) ([]pipeline.Result, error) {
	res, err := s.Apply(ctx, records)
	if err != nil {
		return nil, err
	}
	for i, r := range res {
		if r.Err != nil {
			return nil, fmt.Errorf("record %d (%s): %w", i, records[i].EventID, r.Err)
		}
	}
	return res, nil
}

// testSamePersonManyWriters: writers on their own handles apply events of one person (identify
// sets the email, or only the phone) at once, in batches: one lead, every event linked to it,
// the newest values winning, older ones filling gaps.
func testSamePersonManyWriters(t *testing.T, open func() store.Store, identify func(*pipeline.Lead)) {
	const perWriter, batch = 24, 4
	handles := make([]store.Store, writers)
	for w := range handles {
		handles[w] = open()
	}
	// Event n is n seconds after t0; each writer sends its share in an order of its own, so
	// newer and older information keep crossing.
	event := func(n int) pipeline.Record {
		l := &pipeline.Lead{Name: fmt.Sprintf("name-%d", n), SeenAt: t0.Add(time.Duration(n) * time.Second)}
		if n == 0 {
			l.City = "Pune" // the oldest event is the only one with a city: it fills the gap
		}
		identify(l)
		return record(fmt.Sprintf("ev-%d", n), l)
	}
	const total = writers * perWriter
	err := together(writers, func(w int) error {
		var recs []pipeline.Record
		for i := range perWriter {
			recs = append(recs, event((i*writers+w*7)%total))
		}
		for len(recs) > 0 {
			k := min(batch, len(recs))
			if _, err := applyAll(t.Context(), handles[w], recs[:k]); err != nil {
				return err
			}
			recs = recs[k:]
		}
		return nil
	})
	require.NoError(t, err)

	s := handles[0]
	require.Equal(t, store.Counts{Leads: 1, Events: total}, counts(t, s))
	first, err := s.Event(t.Context(), "", "ev-0")
	require.NoError(t, err)
	require.NotZero(t, first.LeadID)
	for n := range total {
		ev, err := s.Event(t.Context(), "", fmt.Sprintf("ev-%d", n))
		require.NoError(t, err)
		require.Equal(t, first.LeadID, ev.LeadID, "event %d", n)
	}
	got := getLead(t, s, first.LeadID)
	require.Equal(t, fmt.Sprintf("name-%d", total-1), got.Name, "the newest name wins")
	require.Equal(t, "Pune", got.City, "an older event fills a gap")
	require.True(t, got.SeenAt.Equal(t0.Add((total-1)*time.Second)), "seen_at %v", got.SeenAt)
}

// testSameEventTwoWriters: the same event applied by two writers at once is stored once; the
// other gets Duplicate, naming the same lead.
func testSameEventTwoWriters(t *testing.T, open func() store.Store) {
	a, b := open(), open()
	const rounds = 20
	for i := range rounds {
		rec := record(fmt.Sprintf("ev-%d", i), &pipeline.Lead{Email: fmt.Sprintf("p%d@example.com", i%3), SeenAt: t0})
		var res [2]pipeline.Result
		err := together(2, func(w int) error {
			r, err := applyAll(t.Context(), []store.Store{a, b}[w], []pipeline.Record{rec})
			if err == nil {
				res[w] = r[0]
			}
			return err
		})
		require.NoError(t, err)
		outcomes := []pipeline.Outcome{res[0].Outcome, res[1].Outcome}
		require.ElementsMatch(t, []pipeline.Outcome{pipeline.Stored, pipeline.Duplicate}, outcomes, "round %d", i)
		require.Equal(t, res[0].LeadID, res[1].LeadID, "round %d", i)
	}
	require.Equal(t, store.Counts{Leads: 3, Events: rounds}, counts(t, a))
}

// testFailureInvisible: while one writer applies batches in which a record fails halfway, the
// other writes the same person; the failed records leave nothing the other writer sees, and
// their batch-mates commit.
func testFailureInvisible(t *testing.T, open func() store.Store) {
	a, b := open(), open()
	const email, rounds = "shared@example.com", 10
	err := together(2, func(w int) error {
		for i := range rounds {
			var recs []pipeline.Record
			if w == 0 {
				bad := record(fmt.Sprintf("bad-%d", i), &pipeline.Lead{Email: email, Name: "POISON", City: "Nowhere",
					SeenAt: t0.Add(time.Hour)})
				bad.Meeting = &pipeline.Meeting{ID: ""} // refused by the store
				fresh := record(fmt.Sprintf("bad-new-%d", i), &pipeline.Lead{Email: fmt.Sprintf("ghost%d@example.com", i), SeenAt: t0})
				fresh.Meeting = &pipeline.Meeting{ID: ""}
				recs = []pipeline.Record{
					record(fmt.Sprintf("a-%d", i), &pipeline.Lead{Email: fmt.Sprintf("a%d@example.com", i), SeenAt: t0}),
					bad, fresh,
					record(fmt.Sprintf("a2-%d", i), &pipeline.Lead{Email: email, SeenAt: t0}),
				}
				res, err := a.Apply(t.Context(), recs)
				if err != nil {
					return err
				}
				if res[1].Err == nil || res[2].Err == nil || res[0].Err != nil || res[3].Err != nil {
					return fmt.Errorf("round %d: want records 1 and 2 to fail alone: %+v", i, res)
				}
				continue
			}
			recs = []pipeline.Record{record(fmt.Sprintf("b-%d", i), &pipeline.Lead{Email: email, Name: "Shared", SeenAt: t0})}
			if _, err := applyAll(t.Context(), b, recs); err != nil {
				return err
			}
		}
		return nil
	})
	require.NoError(t, err)

	got, err := b.LeadByEmail(t.Context(), "", email)
	require.NoError(t, err)
	require.Equal(t, "Shared", got.Name)
	require.Empty(t, got.City)
	require.True(t, got.SeenAt.Equal(t0))
	for i := range rounds {
		for _, id := range []string{fmt.Sprintf("bad-%d", i), fmt.Sprintf("bad-new-%d", i)} {
			_, err := b.Event(t.Context(), "", id)
			require.ErrorIs(t, err, store.ErrNotFound, id)
		}
		_, err := b.LeadByEmail(t.Context(), "", fmt.Sprintf("ghost%d@example.com", i))
		require.ErrorIs(t, err, store.ErrNotFound)
	}
	// The shared lead, one per round for a@…, and nothing else.
	require.Equal(t, store.Counts{Leads: 1 + rounds, Events: 3 * rounds}, counts(t, b))

	// A batch that fails as a whole (its context ended) writes nothing either.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = a.Apply(ctx, []pipeline.Record{record("late", &pipeline.Lead{Email: email, Name: "Late", SeenAt: t0.Add(2 * time.Hour)})})
	require.Error(t, err)
	require.Equal(t, "Shared", getLead(t, b, got.ID).Name)
	require.Equal(t, store.Counts{Leads: 1 + rounds, Events: 3 * rounds}, counts(t, b))
}
