package worker_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline"
	"github.com/saleassist-pipeline/pipeline/internal/testkit"
	"github.com/saleassist-pipeline/pipeline/pkg/account"
	"github.com/saleassist-pipeline/pipeline/pkg/queue"
	"github.com/saleassist-pipeline/pipeline/pkg/store"
	"github.com/saleassist-pipeline/pipeline/pkg/store/sqlite"
	"github.com/saleassist-pipeline/pipeline/pkg/worker"
)

// refusing is a store that refuses, as a data error, every batch holding the event id poison,
// the way PostgreSQL fails a whole batch's statement on one event's bad text; the rest goes to
// the SQLite store underneath.
type refusing struct {
	store.Store
	poison  string
	applies atomic.Int64
}

func (r *refusing) Apply(ctx context.Context, recs []pipeline.Record) ([]pipeline.Result, error) {
	r.applies.Add(1)
	for _, rec := range recs {
		if rec.EventID == r.poison {
			return nil, store.DataError(fmt.Errorf("apply %d records: event %q: invalid byte sequence (SQLSTATE 22021)", len(recs), rec.EventID))
		}
	}
	return r.Store.Apply(ctx, recs)
}

// One event the store refuses for its data fails the batch it is in: the worker stores the
// batch's events one by one, so the others are stored at their first delivery, and the culprit
// goes to the dead letters at once with reason unstorable and the store's error. Before the fix
// the whole batch was retried until MaxDeliver and then dead-lettered, every event of it.
func TestUnstorableEventDoesNotHoldUpItsBatch(t *testing.T) {
	t.Parallel()
	var st *refusing
	b := setup(t, withStore(func(t *testing.T) store.Store {
		db, err := sqlite.Open(context.Background(), t.TempDir()+"/leads.db")
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, db.Close()) })
		st = &refusing{Store: db, poison: "batch-3"}
		return st
	}), withOptions(worker.Options{BatchLinger: 200 * 1e6})) // one batch: the events arrive together
	b.publishMany(t, "batch", 8)
	b.start(t)

	dls := b.awaitDeadLetters(t, 1)
	require.Eventually(t, func() bool { return b.storedEvents(t) == 7 }, waitFor, tick)
	b.requireSettled(t)
	require.Equal(t, "batch-3", dls[0].Header.Get(queue.HeaderEventID))
	require.Equal(t, worker.ReasonUnstorable, dls[0].Header.Get(queue.HeaderDLQReason))
	require.Contains(t, dls[0].Header.Get(queue.HeaderDLQError), "SQLSTATE 22021")
	require.Zero(t, b.redeliveries(t), "nothing was delivered twice")
	require.Zero(t, b.events(t, wnc, worker.OutcomeFailed))
	require.Equal(t, float64(7), b.events(t, wnc, worker.OutcomeStored))
	require.Equal(t, float64(1), b.events(t, wnc, worker.OutcomeDeadLettered))
	require.Equal(t, float64(1), testkit.RequireMetric(t, b.reg, "saleassist_worker_dead_letters_total", map[string]string{"account": "default", "reason": worker.ReasonUnstorable}))
}

// On PostgreSQL a meeting duration beyond the integer column (3,000,000,000 minutes, which
// SQLite stores) is a data error: that event is dead-lettered at its first delivery, its
// batch-mates stored. Before the fix it was retried until MaxDeliver.
func TestPostgresDataErrorIsDeadLetteredAtOnce(t *testing.T) {
	t.Parallel()
	testkit.PostgresURL(t)
	b := setup(t, withStore(postgresStore), withOptions(worker.Options{BatchLinger: 200 * 1e6}))
	for i := range 4 {
		id := "pg-" + strconv.Itoa(i)
		body := testkit.EditFixture(t, id, func(_, payload, person map[string]any) {
			person["email"] = id + "@example.com"
			meta := payload["meta"].([]any)[0].(map[string]any)
			meta["id"] = "meeting-" + id
			if i == 2 {
				meta["duration"] = 3000000000
			}
		})
		b.publish(t, b.qc.NewMsg(testkit.NewEvent(id, wnc, body)))
	}
	b.start(t)

	dls := b.awaitDeadLetters(t, 1)
	require.Eventually(t, func() bool { return b.storedEvents(t) == 3 }, waitFor, tick)
	b.requireSettled(t)
	require.Equal(t, "pg-2", dls[0].Header.Get(queue.HeaderEventID))
	require.Equal(t, worker.ReasonUnstorable, dls[0].Header.Get(queue.HeaderDLQReason))
	require.Contains(t, dls[0].Header.Get(queue.HeaderDLQError), "duration_min")
	require.Zero(t, b.redeliveries(t))
	_, err := b.store.Event(context.Background(), account.Default, "pg-2")
	require.True(t, errors.Is(err, store.ErrNotFound))
}
