// Package postgres is the store.Store for workers on several hosts: one PostgreSQL database that
// every worker process shares, through pgx's connection pool (no ORM, no database/sql).
//
// What SQLite never had to solve is concurrent writers: two workers may each find "no lead with
// this email" and both create one. Apply prevents it with advisory locks on the records'
// identity keys, taken in one sorted order (see locks.go for the mechanism and why it is correct
// and cannot deadlock), and it sends a batch in two round trips whatever its size
// (apply.go). The lead rules themselves (match order, merge, attributes) are package leadrules,
// shared with store/sqlite; this package holds only the SQL.
//
// Open migrates the schema under a session advisory lock (migrate.go), so any number of workers
// may start at once.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/saleassist-pipeline/pipeline/internal/redact"
	"github.com/saleassist-pipeline/pipeline/pkg/store"
)

// DefaultMaxConns is the pool size when the URL has no pool_max_conns. A worker writes one batch
// at a time, so it needs one connection for Apply and a few for reads; pgxpool's own default
// grows with the host's CPUs, and ten workers on large hosts would then exhaust the server's
// max_connections (100 by default) for nothing.
const DefaultMaxConns = 4

// DefaultConnectTimeout bounds each connection attempt when the URL sets no connect_timeout: a
// server that does not answer (a firewall dropping packets) must stop a worker at start with an
// error, not hold it there for as long as the kernel retries.
const DefaultConnectTimeout = 10 * time.Second

// DB is a store.Store backed by a PostgreSQL database. It is safe for concurrent use, and any
// number of processes may share the database.
type DB struct {
	pool *pgxpool.Pool
	// url is the URL with its password masked, for errors.
	url string
}

var _ store.Store = (*DB)(nil)

// IsURL reports whether url names a PostgreSQL database (postgres:// or postgresql://) rather
// than a SQLite file.
func IsURL(url string) bool {
	u := strings.ToLower(url)
	return strings.HasPrefix(u, "postgres://") || strings.HasPrefix(u, "postgresql://")
}

// Open connects to the database url names (postgres://user:password@host:5432/dbname?…, with
// pgx's parameters, pool_max_conns among them), migrates it to the current schema and checks
// that the user may read and write every table. Any failure is an error naming the problem, with
// the password masked: a wrong URL, an unreachable server, a refused login or missing
// privileges stop the program at start rather than at its first batch.
func Open(ctx context.Context, url string) (_ *DB, err error) {
	safe := redact.URL(url)
	defer func() {
		if err != nil {
			err = fmt.Errorf("open postgres %s: %w", safe, err)
		}
	}()
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx's message quotes the URL, masking the password only as far as it can parse it;
		// name the problem without it.
		return nil, errors.New("not a valid PostgreSQL URL: want postgres://user:password@host:5432/dbname?sslmode=disable (special characters in the password percent-encoded)")
	}
	if !strings.Contains(url, "pool_max_conns=") {
		cfg.MaxConns = DefaultMaxConns
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = DefaultConnectTimeout
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	db := &DB{pool: pool, url: safe}
	if err := migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, explain(err)
	}
	if err := db.checkPrivileges(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return db, nil
}

// checkPrivileges fails when the user lacks a privilege Apply or the reads need: otherwise a
// worker with a read-only user would start, and fail every batch.
func (db *DB) checkPrivileges(ctx context.Context) error {
	var missing []string
	rows, err := db.pool.Query(ctx, `SELECT t || ': ' || p FROM
		unnest(ARRAY['leads', 'events', 'meetings']) AS t,
		unnest(ARRAY['SELECT', 'INSERT', 'UPDATE']) AS p
		WHERE NOT has_table_privilege(t, p)
		UNION ALL
		SELECT 'leads_id_seq: USAGE' WHERE NOT has_sequence_privilege('leads_id_seq', 'USAGE')`)
	if err != nil {
		return fmt.Errorf("check privileges: %w", err)
	}
	for rows.Next() {
		var m string
		if err := rows.Scan(&m); err != nil {
			return fmt.Errorf("check privileges: %w", err)
		}
		missing = append(missing, m)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("check privileges: %w", err)
	}
	if len(missing) > 0 {
		return fmt.Errorf("the database user lacks privileges the store needs (%s): GRANT SELECT, INSERT, UPDATE ON leads, events, meetings and USAGE ON SEQUENCE leads_id_seq", strings.Join(missing, ", "))
	}
	return nil
}

// explain adds what to do to the errors an operator meets at start.
func explain(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "42501" { // insufficient_privilege
		return fmt.Errorf("%w (applying migrations needs CREATE on the schema; a migrated database needs SELECT on schema_migrations and SELECT, INSERT, UPDATE on leads, events and meetings)", err)
	}
	return err
}

// Close releases the connections; it waits for those in use to be returned.
func (db *DB) Close() error {
	db.pool.Close()
	return nil
}

// IsTransient reports whether err is worth retrying later as it is: the server could not be
// reached or went away, it was shutting down or out of connections, a serialization failure or
// deadlock was reported, or the caller's deadline ran out. The worker naks such messages with a
// delay instead of dead-lettering them, so a database outage shorter than the retry horizon
// loses nothing.
func IsTransient(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == "40001", pe.Code == "40P01": // serialization_failure, deadlock_detected
			return true
		case strings.HasPrefix(pe.Code, "08"), // connection exception
			strings.HasPrefix(pe.Code, "53"),  // insufficient resources (too many connections)
			strings.HasPrefix(pe.Code, "57P"): // operator intervention: shutdown, crash recovery
			return true
		}
		return false
	}
	// No server error: the connection failed or broke.
	var ce *pgconn.ConnectError
	return errors.As(err, &ce) || pgconn.SafeToRetry(err) || pgconn.Timeout(err) || errors.As(err, new(net.Error))
}
