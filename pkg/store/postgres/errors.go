package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/saleassist-pipeline/pipeline/pkg/store"
)

// classify marks err by what it says (store.DataError, store.Unavailable), from its SQLSTATE
// or the kind of failure, never its text; any other error is returned as it is (retried).
//
//   - class 22 (data exception: a byte sequence, a value out of range), 23502 (NOT NULL) and
//     23514 (CHECK): the record's data; a unique or foreign-key violation is not, as a
//     concurrent writer may cause it and a retry may pass;
//   - 08 (connection exception), 57P01/57P02 (administrator or crash shutdown), 57P03 (cannot
//     connect now: starting up, recovering), the rest of 57P (the connection ended), 25006 (read-only transaction), 53300 (too many
//     connections), 53100 (disk full), the rest of 53 and 58 (out of memory, I/O error), a
//     connection that failed or broke, a deadline: the store is unavailable.
func classify(err error) error {
	if err == nil || store.IsDataError(err) {
		return err
	}
	if _, ok := store.UnavailableReason(err); ok {
		return err
	}
	if reason, ok := unavailable(err); ok {
		return store.Unavailable(reason, err)
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) && (strings.HasPrefix(pe.Code, "22") || pe.Code == "23502" || pe.Code == "23514") {
		return store.DataError(err)
	}
	return err
}

// unavailable returns why err says the server cannot be used now, if it does.
func unavailable(err error) (string, bool) {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch c := pe.Code; {
		case c == "57P01", c == "57P02":
			return store.ReasonShutdown, true
		case c == "57P03":
			return store.ReasonStarting, true
		case c == "25006":
			return store.ReasonReadOnly, true
		case c == "53300":
			return store.ReasonTooManyConnections, true
		case c == "53100":
			return store.ReasonDiskFull, true
		case strings.HasPrefix(c, "08"), strings.HasPrefix(c, "57P"): // 57P04/05: dropped, idle timeout
			return store.ReasonUnreachable, true
		case strings.HasPrefix(c, "53"), strings.HasPrefix(c, "58"):
			return store.ReasonServerError, true
		}
		return "", false
	}
	if errors.Is(err, context.DeadlineExceeded) || pgconn.Timeout(err) {
		return store.ReasonTimeout, true
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		errors.As(err, new(net.Error)) || pgconn.SafeToRetry(err) {
		return store.ReasonUnreachable, true
	}
	return "", false
}

// Ping reports whether a batch could be written now: a connection from the pool, and a server
// that is neither in recovery (a standby) nor read-only. Its error is classified like Apply's
// (store.Unavailable and its reason).
func (db *DB) Ping(ctx context.Context) error {
	var recovery bool
	var readOnly string
	err := db.pool.QueryRow(ctx, `SELECT pg_is_in_recovery(), current_setting('transaction_read_only')`).Scan(&recovery, &readOnly)
	switch {
	case err != nil:
		return classify(fmt.Errorf("ping postgres: %w", err))
	case recovery || readOnly == "on":
		return store.Unavailable(store.ReasonReadOnly, errors.New("ping postgres: the server accepts no writes (in recovery or read-only)"))
	}
	return nil
}
