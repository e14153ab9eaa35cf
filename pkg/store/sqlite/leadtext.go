package sqlite

import (
	"context"
	"database/sql"
	"encoding/hex"
	"fmt"
	"strings"
	"unicode/utf8"
)

// The fragment search's index, lead_text (migration 0007): per lead, the trigrams of its
// lower-cased name, email and city, each written as the hex of its UTF-8 bytes. Kept here, in
// Go, by the write path (insertLead, mergeLead, Prune) rather than by triggers: a trigger would
// need a Go SQL function registered on every connection, and an edit with the sqlite3 shell
// would then fail.

// minIndexedRunes is the shortest fragment the index answers: a trigram. Shorter fragments walk
// the leads in page order.
const minIndexedRunes = 3

// grams returns the index column of s: the hex tokens of the trigrams of lower-cased s, in
// order, separated by spaces ("" for fewer than three characters).
func grams(s string) string {
	s = strings.ToLower(s)
	if utf8.RuneCountInString(s) < minIndexedRunes {
		return ""
	}
	var b strings.Builder
	b.Grow(3 * len(s))
	starts := make([]int, 0, len(s)+1)
	for i := range s {
		starts = append(starts, i)
	}
	starts = append(starts, len(s))
	for i := 0; i+minIndexedRunes < len(starts); i++ {
		if i > 0 {
			b.WriteByte(' ')
		}
		var buf [24]byte
		b.Write(hex.AppendEncode(buf[:0], []byte(s[starts[i]:starts[i+minIndexedRunes]])))
	}
	return b.String()
}

// fragmentMatch is the MATCH expression that finds the leads whose name, email or city contains
// frag (lower-cased by the caller): the phrase of its trigrams. ok is false for a fragment
// shorter than a trigram.
func fragmentMatch(frag string) (match string, ok bool) {
	g := grams(frag)
	if g == "" {
		return "", false
	}
	return `"` + g + `"`, true
}

// containsFold reports whether s contains the lower-cased fragment frag, ignoring case as the
// index does (strings.ToLower, Unicode's simple case mapping).
func containsFold(s, frag string) bool {
	return strings.Contains(strings.ToLower(s), frag)
}

// indexLeadText adds lead id's row to lead_text.
func (w *writer) indexLeadText(id int64, name, email, city string) error {
	if _, err := w.exec(w.s.insertText, id, grams(name), grams(email), grams(city)); err != nil {
		return fmt.Errorf("index lead %d text: %w", id, err)
	}
	return nil
}

// reindexLeadText replaces lead id's row of lead_text.
func (w *writer) reindexLeadText(id int64, name, email, city string) error {
	if _, err := w.exec(w.s.deleteText, id); err != nil {
		return fmt.Errorf("index lead %d text: %w", id, err)
	}
	return w.indexLeadText(id, name, email, city)
}

// backfillLeadText fills lead_text for the leads stored before migration 0007, in the
// migration's transaction, 10,000 leads a query.
func backfillLeadText(ctx context.Context, tx *sql.Tx) error {
	ins, err := tx.PrepareContext(ctx, `INSERT INTO lead_text (docid, name, email, city) VALUES (?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer ins.Close()
	type row struct {
		id                int64
		name, email, city string
	}
	rows := make([]row, 0, 10_000)
	for after := int64(0); ; {
		rows = rows[:0]
		rs, err := tx.QueryContext(ctx, `SELECT id, name, coalesce(email, ''), city FROM leads WHERE id > ? ORDER BY id LIMIT 10000`, after)
		if err != nil {
			return err
		}
		for rs.Next() {
			var r row
			if err := rs.Scan(&r.id, &r.name, &r.email, &r.city); err != nil {
				rs.Close()
				return err
			}
			rows = append(rows, r)
		}
		if err := rs.Close(); err != nil {
			return err
		}
		if err := rs.Err(); err != nil {
			return err
		}
		if len(rows) == 0 {
			return nil
		}
		for _, r := range rows {
			if _, err := ins.ExecContext(ctx, r.id, grams(r.name), grams(r.email), grams(r.city)); err != nil {
				return fmt.Errorf("lead %d: %w", r.id, err)
			}
		}
		after = rows[len(rows)-1].id
	}
}

// IndexLeadText fills lead_text, the fragment search's index, for the leads of the SQLite store
// at path that it does not hold yet: leads written straight into the leads table, as
// consolebench's generator loads them, rather than through Apply. Migration 0007 does the same
// for the leads stored before it.
func IndexLeadText(ctx context.Context, path string) error {
	db, err := Open(ctx, path)
	if err != nil {
		return err
	}
	defer db.Close()
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM lead_text`); err != nil {
		return err
	}
	if err := backfillLeadText(ctx, tx); err != nil {
		return fmt.Errorf("index lead text: %w", err)
	}
	return tx.Commit()
}
