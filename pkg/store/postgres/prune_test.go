package postgres

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/internal/testkit"
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
