package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/pkg/account"
	"github.com/saleassist-pipeline/pipeline/pkg/store"
)

// RunFields runs the cases of the kept schema (store.FieldKeeper, issue 23 item 8): counts add
// up, first and last seen widen, types accumulate, an example is replaced only by another, and
// no account sees another's fields. open is as for Run; the store must be a store.FieldKeeper.
func RunFields(t *testing.T, open func(t *testing.T) store.Store) {
	t.Helper()
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, k store.FieldKeeper)
	}{
		{"CountsAddFirstLastSeenWiden", testFieldsAddUp},
		{"FieldsPerAccount", testFieldsPerAccount},
		{"ConcurrentKeepersAddUp", testFieldsConcurrent},
		{"NoneKeptIsEmpty", testFieldsNone},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := open(t)
			k, ok := s.(store.FieldKeeper)
			require.True(t, ok, "%T is not a store.FieldKeeper", s)
			tc.fn(t, k)
		})
	}
}

const fieldType = "widget_new_conversation"

func field(acct, path string, types store.FieldTypes, count int64, first, last time.Time, example string, masked bool) store.Field {
	return store.Field{Account: acct, EventType: fieldType, Path: path, Types: types, Count: count,
		FirstSeen: first, LastSeen: last, Example: example, Masked: masked}
}

func testFieldsAddUp(t *testing.T, k store.FieldKeeper) {
	ctx := t.Context()
	month := t0.Add(-30 * 24 * time.Hour)
	require.NoError(t, k.KeepFields(ctx, []store.Field{
		field("", "payload.id", store.TypeString, 3, t0, t0.Add(time.Minute), "ev-1", false),
		field("", "payload.people_detail.email", store.TypeString, 1, t0, t0, "p•••@example.com", true),
		field("", "payload.rare", store.TypeNumber, 1, month, month, "7", false),
	}))
	// A later batch: one path again (an earlier first seen, a later last seen, another type,
	// no example), a new one.
	require.NoError(t, k.KeepFields(ctx, []store.Field{
		field("", "payload.id", store.TypeNumber, 2, t0.Add(-time.Hour), t0.Add(time.Hour), "", false),
		field("", "payload.people_detail.email", store.TypeString, 4, t0.Add(time.Second), t0.Add(2*time.Second), "q•••@example.org", true),
		field("", "payload.meta[0].id", store.TypeString, 1, t0, t0, "m-1", false),
	}))
	got, err := k.Fields(ctx, account.Default, fieldType)
	require.NoError(t, err)
	require.Equal(t, []store.Field{
		field(account.Default, "payload.id", store.TypeString|store.TypeNumber, 5, t0.Add(-time.Hour), t0.Add(time.Hour), "ev-1", false),
		field(account.Default, "payload.meta[0].id", store.TypeString, 1, t0, t0, "m-1", false),
		field(account.Default, "payload.people_detail.email", store.TypeString, 5, t0, t0.Add(2*time.Second), "q•••@example.org", true),
		field(account.Default, "payload.rare", store.TypeNumber, 1, month, month, "7", false),
	}, got, "counts add, first/last seen widen, types OR, an example is replaced only by another")
	none, err := k.Fields(ctx, account.Default, "other_type")
	require.NoError(t, err)
	require.Empty(t, none, "another event type's fields are its own")
}

func testFieldsPerAccount(t *testing.T, k store.FieldKeeper) {
	ctx := t.Context()
	require.NoError(t, k.KeepFields(ctx, []store.Field{
		field(acctA, "payload.a_only", store.TypeString, 2, t0, t0, "a", false),
		field(acctA, "payload.id", store.TypeString, 2, t0, t0, "ev-a", false),
		field(acctB, "payload.id", store.TypeString, 7, t0, t0, "ev-b", false),
	}))
	a, err := k.Fields(ctx, acctA, fieldType)
	require.NoError(t, err)
	require.Equal(t, []store.Field{
		field(acctA, "payload.a_only", store.TypeString, 2, t0, t0, "a", false),
		field(acctA, "payload.id", store.TypeString, 2, t0, t0, "ev-a", false),
	}, a)
	b, err := k.Fields(ctx, acctB, fieldType)
	require.NoError(t, err)
	require.Equal(t, []store.Field{field(acctB, "payload.id", store.TypeString, 7, t0, t0, "ev-b", false)}, b,
		"one path in two accounts is two rows")
	def, err := k.Fields(ctx, "", fieldType)
	require.NoError(t, err)
	require.Empty(t, def, "the default account sees no other account's fields")
}

func testFieldsConcurrent(t *testing.T, k store.FieldKeeper) {
	ctx := t.Context()
	const keepers, rounds = 4, 10
	var wg sync.WaitGroup
	errs := make(chan error, keepers*rounds)
	for range keepers {
		wg.Go(func() {
			for range rounds {
				// Every keeper updates the same hot rows, sorted by key as the contract asks.
				errs <- k.KeepFields(ctx, []store.Field{
					field("", "payload.id", store.TypeString, 1, t0, t0, "", false),
					field("", "payload.name", store.TypeString, 2, t0, t0, "", false),
				})
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	got, err := k.Fields(ctx, "", fieldType)
	require.NoError(t, err)
	require.Len(t, got, 2)
	require.Equal(t, int64(keepers*rounds), got[0].Count, "payload.id")
	require.Equal(t, int64(2*keepers*rounds), got[1].Count, "payload.name")
}

func testFieldsNone(t *testing.T, k store.FieldKeeper) {
	got, err := k.Fields(t.Context(), "", fieldType)
	require.NoError(t, err)
	require.NotNil(t, got)
	require.Empty(t, got)
	require.NoError(t, k.KeepFields(t.Context(), nil), "nothing to keep is no error")
}
