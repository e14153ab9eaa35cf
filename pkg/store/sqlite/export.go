package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/saleassist-pipeline/pipeline/pkg/store"
)

// Snapshot is one consistent read of the whole store, in id order and in pages, for copying it
// into another store (package storecopy, `ingestctl migrate-store`). Its rows are read with the
// store's own scanners, so a copy parses times, attributes and participants exactly as the reads
// do. It holds a read transaction open until Close: in WAL mode that never blocks a writer, but it
// keeps the WAL from being checkpointed past it, so close it promptly.
type Snapshot struct {
	tx *sql.Tx
	// watch is a connection of its own that reads PRAGMA data_version, which changes when another
	// connection commits: how Changed sees a worker still writing.
	watch   *sql.Conn
	version int64
}

// Snapshot begins a consistent read of the store. The caller must Close it.
func (db *DB) Snapshot(ctx context.Context) (_ *Snapshot, err error) {
	s := &Snapshot{}
	defer func() {
		if err != nil {
			s.Close()
			err = fmt.Errorf("snapshot of %s: %w", db.path, err)
		}
	}()
	if s.watch, err = db.read.Conn(ctx); err != nil {
		return nil, err
	}
	if err = s.watch.QueryRowContext(ctx, `PRAGMA data_version`).Scan(&s.version); err != nil {
		return nil, err
	}
	if s.tx, err = db.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true}); err != nil {
		return nil, err
	}
	// SQLite's snapshot starts at the transaction's first read: take it now, after the
	// data_version above, so a commit in between counts as a change.
	if _, err = s.Counts(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Counts returns how many leads, events and meetings the snapshot holds.
func (s *Snapshot) Counts(ctx context.Context) (store.Counts, error) {
	var c store.Counts
	err := s.tx.QueryRowContext(ctx, `SELECT
		(SELECT count(*) FROM leads), (SELECT count(*) FROM events), (SELECT count(*) FROM meetings)`).
		Scan(&c.Leads, &c.Events, &c.Meetings)
	if err != nil {
		return store.Counts{}, fmt.Errorf("counts: %w", err)
	}
	return c, nil
}

// Leads returns up to limit leads with an id above after, in id order.
func (s *Snapshot) Leads(ctx context.Context, after int64, limit int) ([]store.StoredLead, error) {
	rows, err := s.tx.QueryContext(ctx, `SELECT `+leadColumns+` FROM leads WHERE id > ? ORDER BY id LIMIT ?`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("leads after %d: %w", after, err)
	}
	defer rows.Close()
	var out []store.StoredLead
	for rows.Next() {
		var l store.StoredLead
		if err := scanLeadInto(rows, &l); err != nil {
			return nil, fmt.Errorf("leads after %d: %w", after, err)
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

// Events returns up to limit events with a row id above after, in row id order (the order they
// were stored), payloads byte for byte.
func (s *Snapshot) Events(ctx context.Context, after int64, limit int) ([]store.EventRow, error) {
	rows, err := s.tx.QueryContext(ctx, `SELECT id, stored_at, `+eventColumns+` FROM events WHERE id > ? ORDER BY id LIMIT ?`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("events after %d: %w", after, err)
	}
	defer rows.Close()
	var out []store.EventRow
	for rows.Next() {
		var (
			r      store.EventRow
			stored string
		)
		ev, err := scanEvent(func(dest ...any) error { return rows.Scan(append([]any{&r.ID, &stored}, dest...)...) })
		if err == nil {
			r.StoredAt, err = parseTime(stored)
		}
		if err != nil {
			return nil, fmt.Errorf("events after %d: %w", after, err)
		}
		r.StoredEvent = *ev
		out = append(out, r)
	}
	return out, rows.Err()
}

// MeetingKey is a meeting's primary key: its id is unique within its account.
type MeetingKey struct{ Account, ID string }

// Meetings returns up to limit meetings with a key above after (as strings compare, account
// first), in that order.
func (s *Snapshot) Meetings(ctx context.Context, after MeetingKey, limit int) ([]store.StoredMeeting, error) {
	rows, err := s.tx.QueryContext(ctx, `SELECT `+meetingColumns+` FROM meetings WHERE (account, id) > (?, ?)
		ORDER BY account, id LIMIT ?`, after.Account, after.ID, limit)
	if err != nil {
		return nil, fmt.Errorf("meetings after %q: %w", after, err)
	}
	defer rows.Close()
	var out []store.StoredMeeting
	for rows.Next() {
		m, err := scanMeeting(rows)
		if err != nil {
			return nil, fmt.Errorf("meetings after %q: %w", after, err)
		}
		out = append(out, *m)
	}
	return out, rows.Err()
}

// FieldKey is a kept field's primary key (event_fields), the order Fields pages in.
type FieldKey struct{ Account, EventType, Path string }

// FieldCount returns how many kept fields (rows of event_fields, the schema explorer's) the
// snapshot holds.
func (s *Snapshot) FieldCount(ctx context.Context) (int64, error) {
	var n int64
	if err := s.tx.QueryRowContext(ctx, `SELECT count(*) FROM event_fields`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count fields: %w", err)
	}
	return n, nil
}

// Fields returns up to limit kept fields with a key above after (as strings compare by bytes,
// account first), in that order.
func (s *Snapshot) Fields(ctx context.Context, after FieldKey, limit int) ([]store.Field, error) {
	rows, err := s.tx.QueryContext(ctx, `SELECT `+fieldColumns+` FROM event_fields
		WHERE (account, event_type, path) > (?, ?, ?) ORDER BY account, event_type, path LIMIT ?`,
		after.Account, after.EventType, after.Path, limit)
	if err != nil {
		return nil, fmt.Errorf("fields after %q: %w", after, err)
	}
	defer rows.Close()
	var out []store.Field
	for rows.Next() {
		f, err := scanField(rows)
		if err != nil {
			return nil, fmt.Errorf("fields after %q: %w", after, err)
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// Changed reports whether any other connection (another process's worker) committed to the file
// since the snapshot began: the snapshot is then no longer the whole store.
func (s *Snapshot) Changed(ctx context.Context) (bool, error) {
	var v int64
	if err := s.watch.QueryRowContext(ctx, `PRAGMA data_version`).Scan(&v); err != nil {
		return false, fmt.Errorf("read data_version: %w", err)
	}
	return v != s.version, nil
}

// Close ends the read transaction.
func (s *Snapshot) Close() error {
	if s.tx != nil {
		_ = s.tx.Rollback() // read-only: nothing to lose
	}
	if s.watch != nil {
		return s.watch.Close()
	}
	return nil
}
