package account_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/internal/testkit"
	"github.com/saleassist-pipeline/pipeline/pkg/account"
)

// openKV starts a JetStream server of the test's own and opens the accounts bucket on it.
func openKV(t *testing.T) (*account.KV, *testkit.JetStream) {
	t.Helper()
	k := testkit.StartJetStream(t)
	kv, err := account.OpenKV(t.Context(), k.JS)
	require.NoError(t, err)
	return kv, k
}

func TestOpenKVMakesTheBucketWithHistory(t *testing.T) {
	t.Parallel()
	_, k := openKV(t)
	b, err := k.JS.KeyValue(t.Context(), account.Bucket)
	require.NoError(t, err)
	st, err := b.Status(t.Context())
	require.NoError(t, err)
	require.EqualValues(t, account.BucketHistory, st.History())
	// A second open finds it rather than failing.
	_, err = account.OpenKV(t.Context(), k.JS, account.WithReplicas(1))
	require.NoError(t, err)
}

func TestKVCreateGetListDelete(t *testing.T) {
	t.Parallel()
	kv, _ := openKV(t)
	ctx := t.Context()
	a, err := kv.Create(ctx, account.Account{ID: "brand2", Name: "Brand 2", ClientIDs: []string{"c2"}, WebhookToken: account.NewSecret()})
	require.NoError(t, err)
	require.False(t, a.CreatedAt.IsZero())
	require.Equal(t, a.CreatedAt, a.UpdatedAt)

	got, err := kv.Get(ctx, "brand2")
	require.NoError(t, err)
	require.Equal(t, a, got)

	_, err = kv.Create(ctx, account.Account{ID: "brand2"})
	require.ErrorIs(t, err, account.ErrExists)

	_, err = kv.Create(ctx, account.Account{ID: "acme"})
	require.NoError(t, err)
	list, err := kv.List(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{"acme", "brand2"}, []string{list[0].ID, list[1].ID})

	require.NoError(t, kv.Delete(ctx, "brand2"))
	_, err = kv.Get(ctx, "brand2")
	require.ErrorIs(t, err, account.ErrNotFound)
	require.ErrorContains(t, err, "ingestctl accounts list")
	require.ErrorIs(t, kv.Delete(ctx, "brand2"), account.ErrNotFound)
	list, err = kv.List(ctx)
	require.NoError(t, err)
	require.Len(t, list, 1)
}

func TestKVPutRefusesWhatTheIngestCouldNotServe(t *testing.T) {
	t.Parallel()
	kv, _ := openKV(t)
	ctx := t.Context()
	_, err := kv.Put(ctx, account.Account{ID: "Bad Id"})
	require.ErrorContains(t, err, "use a-z, 0-9 and '-'")
	_, err = kv.Put(ctx, account.Account{ID: "neg", RatePerSecond: -1})
	require.ErrorContains(t, err, "may be negative")

	token := account.NewSecret()
	_, err = kv.Put(ctx, account.Account{ID: "one", WebhookToken: token})
	require.NoError(t, err)
	_, err = kv.Put(ctx, account.Account{ID: "two", WebhookToken: token})
	require.ErrorContains(t, err, `its webhook token is account "one"'s already`)
	_, err = kv.Get(ctx, "two")
	require.ErrorIs(t, err, account.ErrNotFound, "nothing stored")
	// The account itself may keep its token.
	_, err = kv.Put(ctx, account.Account{ID: "one", WebhookToken: token, Name: "One"})
	require.NoError(t, err)
}

// Concurrent updates of one account each land: Update retries on a revision conflict instead of
// overwriting the other writer's change.
func TestKVUpdateLosesNoConcurrentChange(t *testing.T) {
	t.Parallel()
	kv, _ := openKV(t)
	ctx := t.Context()
	_, err := kv.Create(ctx, account.Account{ID: "acme"})
	require.NoError(t, err)
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Go(func() {
			for i := range 5 {
				_, err := kv.Update(ctx, "acme", func(a *account.Account) error {
					a.ClientIDs = append(a.ClientIDs, fmt.Sprintf("w%d-%d", w, i))
					return nil
				})
				require.NoError(t, err)
			}
		})
	}
	wg.Wait()
	a, err := kv.Get(ctx, "acme")
	require.NoError(t, err)
	require.Len(t, a.ClientIDs, 10)
}

func TestKVUpdateOfAMissingAccount(t *testing.T) {
	t.Parallel()
	kv, _ := openKV(t)
	ctx := t.Context()
	_, err := kv.Update(ctx, "nobody", func(*account.Account) error { return nil })
	require.ErrorIs(t, err, account.ErrNotFound)

	// The default account always exists: its first update makes its entry.
	a, err := kv.Update(ctx, account.Default, func(a *account.Account) error { a.Name = "Main brand"; return nil })
	require.NoError(t, err)
	require.Equal(t, "Main brand", a.Name)
	got, err := kv.Get(ctx, account.Default)
	require.NoError(t, err)
	require.Equal(t, "Main brand", got.Name)
}

// An entry written by hand that is not an account's JSON is reported by List with its key.
func TestKVListNamesABadEntry(t *testing.T) {
	t.Parallel()
	kv, k := openKV(t)
	b, err := k.JS.KeyValue(context.Background(), account.Bucket)
	require.NoError(t, err)
	_, err = b.Put(t.Context(), "broken", []byte("{not json"))
	require.NoError(t, err)
	_, err = kv.List(t.Context())
	require.ErrorContains(t, err, `account "broken"`)
	require.ErrorContains(t, err, "is not an account's JSON")
}
