package sqlite

import (
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/mattn/go-sqlite3"

	"github.com/saleassist-pipeline/pipeline"
	"github.com/saleassist-pipeline/pipeline/pkg/store"
	"github.com/saleassist-pipeline/pipeline/pkg/store/leadrules"
)

// mergeLead finds the stored lead for the same person as l (leadrules.Match, asking this
// transaction's statements), merges l into it (or creates it), and returns its id.
func (w *writer) mergeLead(acct string, l *pipeline.Lead) (int64, error) {
	found, err := leadrules.Match(w, acct, l)
	if err != nil {
		return 0, fmt.Errorf("find lead: %w", err)
	}
	if found == nil {
		return w.insertLead(acct, l)
	}
	merged := leadrules.Merge(found.Lead, *l)
	args, err := leadArgs(&merged)
	if err != nil {
		return 0, err
	}
	args = append(args, formatTime(w.now), found.ID)
	if _, err := w.exec(w.s.updateLead, args...); err != nil {
		return 0, fmt.Errorf("update lead %d: %w", found.ID, err)
	}
	if merged.Name != found.Name || merged.Email != found.Email || merged.City != found.City {
		if err := w.reindexLeadText(found.ID, merged.Name, merged.Email, merged.City); err != nil {
			return 0, err
		}
	}
	return found.ID, nil
}

// ByEmail is leadrules.Finder's lookup by email, one index seek.
func (w *writer) ByEmail(acct, email string) (*store.StoredLead, error) {
	l, err := w.lead(w.s.leadByEmail, acct, email)
	if err != nil {
		return nil, fmt.Errorf("by email: %w", err)
	}
	return l, nil
}

// ByPhone is leadrules.Finder's lookup by phone: one seek on a (phone, updated_at, id) index
// (migration 0002), however many leads share the number.
func (w *writer) ByPhone(acct string, col leadrules.PhoneColumn, phone string, noEmail bool) (*store.StoredLead, error) {
	st := w.s.leadByPhone[col]
	if noEmail {
		st = w.s.leadByPhoneNoMail[col]
	}
	l, err := w.lead(st, acct, phone)
	if err != nil {
		return nil, fmt.Errorf("by phone: %w", err)
	}
	return l, nil
}

// lead runs a lead lookup (a statement selecting leadColumns) with the account and key; nil when
// none matches.
func (w *writer) lead(st *sqlite3.SQLiteStmt, acct, key string) (*store.StoredLead, error) {
	found, err := w.queryRow(st, w.row[:], acct, key)
	if err != nil || !found {
		return nil, err
	}
	return leadFromRow(w.row[:])
}

// leadFromRow reads one row of leadColumns as the driver returned it.
func leadFromRow(row []driver.Value) (*store.StoredLead, error) {
	var (
		sl                        store.StoredLead
		email                     sql.NullString
		attrs, seen, created, upd string
		err                       error
	)
	if sl.ID, err = integer(row[0]); err != nil {
		return nil, err
	}
	if sl.Account, err = text(row[1]); err != nil {
		return nil, err
	}
	i := 2
	for j, f := range leadrules.TextFields(&sl.Lead) {
		if j == leadrules.EmailField {
			email.Valid = row[i] != nil
		}
		if *f, err = text(row[i]); err != nil {
			return nil, err
		}
		i++
	}
	for _, f := range []*string{&attrs, &seen, &created, &upd} {
		if *f, err = text(row[i]); err != nil {
			return nil, err
		}
		i++
	}
	email.String = sl.Email
	return finishLead(&sl, email, attrs, seen, created, upd)
}

func (w *writer) insertLead(acct string, l *pipeline.Lead) (int64, error) {
	args, err := leadArgs(l)
	if err != nil {
		return 0, err
	}
	now := formatTime(w.now)
	args = append(append([]any{acct}, args...), now, now)
	res, err := w.exec(w.s.insertLead, args...)
	if err != nil {
		return 0, fmt.Errorf("insert lead: %w", err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return 0, fmt.Errorf("insert lead: %w", err)
	}
	if err := w.indexLeadText(id, l.Name, l.Email, l.City); err != nil {
		return 0, err
	}
	return id, nil
}

// leadArgs returns the values of l for the columns source_id … seen_at. An empty email is
// stored as NULL so the unique index ignores it.
func leadArgs(l *pipeline.Lead) ([]any, error) {
	fields := leadrules.TextFields(l)
	args := make([]any, 0, len(fields)+4)
	for _, f := range fields {
		args = append(args, *f)
	}
	if l.Email == "" {
		args[leadrules.EmailField] = nil
	}
	attrs, err := leadrules.EncodeAttributes(l.Attributes)
	if err != nil {
		return nil, fmt.Errorf("lead attributes: %w", err)
	}
	return append(args, attrs, formatTime(l.SeenAt)), nil
}

// scanLead reads one row of leadColumns; no row is store.ErrNotFound.
func scanLead(row *sql.Row) (*store.StoredLead, error) {
	var sl store.StoredLead
	if err := scanLeadInto(row, &sl); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, store.ErrNotFound
		}
		return nil, err
	}
	return &sl, nil
}

// rowScanner is a *sql.Row or a *sql.Rows.
type rowScanner interface{ Scan(dest ...any) error }

// scanLeadInto reads one row of leadColumns, then the extra columns, into sl.
func scanLeadInto(row rowScanner, sl *store.StoredLead, extra ...any) error {
	var (
		email                     sql.NullString
		attrs, seen, created, upd string
	)
	dst := []any{&sl.ID, &sl.Account}
	for i, f := range leadrules.TextFields(&sl.Lead) {
		if i == leadrules.EmailField {
			dst = append(dst, &email)
			continue
		}
		dst = append(dst, f)
	}
	dst = append(dst, &attrs, &seen, &created, &upd)
	if err := row.Scan(append(dst, extra...)...); err != nil {
		return err
	}
	_, err := finishLead(sl, email, attrs, seen, created, upd)
	return err
}

// finishLead completes a lead read from a row: the email, and the columns that need parsing.
func finishLead(sl *store.StoredLead, email sql.NullString, attrs, seen, created, upd string) (*store.StoredLead, error) {
	sl.Email = email.String
	if attrs != "" && attrs != "{}" {
		if err := json.Unmarshal([]byte(attrs), &sl.Attributes); err != nil {
			return nil, fmt.Errorf("lead %d attributes: %w", sl.ID, err)
		}
	}
	var err error
	if sl.SeenAt, err = parseTime(seen); err != nil {
		return nil, err
	}
	if sl.CreatedAt, err = parseTime(created); err != nil {
		return nil, err
	}
	if sl.UpdatedAt, err = parseTime(upd); err != nil {
		return nil, err
	}
	return sl, nil
}
