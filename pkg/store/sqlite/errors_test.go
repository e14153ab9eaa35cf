package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/mattn/go-sqlite3"
	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline"
	"github.com/saleassist-pipeline/pipeline/pkg/store"
	"github.com/saleassist-pipeline/pipeline/pkg/store/storetest"
)

// Every class of SQLite error is told by its code: the record's data, the store unavailable
// (and why), or neither (retried).
func TestClassify(t *testing.T) {
	t.Parallel()
	sq := func(code sqlite3.ErrNo, ext sqlite3.ErrNoExtended) error {
		return fmt.Errorf("apply: %w", sqlite3.Error{Code: code, ExtendedCode: ext})
	}
	for _, tc := range []struct {
		name   string
		err    error
		data   bool
		reason string
	}{
		{"busy", sq(sqlite3.ErrBusy, 0), false, store.ReasonBusy},
		{"locked", sq(sqlite3.ErrLocked, 0), false, store.ReasonBusy},
		{"full", sq(sqlite3.ErrFull, 0), false, store.ReasonDiskFull},
		{"readonly", sq(sqlite3.ErrReadonly, 0), false, store.ReasonReadOnly},
		{"ioerr", sq(sqlite3.ErrIoErr, sqlite3.ErrIoErrWrite), false, store.ReasonServerError},
		{"deadline", fmt.Errorf("x: %w", context.DeadlineExceeded), false, store.ReasonTimeout},
		{"toobig", sq(sqlite3.ErrTooBig, 0), true, ""},
		{"mismatch", sq(sqlite3.ErrMismatch, 0), true, ""},
		{"check", sq(sqlite3.ErrConstraint, sqlite3.ErrConstraintCheck), true, ""},
		{"not null", sq(sqlite3.ErrConstraint, sqlite3.ErrConstraintNotNull), true, ""},
		{"unique", sq(sqlite3.ErrConstraint, sqlite3.ErrConstraintUnique), false, ""},
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

// Apply whose deadline ends while another writer holds the lock fails as the store unavailable
// for its deadline (timeout), whatever error SQLite surfaced it as (busy here: the statement
// waits out busy_timeout); once the lock is gone Ping passes.
func TestDeadlineWhileLockedIsUnavailable(t *testing.T) {
	t.Parallel()
	db, path := setup(t)
	raw, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=1000")
	require.NoError(t, err)
	t.Cleanup(func() { raw.Close() })
	conn, err := raw.Conn(t.Context())
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	_, err = conn.ExecContext(t.Context(), `BEGIN IMMEDIATE`)
	require.NoError(t, err)

	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	_, err = db.Apply(ctx, []pipeline.Record{storetest.SimpleRecord("ev-1", "a@example.com")})
	require.Error(t, err)
	reason, ok := store.UnavailableReason(err)
	require.True(t, ok, "%v", err)
	require.Equal(t, store.ReasonTimeout, reason)

	_, err = conn.ExecContext(t.Context(), `ROLLBACK`)
	require.NoError(t, err)
	require.NoError(t, db.Ping(t.Context()))
}
