package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/saleassist-pipeline/pipeline/pkg/store"
)

var _ store.FieldKeeper = (*DB)(nil)

// KeepFields adds fields to the kept schema; see store.FieldKeeper. One statement over arrays
// (one round trip however many fields). Workers on several hosts update the same hot rows
// (payload.id of every event type): the rows are locked in the order of the input, which the
// caller sorts by key, so two such statements wait for each other and never deadlock. It commits
// with synchronous_commit off: these are statistics, a crash may lose the last fraction of a
// second of them, and a batch's commit (the events) is never made to wait for their WAL flush.
func (db *DB) KeepFields(ctx context.Context, fields []store.Field) error {
	if len(fields) == 0 {
		return nil
	}
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SET LOCAL synchronous_commit = off`); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO event_fields AS f
			(account, event_type, path, types, count, first_seen, last_seen, example, masked)
			SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::smallint[], $5::bigint[],
				$6::timestamptz[], $7::timestamptz[], $8::text[], $9::boolean[])
			ON CONFLICT (account, event_type, path) DO UPDATE SET
				types = f.types | excluded.types,
				count = f.count + excluded.count,
				first_seen = least(f.first_seen, excluded.first_seen),
				last_seen = greatest(f.last_seen, excluded.last_seen),
				example = CASE WHEN excluded.example <> '' THEN excluded.example ELSE f.example END,
				masked = CASE WHEN excluded.example <> '' THEN excluded.masked ELSE f.masked END`,
			fieldArrays(fields)...)
		return err
	})
	if err != nil {
		return fmt.Errorf("keep %d fields: %w", len(fields), err)
	}
	return nil
}

// fieldArrays are fields as the parallel arrays KeepFields and ImportFields unnest: account,
// event type, path, types, count, first seen, last seen, example, masked.
func fieldArrays(fields []store.Field) []any {
	n := len(fields)
	var (
		accts, types, paths, examples = make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		bits                          = make([]int16, n)
		counts                        = make([]int64, n)
		firsts, lasts                 = make([]time.Time, n), make([]time.Time, n)
		masked                        = make([]bool, n)
	)
	for i, f := range fields {
		accts[i], types[i], paths[i], examples[i] = store.Account(f.Account), f.EventType, f.Path, f.Example
		bits[i], counts[i], firsts[i], lasts[i], masked[i] = int16(f.Types), f.Count, f.FirstSeen, f.LastSeen, f.Masked
	}
	return []any{accts, types, paths, bits, counts, firsts, lasts, examples, masked}
}

// Fields returns the kept fields of an event type; see store.FieldKeeper. COLLATE "C" orders
// paths by bytes, as SQLite does.
func (db *DB) Fields(ctx context.Context, acct, eventType string) ([]store.Field, error) {
	rows, err := db.pool.Query(ctx, `SELECT path, types, count, first_seen, last_seen, example, masked
		FROM event_fields WHERE account = $1 AND event_type = $2 ORDER BY path COLLATE "C"`, store.Account(acct), eventType)
	if err != nil {
		return nil, fmt.Errorf("fields of %s: %w", eventType, err)
	}
	out := []store.Field{}
	var (
		f     store.Field
		types int16
	)
	if _, err := pgx.ForEachRow(rows, []any{&f.Path, &types, &f.Count, &f.FirstSeen, &f.LastSeen, &f.Example, &f.Masked}, func() error {
		f.Account, f.EventType, f.Types = store.Account(acct), eventType, store.FieldTypes(types)
		f.FirstSeen, f.LastSeen = f.FirstSeen.UTC(), f.LastSeen.UTC()
		out = append(out, f)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("fields of %s: %w", eventType, err)
	}
	return out, nil
}
