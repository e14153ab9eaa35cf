package sqlite

import (
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/mattn/go-sqlite3"

	"github.com/saleassist-pipeline/pipeline/pkg/lead"
	"github.com/saleassist-pipeline/pipeline/pkg/store"
)

// mergeLead finds the stored lead for the same person as l, merges l into it (or creates it),
// and returns its id. Matching, in order:
//   - the lead with l's email;
//   - else a lead whose mobile_number or alt_phone is l.PhoneKey(), most recently updated
//     first, provided the two cannot be different people: l has no email, or the lead has none
//     (it then gains l's email). A lead with a different email is someone sharing the phone;
//   - else a new lead. A lead with neither email nor phone never matches anything.
func (w *writer) mergeLead(l *lead.Lead) (int64, error) {
	var (
		found *store.StoredLead
		err   error
	)
	if l.Email != "" {
		found, err = w.lead(w.s.leadByEmail, l.Email)
		if err != nil {
			return 0, fmt.Errorf("find lead by email: %w", err)
		}
	}
	if found == nil && l.PhoneKey() != "" {
		q := w.s.leadByPhone
		if l.Email != "" {
			q = w.s.leadByPhoneNoMail
		}
		// The most recently updated of the newest lead with the number as mobile_number and the
		// newest with it as alt_phone.
		for _, st := range q {
			c, err := w.lead(st, l.PhoneKey())
			if err != nil {
				return 0, fmt.Errorf("find lead by phone: %w", err)
			}
			if c != nil && (found == nil || newerLead(c, found)) {
				found = c
			}
		}
	}
	if found == nil {
		return w.insertLead(l)
	}
	merged := merge(found.Lead, *l)
	args, err := leadArgs(&merged)
	if err != nil {
		return 0, err
	}
	args = append(args, formatTime(w.now), found.ID)
	if _, err := w.exec(w.s.updateLead, args...); err != nil {
		return 0, fmt.Errorf("update lead %d: %w", found.ID, err)
	}
	return found.ID, nil
}

// lead runs a lead lookup (a statement selecting leadColumns) with key; nil when none matches.
func (w *writer) lead(st *sqlite3.SQLiteStmt, key string) (*store.StoredLead, error) {
	found, err := w.queryRow(st, w.row[:], key)
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
	i := 1
	for j, f := range textFields(&sl.Lead) {
		if j == 2 {
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

// newerLead reports whether a sorts after b by (updated_at, id), the order the phone lookups use.
func newerLead(a, b *store.StoredLead) bool {
	if !a.UpdatedAt.Equal(b.UpdatedAt) {
		return a.UpdatedAt.After(b.UpdatedAt)
	}
	return a.ID > b.ID
}

func (w *writer) insertLead(l *lead.Lead) (int64, error) {
	args, err := leadArgs(l)
	if err != nil {
		return 0, err
	}
	now := formatTime(w.now)
	args = append(args, now, now)
	res, err := w.exec(w.s.insertLead, args...)
	if err != nil {
		return 0, fmt.Errorf("insert lead: %w", err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return 0, fmt.Errorf("insert lead: %w", err)
	}
	return id, nil
}

// merge returns stored updated with in. Information SaleAssist changed at the same time or later
// than what is stored wins wherever it says something; older information (a delivery that
// arrived out of order) only fills gaps. Attributes follow the same rule key by key.
func merge(stored, in lead.Lead) lead.Lead {
	newer := !in.SeenAt.Before(stored.SeenAt)
	out := stored
	dst, src := textFields(&out), textFields(&in)
	for i := range dst {
		if *src[i] != "" && (newer || *dst[i] == "") {
			*dst[i] = *src[i]
		}
	}
	if len(in.Attributes) > 0 {
		attrs := make(map[string]json.RawMessage, len(stored.Attributes)+len(in.Attributes))
		for k, v := range stored.Attributes {
			attrs[k] = v
		}
		for k, v := range in.Attributes {
			if _, ok := attrs[k]; newer || !ok {
				attrs[k] = v
			}
		}
		out.Attributes = attrs
	}
	if newer {
		out.SeenAt = in.SeenAt
	}
	return out
}

// textFields lists l's text fields in the column order of leadArgs and scanLead.
func textFields(l *lead.Lead) []*string {
	return []*string{&l.SourceID, &l.Name, &l.Email, &l.MobileNumber, &l.AltPhone, &l.Address,
		&l.Pincode, &l.City, &l.State, &l.Country, &l.UTMSource, &l.UTMMedium, &l.UTMCampaign,
		&l.UTMTerm, &l.UTMContent, &l.ProductCategory, &l.ProductSKU}
}

// leadArgs returns the values of l for the columns source_id … seen_at. An empty email is
// stored as NULL so the unique index ignores it.
func leadArgs(l *lead.Lead) ([]any, error) {
	fields := textFields(l)
	args := make([]any, 0, len(fields)+4)
	for _, f := range fields {
		args = append(args, *f)
	}
	if l.Email == "" {
		args[2] = nil
	}
	attrs, err := encodeAttributes(l.Attributes)
	if err != nil {
		return nil, fmt.Errorf("lead attributes: %w", err)
	}
	return append(args, attrs, formatTime(l.SeenAt)), nil
}

// scanLead reads one row of leadColumns; no row is store.ErrNotFound.
func scanLead(row *sql.Row) (*store.StoredLead, error) {
	var (
		sl                        store.StoredLead
		email                     sql.NullString
		attrs, seen, created, upd string
	)
	dst := []any{&sl.ID}
	for i, f := range textFields(&sl.Lead) {
		if i == 2 {
			dst = append(dst, &email)
			continue
		}
		dst = append(dst, f)
	}
	dst = append(dst, &attrs, &seen, &created, &upd)
	if err := row.Scan(dst...); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, store.ErrNotFound
		}
		return nil, err
	}
	return finishLead(&sl, email, attrs, seen, created, upd)
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
