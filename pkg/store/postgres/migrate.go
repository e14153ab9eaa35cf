package postgres

import (
	"context"
	"embed"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/saleassist-pipeline/pipeline/pkg/store/migration"
)

// migrations are the schema changes, applied in file-name order. A file is named NNNN_what.sql;
// NNNN is its version, recorded in schema_migrations once applied. Never edit a released file:
// add the next one, and only add (columns, tables, indexes), so an older worker keeps working
// against a newer schema during a rolling upgrade.
//
//go:embed migrations/*.sql
var migrations embed.FS

// migrateLockKey is the pg_advisory_lock key migrations run under ("saleassist" in ASCII, as a
// number): any fixed bigint would do, as long as nothing else on the server uses it.
const migrateLockKey int64 = 0x73616c6561737369

// migrate brings the schema up to date. Workers starting together all call it: each takes the
// session-level pg_advisory_lock(migrateLockKey) first, so one applies the migrations while the
// others wait, then find nothing left to do. Without the lock two of them would both see no
// schema_migrations and the second CREATE TABLE would fail (CREATE TABLE IF NOT EXISTS is not
// safe against a concurrent create either: it can fail on pg_type's unique index).
// Everything is applied in one transaction, so a failing migration leaves the schema as it was.
func migrate(ctx context.Context, pool *pgxpool.Pool) error {
	ms, err := migration.Load(migrations)
	if err != nil {
		return err
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, migrateLockKey); err != nil {
		return fmt.Errorf("migrate: take the migration lock: %w", err)
	}
	defer func() {
		// The lock is the session's: without an unlock it would stay held on a pooled connection.
		// If the unlock fails the connection is broken, and the server frees the lock with it.
		if _, err := conn.Exec(context.Background(), `SELECT pg_advisory_unlock($1)`, migrateLockKey); err != nil {
			conn.Conn().Close(context.Background())
		}
	}()
	return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		// Created only when missing: CREATE TABLE IF NOT EXISTS needs the CREATE privilege even
		// when the table exists, and a user with only SELECT, INSERT and UPDATE may run an
		// already migrated database.
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT to_regclass('schema_migrations') IS NOT NULL`).Scan(&exists); err != nil {
			return fmt.Errorf("migrate: look for schema_migrations: %w", err)
		}
		if !exists {
			if _, err := tx.Exec(ctx, `CREATE TABLE schema_migrations (
				version    integer PRIMARY KEY,
				name       text NOT NULL,
				applied_at timestamptz NOT NULL DEFAULT now()
			)`); err != nil {
				return fmt.Errorf("migrate: create schema_migrations: %w", err)
			}
		}
		var current int
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
			return fmt.Errorf("migrate: read version: %w", err)
		}
		for _, m := range ms {
			if m.Version <= current {
				continue
			}
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return fmt.Errorf("migrate %s: %w", m.Name, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, m.Version, m.Name); err != nil {
				return fmt.Errorf("migrate %s: record: %w", m.Name, err)
			}
		}
		return nil
	})
}
