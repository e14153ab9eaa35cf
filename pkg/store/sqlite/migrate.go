package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"time"

	"github.com/saleassist-pipeline/pipeline/pkg/store/migration"
)

// migrations are the schema changes, applied in file-name order. A file is named
// NNNN_what.sql; NNNN is its version, recorded in schema_migrations once applied. Never edit a
// released file: add the next one.
//
//go:embed migrations/*.sql
var migrations embed.FS

// goSteps are the parts of migrations that SQL cannot do, run in the same transaction right
// after the version's file.
var goSteps = map[int]func(context.Context, *sql.Tx) error{
	7: backfillLeadText, // 0007_lead_text: the trigrams of the leads already stored
}

// migrate brings the schema up to date in one BEGIN IMMEDIATE transaction (write is opened with
// _txlock=immediate). Holding the write lock while reading schema_migrations makes it safe when
// several processes open the file at once: the second waits, then finds nothing left to do.
func migrate(ctx context.Context, write *sql.DB) error {
	ms, err := migration.Load(migrations)
	if err != nil {
		return err
	}
	tx, err := write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT NOT NULL,
		applied_at TEXT NOT NULL
	)`); err != nil {
		return fmt.Errorf("migrate: create schema_migrations: %w", err)
	}
	var current int
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return fmt.Errorf("migrate: read version: %w", err)
	}
	for _, m := range ms {
		if m.Version <= current {
			continue
		}
		if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
			return fmt.Errorf("migrate %s: %w", m.Name, err)
		}
		if step := goSteps[m.Version]; step != nil {
			if err := step(ctx, tx); err != nil {
				return fmt.Errorf("migrate %s: %w", m.Name, err)
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
			m.Version, m.Name, formatTime(time.Now())); err != nil {
			return fmt.Errorf("migrate %s: record: %w", m.Name, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate: commit: %w", err)
	}
	return nil
}
