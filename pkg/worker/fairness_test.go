package worker_test

import (
	"database/sql"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline"
	"github.com/saleassist-pipeline/pipeline/internal/testkit"
	"github.com/saleassist-pipeline/pipeline/pkg/account"
	"github.com/saleassist-pipeline/pipeline/pkg/worker"
)

// storedWithPrefix counts the events in the SQLite store whose id starts with prefix, reading
// the file as an operator would (sqlite3), so that it counts one account's events whatever the
// store's read API looks like.
func (b *testBundle) storedWithPrefix(t *testing.T, db *sql.DB, prefix string) int {
	t.Helper()
	var n int
	require.NoError(t, db.QueryRow(`SELECT count(*) FROM events WHERE event_id LIKE ? || '%'`, prefix).Scan(&n))
	return n
}

// TestFairness_AFloodDelaysAnotherAccountByAFewBatches floods account a with 20,000 events,
// lets the worker drain some, then publishes a few events for account b. The bound: every one of
// b's events is stored before a has stored more than maxAhead further events (a few batches:
// the batch being stored, the one waiting for the store, the one being routed, and the poll's
// slack). Without turns, b's events would wait behind the whole flood.
func TestFairness_AFloodDelaysAnotherAccountByAFewBatches(t *testing.T) {
	t.Parallel()
	const (
		batch    = 100
		flood    = 20_000
		few      = 5
		maxAhead = 5 * batch
	)
	reg := account.NewRegistry(account.Account{ID: account.Default}, account.Account{ID: "a"}, account.Account{ID: "b"})
	b := setup(t, withAccounts(reg), withOptions(worker.Options{BatchSize: batch}))
	// Small events: the flood is about its count, and must fit the test stream's 64 MiB.
	small := func(acct, id string) *pipeline.Event {
		ev := testkit.NewEvent(id, pipeline.WidgetNewConversation, []byte(`{"event_type":"widget_new_conversation","payload":{"id":"`+id+`","people_detail":{"name":"Flood `+id+`","email":"`+id+`@example.com"}},"metadata":{}}`))
		ev.Account = acct
		return ev
	}
	for from := 0; from < flood; from += 2000 {
		evs := make([]*pipeline.Event, 0, 2000)
		for i := from; i < from+2000; i++ {
			evs = append(evs, small("a", "a-"+strconv.Itoa(i)))
		}
		b.publishEvents(t, evs)
	}
	db, err := sql.Open("sqlite3", "file:"+b.dbPath+"?mode=ro&_busy_timeout=5000")
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })

	b.start(t)
	require.Eventually(t, func() bool { return b.storedWithPrefix(t, db, "a-") >= 2*batch }, waitFor, time.Millisecond)
	evs := make([]*pipeline.Event, 0, few)
	for i := range few {
		evs = append(evs, small("b", "b-"+strconv.Itoa(i)))
	}
	b.publishEvents(t, evs)
	before := b.storedWithPrefix(t, db, "a-")
	require.Eventually(t, func() bool { return b.storedWithPrefix(t, db, "b-") == few }, waitFor, time.Millisecond)
	after := b.storedWithPrefix(t, db, "a-")
	t.Logf("a stored %d events while b's %d were published and stored (bound %d); a's backlog: %d of %d left", after-before, few, maxAhead, flood-after, flood)
	require.LessOrEqual(t, after-before, maxAhead, "b waited behind more than a few of a's batches")
	require.Less(t, after, flood/2, "a's flood was still there when b's events were stored")
}
