package worker_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline"
	"github.com/saleassist-pipeline/pipeline/internal/testkit"
	"github.com/saleassist-pipeline/pipeline/pkg/account"
	"github.com/saleassist-pipeline/pipeline/pkg/handlers"
	"github.com/saleassist-pipeline/pipeline/pkg/mapping"
	"github.com/saleassist-pipeline/pipeline/pkg/queue"
	"github.com/saleassist-pipeline/pipeline/pkg/route"
	"github.com/saleassist-pipeline/pipeline/pkg/store"
	"github.com/saleassist-pipeline/pipeline/pkg/store/sqlite"
	"github.com/saleassist-pipeline/pipeline/pkg/worker"
)

// recordingStore is a real SQLite store that also remembers, per event id, the account and lead
// name of every record it was asked to apply.
type recordingStore struct {
	store.Store
	mu   sync.Mutex
	seen map[string]pipeline.Record
}

func (s *recordingStore) Apply(ctx context.Context, recs []pipeline.Record) ([]pipeline.Result, error) {
	s.mu.Lock()
	for _, r := range recs {
		s.seen[r.EventID] = r
	}
	s.mu.Unlock()
	return s.Store.Apply(ctx, recs)
}

func (s *recordingStore) record(id string) (pipeline.Record, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.seen[id]
	return r, ok
}

func recording(rs **recordingStore) option {
	return withStore(func(t *testing.T) store.Store {
		db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "leads.db"))
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, db.Close()) })
		*rs = &recordingStore{Store: db, seen: map[string]pipeline.Record{}}
		return *rs
	})
}

// accountRouter is what the program's wiring does: the process's handlers and middleware, with
// the account's mapping.
func accountRouter(b **testBundle) worker.RouterFunc {
	return func(mp *mapping.Mapping) (*route.Router, error) {
		m, err := mapping.NewMapper("IN", mapping.WithMapping(mp))
		if err != nil {
			return nil, err
		}
		return handlers.NewRouter(m, route.Recover, route.Validate((*b).validator)), nil
	}
}

// nameIsEmail is an account's own mapping: the lead's name is the person's email.
const nameIsEmail = `version: 1
person: payload.people_detail
lead:
  name: payload.people_detail.email
  email: {path: payload.people_detail.email, transforms: [trim, lowercase]}
`

// TestAccounts_RecordAccountAndOwnMapping: each stored record carries its event's account, and
// an account with a mapping of its own has its events mapped with it while the others keep the
// process's mapping.
func TestAccounts_RecordAccountAndOwnMapping(t *testing.T) {
	t.Parallel()
	reg := account.NewRegistry(account.Account{ID: account.Default}, account.Account{ID: "own", Mapping: nameIsEmail})
	var rs *recordingStore
	var b *testBundle
	b = setup(t, withAccounts(reg), recording(&rs), withOptions(worker.Options{AccountRouter: accountRouter(&b)}))
	b.start(t)
	def := b.newEvent(t, "d-1")
	own := b.newEvent(t, "o-1")
	own.Account = "own"
	b.publishEvents(t, []*pipeline.Event{def, own})
	require.Eventually(t, func() bool { return b.storedEvents(t) == 1 && b.storedEventsOf(t, "own") == 1 }, waitFor, tick)

	r, ok := rs.record("d-1")
	require.True(t, ok)
	require.Equal(t, account.Default, r.Account)
	require.NotNil(t, r.Lead)
	require.NotEqual(t, r.Lead.Email, r.Lead.Name, "the default account keeps the process's mapping")
	r, ok = rs.record("o-1")
	require.True(t, ok)
	require.Equal(t, "own", r.Account)
	require.NotEmpty(t, r.Lead.Email)
	require.Equal(t, r.Lead.Email, r.Lead.Name, "the account's own mapping maps the name from the email")
	require.Equal(t, float64(1), b.eventsOf(t, "own", pipeline.WidgetNewConversation, worker.OutcomeStored))

	// Stored under its account, and only there.
	got, err := b.store.Event(context.Background(), "own", "o-1")
	require.NoError(t, err)
	require.Equal(t, "own", got.Account)
	_, err = b.store.Event(context.Background(), account.Default, "o-1")
	require.ErrorIs(t, err, store.ErrNotFound)
}

// TestAccounts_BadMappingHoldsTheAccountsEvents: an account whose mapping does not compile has
// its events left in its consumer (none stored, none dead-lettered, no delivery spent) while
// other accounts flow; fixing the mapping releases them.
func TestAccounts_BadMappingHoldsTheAccountsEvents(t *testing.T) {
	t.Parallel()
	broken := account.Account{ID: "broken", Mapping: "version: 1\nlead:\n  nmae: payload.people_detail.name\n"}
	reg := account.NewRegistry(account.Account{ID: account.Default}, broken)
	var b *testBundle
	b = setup(t, withAccounts(reg), withOptions(worker.Options{AccountRouter: accountRouter(&b)}))
	b.start(t)
	b.publishFor(t, "broken", "x", 0, 3)
	b.publishFor(t, "", "ok", 0, 2)
	require.Eventually(t, func() bool { return b.storedEvents(t) == 2 }, waitFor, tick, "the default account is not held up")
	invalid := func() float64 {
		v, _ := testkit.Metric(t, b.reg, "saleassist_worker_account_mapping_invalid", map[string]string{"account": "broken"})
		return v
	}
	require.Eventually(t, func() bool { return invalid() == 1 }, waitFor, tick)
	s, err := b.js.Stream(t.Context(), b.qc.Stream)
	require.NoError(t, err)
	c, err := s.Consumer(t.Context(), b.qc.AccountConsumer("broken"))
	require.NoError(t, err)
	info, err := c.Info(t.Context())
	require.NoError(t, err)
	require.Equal(t, uint64(3), info.NumPending, "held in the account's consumer, never delivered")
	require.Zero(t, info.Delivered.Consumer)
	require.Empty(t, b.deadLetters(t))

	broken.Mapping = nameIsEmail
	reg.Set([]account.Account{{ID: account.Default}, broken})
	require.Eventually(t, func() bool { return b.storedEventsOf(t, "broken") == 3 }, waitFor, tick, "stored once the mapping is fixed")
	require.EqualValues(t, 2, b.storedEvents(t))
	require.Zero(t, invalid())
}

// TestAccounts_HeaderDisagreeingWithSubjectIsDeadLettered: a message on one account's subjects
// that names another account was not published by the ingest; it is stored under neither.
func TestAccounts_HeaderDisagreeingWithSubjectIsDeadLettered(t *testing.T) {
	t.Parallel()
	reg := account.NewRegistry(account.Account{ID: account.Default}, account.Account{ID: "a"}, account.Account{ID: "b"})
	b := setup(t, withAccounts(reg))
	b.start(t)
	ev := b.newEvent(t, "forged-1")
	ev.Account = "a"
	msg := b.qc.NewMsg(ev)
	msg.Header.Set(queue.HeaderAccount, "b")
	b.publish(t, msg)
	dl := b.awaitDeadLetters(t, 1)
	require.Equal(t, worker.ReasonPermanent, dl[0].Header.Get(queue.HeaderDLQReason))
	require.Contains(t, dl[0].Header.Get(queue.HeaderDLQError), `names account "b"`)
	for _, acct := range []string{account.Default, "a", "b"} {
		require.Zero(t, b.storedEventsOf(t, acct))
	}
}
