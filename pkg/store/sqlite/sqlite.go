// Package sqlite is the default store.Store: one SQLite file that several worker processes may
// share. Writes go through BEGIN IMMEDIATE transactions on a single connection per process, and
// SQLite's busy_timeout queues writers of other processes, so concurrent writers wait instead of
// failing with SQLITE_BUSY or deadlocking on a read-to-write lock upgrade. Opening waits too:
// processes that open a new file at once race to switch it to WAL mode, and the losers retry
// (see connector).
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"time"

	"github.com/mattn/go-sqlite3"

	"github.com/saleassist-pipeline/pipeline/pkg/store"
)

// DefaultBusyTimeout is how long a write waits for another process's write transaction before
// it fails with a transient SQLITE_BUSY error. Batches commit in milliseconds, so 5s only runs
// out when something holds the lock abnormally long. It also bounds how long opening a
// connection retries while the file is busy.
const DefaultBusyTimeout = 5 * time.Second

// DB is a store.Store backed by one SQLite file. It is safe for concurrent use, and several
// processes may open the same file.
type DB struct {
	path string
	// write has exactly one connection and begins every transaction with BEGIN IMMEDIATE: the
	// write lock is taken up front (waiting up to busy_timeout), so a transaction never has to
	// upgrade a read snapshot to a write, which in WAL mode fails at once with SQLITE_BUSY.
	write *sql.DB
	// read serves the read methods; WAL lets them run while a write transaction is open.
	read *sql.DB
	// stmts are the write statements, prepared on the write connection; only used while holding
	// it (withWriteConn).
	stmts *stmts
	// ckptDB is the checkpointer's connection, ckpt the checkpointer (see checkpoint.go).
	ckptDB *sql.DB
	ckpt   *checkpointer
}

var _ store.Store = (*DB)(nil)

// config holds what tests need to vary; Open uses the defaults.
type config struct {
	busyTimeout time.Duration
	synchronous Synchronous
}

// Options are the settings an operator may choose; the zero value means the defaults.
type Options struct {
	// Synchronous is SQLite's synchronous setting; empty means DefaultSynchronous.
	Synchronous Synchronous
}

// Open opens (creating if needed) the SQLite database at path and migrates it to the current
// schema. A new file and its parent directory are created readable by the owner only (0600 and
// 0700), because leads are personal data; an existing file keeps its mode, so an operator's
// deliberate choice is not overridden.
func Open(ctx context.Context, path string) (*DB, error) {
	return OpenWith(ctx, path, Options{})
}

// OpenWith is Open with settings.
func OpenWith(ctx context.Context, path string, o Options) (*DB, error) {
	cfg := config{busyTimeout: DefaultBusyTimeout, synchronous: o.Synchronous}
	if cfg.synchronous == "" {
		cfg.synchronous = DefaultSynchronous
	}
	if _, err := ParseSynchronous(string(cfg.synchronous)); err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	return open(ctx, path, cfg)
}

func open(ctx context.Context, path string, cfg config) (_ *DB, err error) {
	defer func() {
		if err != nil {
			err = fmt.Errorf("open sqlite %s: %w", path, err)
		}
	}()
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	if err := createFile(abs); err != nil {
		return nil, err
	}
	db := &DB{path: path}
	// Like sql.Open("sqlite3", dsn), but an open that finds the file busy waits (see connector).
	db.write = sql.OpenDB(connector{dsn: dsn(abs, cfg, "_txlock=immediate"), busyTimeout: cfg.busyTimeout})
	db.write.SetMaxOpenConns(1)
	db.write.SetMaxIdleConns(1) // keep it, and the statements prepared on it, open
	db.read = sql.OpenDB(connector{dsn: dsn(abs, cfg, "_query_only=true"), busyTimeout: cfg.busyTimeout})
	db.ckptDB = sql.OpenDB(connector{dsn: dsn(abs, cfg, ""), busyTimeout: cfg.busyTimeout})
	db.ckptDB.SetMaxOpenConns(1)
	db.ckptDB.SetMaxIdleConns(1)
	n := max(4, runtime.GOMAXPROCS(0))
	db.read.SetMaxOpenConns(n)
	db.read.SetMaxIdleConns(n)
	if err := migrate(ctx, db.write); err != nil {
		db.Close()
		return nil, err
	}
	if _, err := db.write.ExecContext(ctx, fmt.Sprintf(`PRAGMA wal_autocheckpoint = %d`, walAutocheckpoint)); err != nil {
		db.Close()
		return nil, fmt.Errorf("set wal_autocheckpoint: %w", err)
	}
	// Prepare the write statements now, so a statement SQLite refuses fails Open.
	if err := db.withWriteConn(ctx, func(*sqlite3.SQLiteConn, *stmts) error { return nil }); err != nil {
		db.Close()
		return nil, err
	}
	db.ckpt = startCheckpointer(db.ckptDB)
	return db, nil
}

// createFile creates the database file with mode 0600 before SQLite sees it; SQLite would create
// it 0644 (less umask), and it gives its -wal and -shm files the mode of the main file.
func createFile(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	// The umask can only remove bits, but be explicit: the file must end up exactly 0600.
	return f.Chmod(0o600)
}

// dsn builds a go-sqlite3 URI for path. The pragmas are applied to every connection the pools
// open (see Synchronous for the synchronous setting).
func dsn(path string, cfg config, extra string) string {
	u := url.URL{Scheme: "file", Path: path}
	sync := cfg.synchronous
	if sync == "" {
		sync = DefaultSynchronous
	}
	q := "_journal_mode=WAL&_synchronous=" + string(sync) + "&_foreign_keys=on" +
		"&_busy_timeout=" + strconv.FormatInt(cfg.busyTimeout.Milliseconds(), 10)
	if extra != "" {
		q += "&" + extra
	}
	return u.String() + "?" + q
}

// Close releases the connections. It does not wait for other processes using the file.
func (db *DB) Close() error {
	var errs []error
	if db.ckpt != nil {
		db.ckpt.stop()
	}
	if db.ckptDB != nil {
		errs = append(errs, db.ckptDB.Close())
	}
	if db.write != nil {
		errs = append(errs, db.closeStmts())
	}
	if db.read != nil {
		errs = append(errs, db.read.Close())
	}
	if db.write != nil {
		errs = append(errs, db.write.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close sqlite %s: %w", db.path, err)
	}
	return nil
}

// IsTransient reports whether err is worth retrying later as it is: the database was busy or
// locked by another writer (longer than busy_timeout), or the caller's deadline ran out. The
// worker naks such messages with a delay instead of dead-lettering them.
func IsTransient(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	code := sqliteCode(err)
	return code == sqlite3.ErrBusy || code == sqlite3.ErrLocked
}
