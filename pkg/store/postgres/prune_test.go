package postgres

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline"
	"github.com/saleassist-pipeline/pipeline/internal/testkit"
	"github.com/saleassist-pipeline/pipeline/pkg/store"
	"github.com/saleassist-pipeline/pipeline/pkg/store/storetest"
)

// TestPrune holds PostgreSQL's Prune to the suite SQLite passes too.
func TestPrune(t *testing.T) {
	t.Parallel()
	testkit.PostgresURL(t)
	storetest.RunPrune(t, func(t *testing.T) (storetest.PruningStore, storetest.Ager) {
		db, _ := setup(t)
		return db, age
	})
}

// age is storetest.Ager.
func age(t *testing.T, s storetest.PruningStore, acct string, d time.Duration, leadIDs []int64, eventIDs []string) {
	t.Helper()
	db := s.(*DB)
	then := time.Now().Add(-d)
	_, err := db.pool.Exec(t.Context(), `UPDATE leads SET updated_at = $1, created_at = $1 WHERE account = $2 AND id = ANY($3)`, then, acct, leadIDs)
	require.NoError(t, err)
	_, err = db.pool.Exec(t.Context(), `UPDATE events SET stored_at = $1, received_at = $1 WHERE account = $2 AND event_id = ANY($3)`, then, acct, eventIDs)
	require.NoError(t, err)
}

// Pruning leads while workers write to the same people leaves no event naming a removed lead
// (PostgreSQL has no foreign key to refuse it): Prune takes the leads' identity locks before it
// checks and removes them, so a worker that found a lead either committed first (and the lead,
// now updated, stays) or finds it gone and creates a new one. Each round makes every lead old
// again and races a writer's batch against a prune.
func TestPruneWhileWorkersWrite(t *testing.T) {
	t.Parallel()
	url := testkit.FreshPostgres(t)
	writer, pruner := open(t, url), open(t, url)
	const people = 20
	batch := func(round int) []pipeline.Record {
		var recs []pipeline.Record
		for p := range people {
			r := storetest.SimpleRecord(fmt.Sprintf("ev-%d-%d", round, p), fmt.Sprintf("p%d@example.com", p))
			if p%2 == 1 { // half of them by phone only
				r.Lead.Email, r.Lead.MobileNumber = "", fmt.Sprintf("+9198000000%02d", p)
			}
			recs = append(recs, r)
		}
		return recs
	}
	_, err := writer.Apply(t.Context(), batch(0))
	require.NoError(t, err)
	removed := int64(0)
	for round := 1; round <= 15; round++ {
		_, err := writer.pool.Exec(t.Context(), `UPDATE leads SET updated_at = now() - interval '40 days';
			UPDATE events SET stored_at = now() - interval '40 days'`)
		require.NoError(t, err)
		errs := make(chan error, 2)
		go func() {
			_, err := writer.Apply(t.Context(), batch(round))
			errs <- err
		}()
		go func() {
			r, err := pruner.Prune(t.Context(), store.PruneQuery{LeadsBefore: time.Now().Add(-30 * 24 * time.Hour)})
			removed += r.Leads
			errs <- err
		}()
		require.NoError(t, <-errs)
		require.NoError(t, <-errs)
		require.Zero(t, dangling(t, writer), "round %d", round)
	}
	t.Logf("%d leads pruned while the writer wrote", removed)
	c, err := writer.Counts(t.Context(), "")
	require.NoError(t, err)
	require.LessOrEqual(t, c.Leads, int64(people), "still one lead per person")
}
