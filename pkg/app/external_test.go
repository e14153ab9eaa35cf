package app_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/internal/testkit"
	"github.com/saleassist-pipeline/pipeline/pkg/app/workerapp"
	"github.com/saleassist-pipeline/pipeline/pkg/store/sqlite"
)

// Scaled out: the ingest and a worker as separate programs against a NATS server of their own
// (NATS_URL set), no embedded server in the ingest.
func TestIngestAndWorkerAgainstExternalNATS(t *testing.T) {
	t.Parallel()
	srv := testkit.StartJetStream(t, testkit.WithListen("127.0.0.1:0")).Server
	url := srv.ClientURL()
	require.NotEmpty(t, url)

	dir := t.TempDir()
	tb := startIngest(t, dir, nil, "-nats-url", url)
	require.False(t, tb.ingest.Standalone())
	require.Empty(t, tb.ingest.EmbeddedNATSURL())

	db := filepath.Join(t.TempDir(), "leads.db")
	w := workerapp.New()
	w.Env, w.Stderr = envOf(map[string]string{"NATS_URL": url, "DATABASE_URL": "sqlite:" + db}), &testkit.SyncBuffer{}
	require.NoError(t, w.ParseFlags([]string{"-addr", "127.0.0.1:0"}))
	require.NoError(t, w.Run(context.Background()))
	t.Cleanup(func() { require.NoError(t, w.Close()) })

	for i := range 20 {
		tb.post(t, variant(t, fmt.Sprintf("ext-%d", i), fmt.Sprintf("e%d@example.com", i), ""))
	}
	st, err := sqlite.Open(context.Background(), db)
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	c := awaitEvents(t, st, 20)
	require.EqualValues(t, 20, c.Leads)
}
