package sqlite

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/pkg/store/storetest"
)

// A data directory from the release before accounts (testdata/release-0c7bda0.db, written by
// that release's own code: testdata/genrelease) is migrated in place when this code opens it:
// its leads, events and meeting become the default account's, read as before, and new writes
// are deduped and matched per account.
func TestOpensReleaseStore(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile(filepath.Join("testdata", "release-0c7bda0.db"))
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "leads.db")
	require.NoError(t, os.WriteFile(path, src, 0o600))

	db, err := Open(context.Background(), path)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, db.Close()) })
	var version int
	require.NoError(t, db.read.QueryRow(`SELECT max(version) FROM schema_migrations`).Scan(&version))
	require.Equal(t, 7, version)
	require.Equal(t, []int64{1}, indexed(t, db, "asha k"), "0007 indexed the stored leads")
	require.Equal(t, []int64{2}, indexed(t, db, "avi"))
	storetest.CheckUpgraded(t, db)
	require.Equal(t, []int64{1}, indexed(t, db, "pune"), "the city the upgraded store wrote")
	kept, err := db.Fields(t.Context(), "", "widget_new_conversation")
	require.NoError(t, err)
	require.Empty(t, kept, "the kept schema starts empty (the console samples until it fills)")

	// The rebuilt tables kept their foreign keys to leads, and nothing dangles.
	rows, err := db.read.Query(`PRAGMA foreign_key_check`)
	require.NoError(t, err)
	defer rows.Close()
	require.False(t, rows.Next(), "foreign_key_check found a dangling reference")
	require.NoError(t, rows.Err())
}
