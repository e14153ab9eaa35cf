package sqlite

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"time"

	"github.com/mattn/go-sqlite3"
)

// connector opens the connections of one pool. It is what sql.Open("sqlite3", dsn) would use,
// except that it retries an open that fails with SQLITE_BUSY, for up to busyTimeout.
//
// go-sqlite3 runs the DSN's pragmas as each connection opens, and PRAGMA journal_mode=WAL on a
// file that is not yet in WAL mode (a new, empty one) can fail at once with SQLITE_BUSY, whatever
// busy_timeout says: SQLite switches the mode by reading the header in a read transaction and
// then upgrading it to a write transaction to rewrite the header, and it never calls the busy
// handler for a read-to-write upgrade (waiting could deadlock two upgraders). So when several
// processes open a new file at once, all but the first to take the write lock fail to connect.
// The pragma cannot be made to wait (it refuses to run inside BEGIN IMMEDIATE), so we retry the
// whole open, which is idempotent, backing off the way SQLite's own busy handler does. Once the
// file is in WAL mode the pragma only reads the header, and waits like any other read.
type connector struct {
	dsn         string
	busyTimeout time.Duration
}

// sqliteDriver is the driver go-sqlite3 registers as "sqlite3".
var sqliteDriver = &sqlite3.SQLiteDriver{}

var _ driver.Connector = connector{}

func (c connector) Driver() driver.Driver { return sqliteDriver }

// openDelays are the pauses between attempts: those of SQLite's default busy handler
// (sqliteDefaultBusyCallback), repeating the last one.
var openDelays = []time.Duration{1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100}

func (c connector) Connect(ctx context.Context) (driver.Conn, error) {
	var waited time.Duration
	for attempt := 0; ; attempt++ {
		conn, err := sqliteDriver.Open(c.dsn)
		if err == nil || !isBusy(err) {
			return conn, err
		}
		delay := openDelays[min(attempt, len(openDelays)-1)] * time.Millisecond
		delay = min(delay, c.busyTimeout-waited)
		if delay <= 0 {
			return nil, err
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("%w (while waiting after: %w)", ctx.Err(), err)
		case <-t.C:
		}
		waited += delay
	}
}

// sqliteCode is the primary SQLite result code in err's chain, or 0 if there is none.
func sqliteCode(err error) sqlite3.ErrNo {
	var code sqlite3.ErrNo
	var se sqlite3.Error
	var pse *sqlite3.Error
	switch {
	case errors.As(err, &se):
		code = se.Code
	case errors.As(err, &pse) && pse != nil:
		code = pse.Code
	case errors.As(err, &code):
	}
	return code
}

func isBusy(err error) bool { return sqliteCode(err) == sqlite3.ErrBusy }
