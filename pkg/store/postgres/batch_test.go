package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline"
	"github.com/saleassist-pipeline/pipeline/internal/testkit"
	"github.com/saleassist-pipeline/pipeline/pkg/account"
	"github.com/saleassist-pipeline/pipeline/pkg/store"
)

// A record that fails leaves its event id free within the batch: a later record with the same id
// is stored, not called a duplicate of something that was rolled back.
func TestFailedRecordIsNotADuplicate(t *testing.T) {
	t.Parallel()
	db, _ := setup(t)
	bad := rec("ev-1", "bad@example.com")
	bad.Meeting = &pipeline.Meeting{ID: ""} // refused by the meetings table's CHECK
	good := rec("ev-1", "good@example.com")
	res, err := db.Apply(t.Context(), []pipeline.Record{bad, good})
	require.NoError(t, err)
	require.Error(t, res[0].Err)
	require.NoError(t, res[1].Err)
	require.Equal(t, pipeline.Stored, res[1].Outcome)
	ev, err := db.Event(t.Context(), "", "ev-1")
	require.NoError(t, err)
	require.Equal(t, res[1].LeadID, ev.LeadID)
	_, err = db.LeadByEmail(t.Context(), "", "bad@example.com")
	require.ErrorIs(t, err, store.ErrNotFound)
}

// Values PostgreSQL refuses and SQLite keeps (a NUL in text, in jsonb) fail their record alone.
func TestRefusedValuesFailTheirRecordAlone(t *testing.T) {
	t.Parallel()
	db, _ := setup(t)
	nul := rec("ev-nul", "nul@example.com")
	nul.Lead.Name = "a\x00b"
	attr := rec("ev-attr", "attr@example.com")
	attr.Lead.Attributes = map[string]json.RawMessage{"k": json.RawMessage(`"\u0000"`)}
	res, err := db.Apply(t.Context(), []pipeline.Record{rec("ev-1", "one@example.com"), nul, attr, rec("ev-2", "one@example.com")})
	require.NoError(t, err)
	require.NoError(t, res[0].Err)
	require.Error(t, res[1].Err)
	require.Error(t, res[2].Err)
	require.NoError(t, res[3].Err)
	require.Equal(t, res[0].LeadID, res[3].LeadID)
	c, err := db.Counts(t.Context(), "")
	require.NoError(t, err)
	require.Equal(t, store.Counts{Leads: 1, Events: 2}, c)
}

// When the batch moves the newest leads of a shared number off it, the next one is fetched: the
// answer is the one SQLite gives, statement by statement.
func TestPhoneLookupPastTheFetchedLeads(t *testing.T) {
	t.Parallel()
	db, _ := setup(t)
	const shared = "+919876543210"
	var ids []int64
	for i := range 3 {
		r := rec(fmt.Sprintf("seed-%d", i), "")
		r.Lead = &pipeline.Lead{MobileNumber: shared, Name: fmt.Sprintf("anon-%d", i), SeenAt: t0()}
		r.Lead.Email = fmt.Sprintf("s%d@example.com", i)
		res, err := db.Apply(t.Context(), []pipeline.Record{r})
		require.NoError(t, err)
		ids = append(ids, res[0].LeadID)
	}
	// One batch: the two newest leads with the number get other numbers (matched by email), then
	// a phone-only event with the number must join the oldest, which was not fetched up front.
	move := func(i int, phone string) pipeline.Record {
		r := rec(fmt.Sprintf("move-%d", i), "")
		r.Lead = &pipeline.Lead{Email: fmt.Sprintf("s%d@example.com", i), MobileNumber: phone, SeenAt: t0().Add(time.Hour)}
		return r
	}
	join := rec("join", "")
	join.Lead = &pipeline.Lead{MobileNumber: shared, SeenAt: t0()}
	res, err := db.Apply(t.Context(), []pipeline.Record{move(2, "+911111111111"), move(1, "+912222222222"), join})
	require.NoError(t, err)
	require.Equal(t, ids[0], res[2].LeadID)
}

func t0() time.Time { return time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC) }

// A batch changing a lead found by email also takes the lock on the lead's phone: here another
// transaction holds it, so Apply starts over, waits for it, and then writes.
func TestChangedLeadsKeysAreLocked(t *testing.T) {
	t.Parallel()
	db, url := setup(t)
	first := rec("ev-1", "asha@example.com")
	first.Lead.MobileNumber = "+919876543210"
	_, err := db.Apply(t.Context(), []pipeline.Record{first})
	require.NoError(t, err)

	other, err := pgx.Connect(t.Context(), url)
	require.NoError(t, err)
	t.Cleanup(func() { other.Close(context.Background()) })
	tx, err := other.Begin(t.Context())
	require.NoError(t, err)
	_, err = tx.Exec(t.Context(), `SELECT pg_advisory_xact_lock($1)`, lockKey(kindPhone, account.Default, "+919876543210"))
	require.NoError(t, err)

	second := rec("ev-2", "asha@example.com")
	second.Lead.MobileNumber = "+911111111111" // newer: the lead moves off the locked number
	done := make(chan error, 1)
	go func() {
		_, err := db.Apply(context.Background(), []pipeline.Record{second})
		done <- err
	}()
	// Apply must end up waiting for the advisory lock the other transaction holds.
	requireWaiting(t, other, done, "Apply returned while the lead's key was held")
	require.NoError(t, tx.Commit(t.Context()))
	require.NoError(t, <-done)
	l, err := db.LeadByEmail(t.Context(), "", "asha@example.com")
	require.NoError(t, err)
	require.Equal(t, "+911111111111", l.MobileNumber)
}

// Open refuses a bad URL, an unreachable server and a user without privileges, naming the
// problem and never the password.
func TestOpenErrors(t *testing.T) {
	t.Parallel()
	base := testkit.FreshPostgres(t)
	const secret = "s3cret-Pa55"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := ln.Addr().String()
	require.NoError(t, ln.Close())

	admin := open(t, base)
	role := "ro_" + strings.ReplaceAll(testkitName(base), "storetest_", "")
	_, err = admin.pool.Exec(t.Context(), `CREATE ROLE `+role+` LOGIN PASSWORD '`+secret+`'`)
	require.NoError(t, err)
	t.Cleanup(func() {
		_, _ = admin.pool.Exec(context.Background(), `DROP OWNED BY `+role)
		_, _ = admin.pool.Exec(context.Background(), `DROP ROLE `+role)
	})
	_, err = admin.pool.Exec(t.Context(), `GRANT SELECT ON leads, events, meetings TO `+role)
	require.NoError(t, err)
	readOnly := strings.Replace(base, "postgres://postgres@", "postgres://"+role+":"+secret+"@", 1)

	for _, tc := range []struct{ url, want string }{
		{"postgres://app:" + secret + "@127.0.0.1:notaport/leads", "not a valid PostgreSQL URL"},
		{"postgres://app:" + secret + "@" + closed + "/leads?connect_timeout=5", "connect"},
		{readOnly, "permission denied for table schema_migrations"},
	} {
		_, err := Open(t.Context(), tc.url)
		require.Error(t, err, tc.url)
		require.Contains(t, err.Error(), tc.want)
		require.Contains(t, err.Error(), "open postgres postgres://")
		require.NotContains(t, err.Error(), secret)
	}
	// Migrated, but the user may only read: refused at Open, not at the first batch.
	_, err = admin.pool.Exec(t.Context(), `GRANT SELECT ON schema_migrations TO `+role)
	require.NoError(t, err)
	_, err = Open(t.Context(), readOnly)
	require.ErrorContains(t, err, "lacks privileges")
	require.ErrorContains(t, err, "leads: INSERT")
	require.NotContains(t, err.Error(), secret)
}

func testkitName(url string) string {
	return url[strings.LastIndex(url, "/")+1 : strings.Index(url+"?", "?")]
}
