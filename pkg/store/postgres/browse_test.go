package postgres

import (
	"testing"

	"github.com/saleassist-pipeline/pipeline/internal/testkit"
	"github.com/saleassist-pipeline/pipeline/pkg/store"
	"github.com/saleassist-pipeline/pipeline/pkg/store/storetest"
)

// TestBrowser holds the console's reads to the suite SQLite passes, each case on a fresh database.
func TestBrowser(t *testing.T) {
	t.Parallel()
	testkit.PostgresURL(t) // skip (or fail) once, not in every subtest
	storetest.RunBrowser(t, func(t *testing.T) storetest.BrowsingStore {
		db, _ := setup(t)
		return db
	})
}

// TestAccounts holds both stores to the accounts cases: identity and dedupe per account, no read
// crossing accounts.
func TestAccounts(t *testing.T) {
	t.Parallel()
	testkit.PostgresURL(t) // skip (or fail) once, not in every subtest
	storetest.RunAccounts(t, func(t *testing.T) storetest.BrowsingStore {
		db, _ := setup(t)
		return db
	})
}

// TestFields holds the store to the kept schema's cases (storetest.RunFields).
func TestFields(t *testing.T) {
	t.Parallel()
	storetest.RunFields(t, func(t *testing.T) store.Store {
		db, _ := setup(t)
		return db
	})
}
