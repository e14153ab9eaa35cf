package app_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/internal/testkit"
	"github.com/saleassist-pipeline/pipeline/pkg/app/workerapp"
	"github.com/saleassist-pipeline/pipeline/pkg/store/postgres"
)

// DATABASE_URL=postgres://… selects PostgreSQL for a standalone ingest's in-process worker and
// for cmd/worker: both store into one database, one lead per person between them.
func TestPostgresSelectedByDatabaseURL(t *testing.T) {
	t.Parallel()
	dbURL := testkit.FreshPostgres(t)
	tb := startIngest(t, t.TempDir(), map[string]string{"WEBHOOK_SECRETS": testSecret, "DATABASE_URL": dbURL})
	require.Contains(t, tb.stdout.String(), "leads in postgres://")

	w := workerapp.New()
	w.Env, w.Stderr = envOf(map[string]string{"NATS_URL": tb.ingest.EmbeddedNATSURL(), "DATABASE_URL": dbURL}), &testkit.SyncBuffer{}
	require.NoError(t, w.ParseFlags([]string{"-addr", "127.0.0.1:0"}))
	require.NoError(t, w.Run(context.Background()))
	t.Cleanup(func() { require.NoError(t, w.Close()) })

	for i := range 30 {
		tb.post(t, variant(t, fmt.Sprintf("pg-%d", i), fmt.Sprintf("p%d@example.com", i%5), ""))
	}
	st, err := postgres.Open(context.Background(), dbURL)
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	c := awaitEvents(t, st, 30)
	require.EqualValues(t, 5, c.Leads)
}
