package ctl_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline"
	"github.com/saleassist-pipeline/pipeline/internal/testkit"
	"github.com/saleassist-pipeline/pipeline/pkg/store/postgres"
)

// With -db postgres://…, `ingestctl events invalid` reads the PostgreSQL store, as the workers
// write it (storeurl picks it, as for the worker).
func TestIngestctlListsInvalidEventsFromPostgres(t *testing.T) {
	t.Parallel()
	url := testkit.FreshPostgres(t)
	st, err := postgres.Open(context.Background(), url)
	require.NoError(t, err)
	t0 := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	_, err = st.Apply(context.Background(), []pipeline.Record{
		{EventID: "ok-1", EventType: "widget_new_conversation", ReceivedAt: t0, Payload: []byte(`{}`)},
		{EventID: "bad-1", EventType: "other_type", ReceivedAt: t0.Add(time.Minute), Payload: []byte(`{}`),
			Invalid: "schema: /metadata: got string, want object"},
	})
	require.NoError(t, err)
	require.NoError(t, st.Close())

	code, out, errOut := runCtl("-db", url, "events", "invalid")
	require.Equal(t, 0, code, errOut)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 3, out)
	require.Regexp(t, `^bad-1\s+other_type\s+2026-05-01T10:01:00Z\s+-\s+schema: /metadata`, lines[1])
	require.NotContains(t, out, "ok-1")
}
