package sqlite

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline"
	"github.com/saleassist-pipeline/pipeline/pkg/store"
)

// A batch larger than one dedupe query (dedupeChunk ids) finds the events stored before it in
// every chunk, and a repeat inside the batch is a duplicate of the first occurrence.
func TestBatchDedupeAcrossChunks(t *testing.T) {
	t.Parallel()
	db, _ := setup(t)
	n := 2*dedupeChunk + 7
	id := func(i int) string { return fmt.Sprintf("ev-%d", i) }
	var before []pipeline.Record
	for _, i := range []int{0, dedupeChunk - 1, dedupeChunk, n - 1} {
		before = append(before, rec(id(i), fmt.Sprintf("l%d@example.com", i)))
	}
	first, err := db.Apply(t.Context(), before)
	require.NoError(t, err)

	batch := make([]pipeline.Record, 0, n+2)
	for i := range n {
		batch = append(batch, rec(id(i), fmt.Sprintf("l%d@example.com", i)))
	}
	batch = append(batch, rec(id(5), "other@example.com"), rec(id(0), "other@example.com"))
	res, err := db.Apply(t.Context(), batch)
	require.NoError(t, err)
	wasStored := map[int]int64{0: first[0].LeadID, dedupeChunk - 1: first[1].LeadID, dedupeChunk: first[2].LeadID, n - 1: first[3].LeadID}
	for i := range n {
		require.NoError(t, res[i].Err)
		if lid, ok := wasStored[i]; ok {
			require.Equal(t, pipeline.Duplicate, res[i].Outcome, "record %d", i)
			require.Equal(t, lid, res[i].LeadID, "record %d", i)
		} else {
			require.Equal(t, pipeline.Stored, res[i].Outcome, "record %d", i)
		}
	}
	require.Equal(t, pipeline.Result{Outcome: pipeline.Duplicate, LeadID: res[5].LeadID}, res[n])
	require.Equal(t, pipeline.Result{Outcome: pipeline.Duplicate, LeadID: first[0].LeadID}, res[n+1])
	c, err := db.Counts(t.Context(), "")
	require.NoError(t, err)
	require.Equal(t, store.Counts{Leads: int64(n), Events: int64(n)}, c)
}

// A record that fails leaves its event id free within the batch: a later record with the same id
// is stored, not called a duplicate of something that was rolled back.
func TestFailedRecordIsNotADuplicate(t *testing.T) {
	t.Parallel()
	db, _ := setup(t)
	bad := rec("ev-1", "bad@example.com")
	bad.Meeting = &pipeline.Meeting{ID: ""} // refused by the meetings table's CHECK
	good := rec("ev-1", "good@example.com")
	res, err := db.Apply(t.Context(), []pipeline.Record{bad, good})
	require.NoError(t, err)
	require.Error(t, res[0].Err)
	require.NoError(t, res[1].Err)
	require.Equal(t, pipeline.Stored, res[1].Outcome)
	ev, err := db.Event(t.Context(), "", "ev-1")
	require.NoError(t, err)
	require.Equal(t, res[1].LeadID, ev.LeadID)
}

// SQLITE_SYNCHRONOUS reaches every connection: FULL is 2 in PRAGMA synchronous, NORMAL 1.
func TestSynchronousSetting(t *testing.T) {
	t.Parallel()
	for sync, want := range map[Synchronous]int{"": 2, SynchronousNormal: 1, SynchronousFull: 2} {
		db, err := OpenWith(t.Context(), filepath.Join(t.TempDir(), "leads.db"), Options{Synchronous: sync})
		require.NoError(t, err)
		var got int
		require.NoError(t, db.write.QueryRowContext(t.Context(), `PRAGMA synchronous`).Scan(&got))
		require.Equal(t, want, got, "write connection, %q", sync)
		require.NoError(t, db.read.QueryRowContext(t.Context(), `PRAGMA synchronous`).Scan(&got))
		require.Equal(t, want, got, "read connection, %q", sync)
		require.NoError(t, db.Close())
	}
	_, err := OpenWith(t.Context(), filepath.Join(t.TempDir(), "leads.db"), Options{Synchronous: "OFF"})
	require.ErrorContains(t, err, `synchronous "OFF": want NORMAL or FULL`)
	s, err := ParseSynchronous(" full ")
	require.NoError(t, err)
	require.Equal(t, SynchronousFull, s)
}
