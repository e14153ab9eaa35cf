package queue_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/pkg/queue"
)

// A consuming worker's report (ingestctl status --json, the console) has no paused_since; a
// paused one's says since when.
func TestWorkerStateJSONPausedSinceOnlyWhenPaused(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 7, 4, 0, 0, 0, time.UTC)
	b, err := json.Marshal(queue.WorkerState{ID: "w1", Started: at, Reported: at})
	require.NoError(t, err)
	require.NotContains(t, string(b), "paused_since", string(b))

	b, err = json.Marshal(queue.WorkerState{ID: "w1", Started: at, Reported: at, Paused: true, PausedSince: at, Reason: "busy"})
	require.NoError(t, err)
	require.Contains(t, string(b), `"paused_since":"2026-12-07T04:00:00Z"`)
}
