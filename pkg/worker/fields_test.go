package worker_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline"
	"github.com/saleassist-pipeline/pipeline/internal/testkit"
	"github.com/saleassist-pipeline/pipeline/pkg/account"
	"github.com/saleassist-pipeline/pipeline/pkg/store"
	"github.com/saleassist-pipeline/pipeline/pkg/worker"
)

// keptFields reads the kept schema of the default account's widget_new_conversation events.
func (b *testBundle) keptFields(t *testing.T) map[string]store.Field {
	t.Helper()
	fs, err := b.store.(store.FieldKeeper).Fields(context.Background(), account.Default, wnc)
	require.NoError(t, err)
	out := map[string]store.Field{}
	for _, f := range fs {
		out[f.Path] = f
	}
	return out
}

// The worker keeps the schema of every stored event: a field sent once among many still shows,
// with count 1, its time and a masked example; a redelivered duplicate is not counted; a key
// holding U+0000 is kept on both stores. With SkipFields (the bench's switch) nothing is kept.
func TestKeptSchemaCountsEveryStoredEvent(t *testing.T) {
	t.Parallel()
	onEveryStore(t, func(t *testing.T, b *testBundle) {
		const n = 600
		evs := make([]*pipeline.Event, 0, n)
		var rareAt time.Time
		for i := range n {
			id := "ks-" + strconv.Itoa(i)
			ev := b.newEvent(t, id)
			if i == n/2 {
				ev.Body = testkit.EditFixture(t, id, func(_, payload, _ map[string]any) {
					payload["sent_once"] = map[string]any{"contact": "call priya@example.com", "no\x00te": 1}
				})
				rareAt = ev.ReceivedAt
			}
			evs = append(evs, ev)
		}
		b.publishEvents(t, evs)
		// ks-0 again under another message id: past JetStream's dedupe, the store's.
		dup := b.qc.NewMsg(b.newEvent(t, "ks-0"))
		dup.Header.Set("Nats-Msg-Id", "ks-0-again")
		b.publish(t, dup)

		require.Eventually(t, func() bool { return b.storedEvents(t) == n }, waitFor, tick)
		b.requireSettled(t)
		require.Eventually(t, func() bool { return b.keptFields(t)["payload.id"].Count >= n }, waitFor, tick,
			"every stored event's paths are kept")
		f := b.keptFields(t)
		require.Equal(t, int64(n), f["payload.id"].Count, "a duplicate is not counted")
		once := f["payload.sent_once.contact"]
		require.Equal(t, int64(1), once.Count, "a field sent once among %d events", n)
		require.Equal(t, []string{"string"}, once.Types.Names())
		require.True(t, once.FirstSeen.Equal(rareAt.Truncate(time.Microsecond)) || once.FirstSeen.Equal(rareAt),
			"first seen %s, sent %s", once.FirstSeen, rareAt)
		require.Equal(t, once.FirstSeen, once.LastSeen)
		require.True(t, once.Masked)
		require.Equal(t, "call p•••@example.com", once.Example)
		require.Equal(t, int64(1), f[`payload.sent_once["no\u0000te"]`].Count, "a key holding U+0000, quoted")
	})
	t.Run("skip", func(t *testing.T) {
		t.Parallel()
		b := setup(t, withOptions(worker.Options{SkipFields: true}))
		stop := b.start(t)
		b.publishMany(t, "skip", 50)
		require.Eventually(t, func() bool { return b.storedEvents(t) == 50 }, waitFor, tick)
		b.requireSettled(t)
		require.NoError(t, stop()) // Run returns once a keeper would have kept everything
		require.Empty(t, b.keptFields(t), "SkipFields keeps nothing")
	})
}
