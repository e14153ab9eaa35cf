package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/saleassist-pipeline/pipeline/pkg/store"
)

var _ store.FieldKeeper = (*DB)(nil)

// upsertField adds one field to the kept one (store.FieldKeeper). Times are text of a fixed
// width (timeFormat, UTC), so min and max compare them as times.
const upsertField = `INSERT INTO event_fields
	(account, event_type, path, types, count, first_seen, last_seen, example, masked)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT (account, event_type, path) DO UPDATE SET
		types = types | excluded.types,
		count = count + excluded.count,
		first_seen = min(first_seen, excluded.first_seen),
		last_seen = max(last_seen, excluded.last_seen),
		example = CASE WHEN excluded.example <> '' THEN excluded.example ELSE example END,
		masked = CASE WHEN excluded.example <> '' THEN excluded.masked ELSE masked END`

// KeepFields adds fields to the kept schema in one transaction on the write connection; see
// store.FieldKeeper. It is the worker's write after a batch's commit: a transaction of its own,
// so a failure here never touches a stored event.
func (db *DB) KeepFields(ctx context.Context, fields []store.Field) error {
	if len(fields) == 0 {
		return nil
	}
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("keep fields: %w", err)
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, upsertField)
	if err != nil {
		return fmt.Errorf("keep fields: %w", err)
	}
	defer stmt.Close()
	for _, f := range fields {
		if _, err := stmt.ExecContext(ctx, store.Account(f.Account), f.EventType, f.Path, int64(f.Types), f.Count,
			formatTime(f.FirstSeen), formatTime(f.LastSeen), f.Example, f.Masked); err != nil {
			return fmt.Errorf("keep field %s of %s: %w", f.Path, f.EventType, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("keep fields: commit: %w", err)
	}
	return nil
}

// fieldColumns are the columns scanField reads, in its order.
const fieldColumns = `account, event_type, path, types, count, first_seen, last_seen, example, masked`

// scanField reads one event_fields row of fieldColumns.
func scanField(rows *sql.Rows) (store.Field, error) {
	var (
		f           store.Field
		first, last string
		types       int64
		err         error
	)
	if err = rows.Scan(&f.Account, &f.EventType, &f.Path, &types, &f.Count, &first, &last, &f.Example, &f.Masked); err != nil {
		return f, err
	}
	f.Types = store.FieldTypes(types)
	if f.FirstSeen, err = parseTime(first); err != nil {
		return f, fmt.Errorf("first_seen: %w", err)
	}
	if f.LastSeen, err = parseTime(last); err != nil {
		return f, fmt.Errorf("last_seen: %w", err)
	}
	return f, nil
}

// Fields returns the kept fields of an event type; see store.FieldKeeper. The primary key holds
// them in path order.
func (db *DB) Fields(ctx context.Context, acct, eventType string) ([]store.Field, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT `+fieldColumns+`
		FROM event_fields WHERE account = ? AND event_type = ? ORDER BY path`, store.Account(acct), eventType)
	if err != nil {
		return nil, fmt.Errorf("fields of %s: %w", eventType, err)
	}
	defer rows.Close()
	out := []store.Field{}
	for rows.Next() {
		f, err := scanField(rows)
		if err != nil {
			return nil, fmt.Errorf("fields of %s: %w", eventType, err)
		}
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("fields of %s: %w", eventType, err)
	}
	return out, nil
}
