package postgres

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline"
	"github.com/saleassist-pipeline/pipeline/pkg/account"
	"github.com/saleassist-pipeline/pipeline/pkg/store"
)

// sharedNumber is a second number many people give (a shop's phone): SaleAssist's
// unique_field_value, the leads' alt_phone.
const sharedNumber = "+918765875687"

// holdKey opens a transaction on its own connection that holds the phone key of number in the
// given mode until the test ends or release is called.
func holdKey(t *testing.T, url, number string, exclusive bool) (other *pgx.Conn, release func()) {
	t.Helper()
	other, err := pgx.Connect(t.Context(), url)
	require.NoError(t, err)
	t.Cleanup(func() { other.Close(context.Background()) })
	tx, err := other.Begin(t.Context())
	require.NoError(t, err)
	fn := "pg_advisory_xact_lock_shared"
	if exclusive {
		fn = "pg_advisory_xact_lock"
	}
	_, err = tx.Exec(t.Context(), `SELECT `+fn+`($1)`, lockKey(kindPhone, account.Default, number))
	require.NoError(t, err)
	return other, func() { require.NoError(t, tx.Commit(t.Context())) }
}

// Writers that only give leads the same second number do not queue behind each other: a record
// with a mobile number and the shared alternative phone is applied while another transaction
// holds that number's key shared, as a concurrent writer of another such lead does.
func TestSharedSecondNumberDoesNotQueue(t *testing.T) {
	t.Parallel()
	db, url := setup(t)
	_, release := holdKey(t, url, sharedNumber, false)
	defer release()
	r := rec("ev-1", "asha@example.com")
	r.Lead.MobileNumber = "+919876543210"
	r.Lead.AltPhone = sharedNumber
	// With the key taken exclusive, as before, this Apply would wait until release.
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	res, err := db.Apply(ctx, []pipeline.Record{r})
	require.NoError(t, err)
	require.Equal(t, pipeline.Stored, res[0].Outcome)
}

// A record that looks the shared number up (it is its only phone) takes the key exclusive, so it
// waits for a transaction writing a lead with that number and then sees its commit.
func TestLookupWaitsForWriterOfNumber(t *testing.T) {
	t.Parallel()
	db, url := setup(t)
	other, release := holdKey(t, url, sharedNumber, false)
	r := rec("ev-1", "")
	r.Lead.Email = ""
	r.Lead.MobileNumber = sharedNumber
	done := make(chan error, 1)
	go func() {
		_, err := db.Apply(context.Background(), []pipeline.Record{r})
		done <- err
	}()
	requireWaiting(t, other, done, "Apply returned while a writer held the number's key")
	release()
	require.NoError(t, <-done)
}

// The modes a batch's keys are taken in: exclusive what its records look up, shared a second
// number beside a mobile number; exclusive wins when a batch does both with one key.
func TestKeyModes(t *testing.T) {
	t.Parallel()
	a := rec("ev-1", "asha@example.com")
	a.Lead.MobileNumber = "+919876543210"
	a.Lead.AltPhone = sharedNumber
	ks := keySet{}
	ks.addRecord(&a)
	require.Equal(t, lockExclusive, ks[lockKey(kindEvent, account.Default, "ev-1")])
	require.Equal(t, lockExclusive, ks[lockKey(kindEmail, account.Default, "asha@example.com")])
	require.Equal(t, lockExclusive, ks[lockKey(kindPhone, account.Default, "+919876543210")])
	require.Equal(t, lockShared, ks[lockKey(kindPhone, account.Default, sharedNumber)])

	b := rec("ev-2", "")
	b.Lead.Email = ""
	b.Lead.AltPhone = sharedNumber // its only number: looked up
	ks.addRecord(&b)
	require.Equal(t, lockExclusive, ks[lockKey(kindPhone, account.Default, sharedNumber)])
	ks.addLead(&store.StoredLead{Lead: *a.Lead})
	require.Equal(t, lockExclusive, ks[lockKey(kindPhone, account.Default, sharedNumber)], "a changed lead's key never weakens a held one")

	l := ks.sorted()
	require.True(t, slices.IsSorted(l.keys), "every transaction waits in one order")
	for i, k := range l.keys {
		require.Equal(t, ks[k] == lockExclusive, l.exclusive[i], "key %d's mode", k)
	}
}

// requireWaiting waits until some transaction of this database waits for an advisory lock (the
// Apply running beside the test), and fails if that Apply returned meanwhile: it must still be
// waiting (what says why it must).
func requireWaiting(t *testing.T, other *pgx.Conn, done <-chan error, what string) {
	t.Helper()
	require.Eventually(t, func() bool {
		var waiting bool
		err := other.QueryRow(t.Context(), `SELECT EXISTS (SELECT 1 FROM pg_locks
			WHERE locktype = 'advisory' AND NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database()))`).Scan(&waiting)
		return err == nil && waiting
	}, 10*time.Second, 5*time.Millisecond)
	select {
	case err := <-done:
		t.Fatalf("%s: %v", what, err)
	default:
	}
}
