package admin_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/internal/testkit"
	"github.com/saleassist-pipeline/pipeline/pkg/admin"
	"github.com/saleassist-pipeline/pipeline/pkg/admin/admintest"
	"github.com/saleassist-pipeline/pipeline/pkg/queue"
)

// The operations return data the console can use as it is: empty listings before anything was
// dead-lettered or quarantined, ErrNotFound for an entry that is gone, and the replayed entry.
func TestOpsReturnData(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	fresh := testkit.StartJetStream(t)
	ops, err := admin.NewOps(fresh.Conn, queue.DefaultConfig(), 1<<20)
	require.NoError(t, err)
	letters, err := ops.DeadLetters(ctx)
	require.NoError(t, err, "no stream yet is an empty list")
	require.Empty(t, letters)
	entries, err := ops.Quarantine(ctx)
	require.NoError(t, err)
	require.Empty(t, entries)
	_, err = ops.ReplayDeadLetter(ctx, 1, admin.ReplayOptions{})
	require.ErrorIs(t, err, admin.ErrNoStream)

	b := admintest.Setup(t)
	ops, err = admin.NewOps(b.JS.Conn, queue.DefaultConfig(), 1<<20)
	require.NoError(t, err)
	id := b.DeadLetter(t, b.Consumer(t), "dl-ops", "max_deliver")
	letters, err = ops.DeadLetters(ctx)
	require.NoError(t, err)
	require.Len(t, letters, 1)
	require.Equal(t, "dl-ops", letters[0].EventID)
	d, err := ops.ReplayDeadLetter(ctx, id, admin.ReplayOptions{})
	require.NoError(t, err)
	require.Equal(t, "dl-ops", d.EventID)
	require.Equal(t, "max_deliver", d.Reason)
	_, err = ops.ReplayDeadLetter(ctx, id, admin.ReplayOptions{})
	require.ErrorIs(t, err, admin.ErrNotFound)
	require.Contains(t, err.Error(), "does not exist")

	qid := b.Quarantine(t, "invalid_json", []byte(`{"event_type":"x","payload":{"id":"q-ops"}}`), nil)
	st, err := ops.Status(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 1, st.Quarantined)
	r, err := ops.ReplayQuarantined(ctx, qid, nil)
	require.NoError(t, err)
	require.Equal(t, admin.Replayed{EventID: "q-ops", EventType: "x"}, r)
	require.ErrorIs(t, ops.DeleteQuarantined(ctx, qid), admin.ErrNotFound)
}
