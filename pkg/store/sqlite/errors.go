package sqlite

import (
	"context"
	"errors"
	"fmt"

	"github.com/mattn/go-sqlite3"

	"github.com/saleassist-pipeline/pipeline/pkg/store"
)

// classify marks err by what it says (store.DataError, store.Unavailable), from SQLite's result
// codes, never its text; any other error is returned as it is (retried):
//
//   - SQLITE_BUSY and SQLITE_LOCKED (another writer held the lock beyond busy_timeout), SQLITE_FULL,
//     SQLITE_READONLY, SQLITE_IOERR, SQLITE_CANTOPEN and a deadline: the store is unavailable;
//   - SQLITE_TOOBIG, SQLITE_MISMATCH and a CHECK or NOT NULL constraint: the record's data. A
//     unique constraint is not: the dedupe and lead rules handle the keys, and one failing would
//     be a race a retry may pass.
func classify(err error) error {
	if err == nil || store.IsDataError(err) {
		return err
	}
	if _, ok := store.UnavailableReason(err); ok {
		return err
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return store.Unavailable(store.ReasonTimeout, err)
	}
	switch sqliteCode(err) {
	case sqlite3.ErrBusy, sqlite3.ErrLocked:
		return store.Unavailable(store.ReasonBusy, err)
	case sqlite3.ErrFull:
		return store.Unavailable(store.ReasonDiskFull, err)
	case sqlite3.ErrReadonly:
		return store.Unavailable(store.ReasonReadOnly, err)
	case sqlite3.ErrIoErr, sqlite3.ErrCantOpen:
		return store.Unavailable(store.ReasonServerError, err)
	case sqlite3.ErrTooBig, sqlite3.ErrMismatch:
		return store.DataError(err)
	case sqlite3.ErrConstraint:
		if x := extendedCode(err); x == sqlite3.ErrConstraintCheck || x == sqlite3.ErrConstraintNotNull {
			return store.DataError(err)
		}
	}
	return err
}

// extendedCode is err's SQLite extended result code, or 0.
func extendedCode(err error) sqlite3.ErrNoExtended {
	var se sqlite3.Error
	var pse *sqlite3.Error
	switch {
	case errors.As(err, &se):
		return se.ExtendedCode
	case errors.As(err, &pse) && pse != nil:
		return pse.ExtendedCode
	}
	return 0
}

// Ping reports whether a batch could be written now: it takes the write lock (BEGIN IMMEDIATE,
// waiting up to busy_timeout like Apply) and gives it back at once. Its error is classified
// like Apply's (store.Unavailable: busy, disk full, read-only).
func (db *DB) Ping(ctx context.Context) error {
	err := db.withWriteConn(ctx, func(c *sqlite3.SQLiteConn, _ *stmts) error {
		if _, err := c.ExecContext(ctx, `BEGIN IMMEDIATE`, nil); err != nil {
			return err
		}
		_, err := c.ExecContext(context.Background(), `ROLLBACK`, nil)
		return err
	})
	if err != nil {
		return classify(fmt.Errorf("ping sqlite %s: %w", db.path, err))
	}
	return nil
}
