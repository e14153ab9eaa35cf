package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline"
	"github.com/saleassist-pipeline/pipeline/pkg/store"
)

// Every class of error is told by its code: the record's data, the store unavailable (and why),
// or neither (retried).
func TestClassify(t *testing.T) {
	t.Parallel()
	pg := func(code string) error { return fmt.Errorf("apply: %w", &pgconn.PgError{Code: code}) }
	for _, tc := range []struct {
		name   string
		err    error
		data   bool
		reason string
	}{
		{"22021 invalid byte sequence", pg("22021"), true, ""},
		{"22P05 untranslatable character", pg("22P05"), true, ""},
		{"22003 numeric out of range", pg("22003"), true, ""},
		{"23514 check violation", pg("23514"), true, ""},
		{"23502 not null violation", pg("23502"), true, ""},
		{"23505 unique violation", pg("23505"), false, ""},
		{"40P01 deadlock", pg("40P01"), false, ""},
		{"08006 connection failure", pg("08006"), false, store.ReasonUnreachable},
		{"57P01 admin shutdown", pg("57P01"), false, store.ReasonShutdown},
		{"57P03 cannot connect now", pg("57P03"), false, store.ReasonStarting},
		{"57P05 idle session timeout", pg("57P05"), false, store.ReasonUnreachable},
		{"25006 read only", pg("25006"), false, store.ReasonReadOnly},
		{"53300 too many connections", pg("53300"), false, store.ReasonTooManyConnections},
		{"53100 disk full", pg("53100"), false, store.ReasonDiskFull},
		{"53200 out of memory", pg("53200"), false, store.ReasonServerError},
		{"58030 io error", pg("58030"), false, store.ReasonServerError},
		{"connection refused", &pgconn.ConnectError{}, false, store.ReasonUnreachable},
		{"refused, bare", fmt.Errorf("dial: %w", syscall.ECONNREFUSED), false, store.ReasonUnreachable},
		{"reset", fmt.Errorf("read: %w", syscall.ECONNRESET), false, store.ReasonUnreachable},
		{"eof", fmt.Errorf("read: %w", io.ErrUnexpectedEOF), false, store.ReasonUnreachable},
		{"deadline", fmt.Errorf("apply: %w", context.DeadlineExceeded), false, store.ReasonTimeout},
		{"other", errors.New("something else"), false, ""},
	} {
		err := classify(tc.err)
		require.ErrorIs(t, err, tc.err, tc.name)
		require.Equal(t, tc.data, store.IsDataError(err), tc.name)
		reason, ok := store.UnavailableReason(err)
		require.Equal(t, tc.reason, reason, tc.name)
		require.Equal(t, tc.reason != "", ok, tc.name)
	}
}

// What the server refuses as data is marked so: text it cannot hold fails the whole batch
// (its lookups), a value the driver cannot encode fails its record alone.
func TestDataErrorsAreMarked(t *testing.T) {
	t.Parallel()
	db, _ := setup(t)
	ctx := context.Background()

	nul := rec("ev-nul", "a\x00@example.com") // not passed through store.Storable
	_, err := db.Apply(ctx, []pipeline.Record{rec("ev-1", "one@example.com"), nul})
	require.Error(t, err)
	require.True(t, store.IsDataError(err), "%v", err)

	huge := rec("ev-huge", "huge@example.com")
	huge.Meeting = &pipeline.Meeting{ID: "m-1", DurationMin: 1 << 40}
	res, err := db.Apply(ctx, []pipeline.Record{rec("ev-2", "two@example.com"), huge})
	require.NoError(t, err)
	require.NoError(t, res[0].Err)
	require.Error(t, res[1].Err)
	require.True(t, store.IsDataError(res[1].Err), "%v", res[1].Err)
}
