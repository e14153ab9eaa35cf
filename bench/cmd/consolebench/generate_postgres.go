package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/saleassist-pipeline/pipeline/pkg/store/postgres"
)

// PostgreSQL mode: -db postgres://…/NAME names a database the benchmark creates on that server
// (it refuses one that exists, so it never fills nor drops someone's data) and drops at the end
// unless -keep.

// adminExec runs sql on the server of url, connected to its maintenance database "postgres":
// CREATE and DROP DATABASE cannot run inside the database they name.
func adminExec(ctx context.Context, url, sql string) error {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return err
	}
	cfg.Database = "postgres"
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	return err
}

// databaseName is the database url names.
func databaseName(url string) (string, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return "", err
	}
	if cfg.Database == "" || cfg.Database == "postgres" {
		return "", fmt.Errorf("-db %s: name a database for the benchmark to create, e.g. postgres://postgres@127.0.0.1:5432/consolebench", url)
	}
	return cfg.Database, nil
}

// createDatabase creates url's database, or says it exists.
func createDatabase(ctx context.Context, url string) error {
	name, err := databaseName(url)
	if err != nil {
		return err
	}
	err = adminExec(ctx, url, `CREATE DATABASE `+pgx.Identifier{name}.Sanitize()+` TEMPLATE template0`)
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "42P04" { // duplicate_database
		return fmt.Errorf("database %s exists: measure it with -reuse, or drop it first", name)
	}
	return err
}

// dropDatabase drops url's database (the one createDatabase made).
func dropDatabase(ctx context.Context, url string) error {
	name, err := databaseName(url)
	if err != nil {
		return err
	}
	return adminExec(ctx, url, `DROP DATABASE IF EXISTS `+pgx.Identifier{name}.Sanitize()+` WITH (FORCE)`)
}

// generatePostgres makes the schema with the store's own migrations, then loads the same leads
// and events as generateSQLite with COPY (pgx CopyFrom, rows made as they are sent). The
// migrations' secondary indexes are dropped for the load and rebuilt after from their own
// definitions (pg_indexes), which is several times faster than maintaining them row by row and
// leaves exactly the schema the store made. VACUUM ANALYZE at the end stands for autovacuum,
// which would have run long before a real store reached this size.
func generatePostgres(ctx context.Context, url string, leads, events int) error {
	st, err := postgres.Open(ctx, url)
	if err != nil {
		return err
	}
	if err := st.Close(); err != nil {
		return err
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	for _, s := range []string{`SET synchronous_commit = off`, `SET maintenance_work_mem = '256MB'`} {
		if _, err := conn.Exec(ctx, s); err != nil {
			return err
		}
	}
	// Secondary indexes only: those behind a constraint (primary keys, events.event_id) stay.
	var defs []string
	rows, err := conn.Query(ctx, `SELECT i.indexdef FROM pg_indexes i
		WHERE i.schemaname = current_schema() AND i.tablename IN ('leads', 'events')
		AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)`)
	if err == nil {
		defs, err = pgx.CollectRows(rows, pgx.RowTo[string])
	}
	if err != nil {
		return fmt.Errorf("read the indexes: %w", err)
	}
	if _, err := conn.Exec(ctx, `DO $$ DECLARE r record; BEGIN
		FOR r IN SELECT i.indexname FROM pg_indexes i WHERE i.schemaname = current_schema()
			AND i.tablename IN ('leads', 'events')
			AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)
		LOOP EXECUTE format('DROP INDEX %I', r.indexname); END LOOP; END $$`); err != nil {
		return fmt.Errorf("drop the indexes for the load: %w", err)
	}

	d := newDataset(leads)
	id := 0
	_, err = conn.CopyFrom(ctx, pgx.Identifier{"leads"},
		[]string{"id", "name", "email", "mobile_number", "city", "seen_at", "created_at", "updated_at"},
		pgx.CopyFromFunc(func() ([]any, error) {
			if id == leads {
				return nil, nil
			}
			id++
			l := d.lead(id)
			return []any{int64(l.id), l.name, l.email, l.phone, l.city, l.updated, l.updated, l.updated}, nil
		}))
	if err != nil {
		return fmt.Errorf("copy leads: %w", err)
	}
	// The ids were given, not drawn: move the sequence past them, as the store expects.
	if _, err := conn.Exec(ctx, `SELECT setval('leads_id_seq', $1)`, int64(max(leads, 1))); err != nil {
		return err
	}
	i := 0
	_, err = conn.CopyFrom(ctx, pgx.Identifier{"events"},
		[]string{"event_id", "event_type", "lead_id", "received_at", "stored_at", "payload"},
		pgx.CopyFromFunc(func() ([]any, error) {
			if i == events {
				return nil, nil
			}
			e := d.event(i)
			i++
			return []any{e.eventID, e.typ, int64(e.leadID), e.at, e.at, []byte(e.payload)}, nil
		}))
	if err != nil {
		return fmt.Errorf("copy events: %w", err)
	}
	start := time.Now()
	for _, def := range defs {
		if _, err := conn.Exec(ctx, def); err != nil {
			return fmt.Errorf("rebuild index: %s: %w", def, err)
		}
	}
	fmt.Printf("rebuilt %d indexes in %s\n", len(defs), time.Since(start).Round(time.Second))
	if _, err := conn.Exec(ctx, `VACUUM (ANALYZE) leads, events`); err != nil {
		return fmt.Errorf("vacuum: %w", err)
	}
	return nil
}

// databaseSize is the size of url's database on disk.
func databaseSize(ctx context.Context, url string) (int64, error) {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return 0, err
	}
	defer conn.Close(ctx)
	var n int64
	err = conn.QueryRow(ctx, `SELECT pg_database_size(current_database())`).Scan(&n)
	return n, err
}
