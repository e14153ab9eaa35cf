package sqlite

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/pkg/store/storetest"
)

// TestPrune holds SQLite's Prune to the suite PostgreSQL passes too.
func TestPrune(t *testing.T) {
	t.Parallel()
	storetest.RunPrune(t, func(t *testing.T) (storetest.PruningStore, storetest.Ager) {
		db, _ := setup(t)
		return db, age
	})
}

// age is storetest.Ager in SQLite's time format.
func age(t *testing.T, s storetest.PruningStore, acct string, d time.Duration, leadIDs []int64, eventIDs []string) {
	t.Helper()
	db := s.(*DB)
	then := formatTime(time.Now().Add(-d))
	for _, id := range leadIDs {
		_, err := db.write.Exec(`UPDATE leads SET updated_at = ?, created_at = ? WHERE account = ? AND id = ?`, then, then, acct, id)
		require.NoError(t, err)
	}
	for _, id := range eventIDs {
		_, err := db.write.Exec(`UPDATE events SET stored_at = ?, received_at = ? WHERE account = ? AND event_id = ?`, then, then, acct, id)
		require.NoError(t, err)
	}
}
