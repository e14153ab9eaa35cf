package postgres

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/saleassist-pipeline/pipeline/pkg/store"
	"github.com/saleassist-pipeline/pipeline/pkg/store/leadrules"
)

// leadColumns is the column list every lead query selects, in scanLead's order.
const leadColumns = `id, account, ` + leadrules.TextColumns + `, attributes, seen_at, created_at, updated_at`

// phoneColumn is the column of a leadrules.PhoneColumn.
var phoneColumn = [...]string{leadrules.Mobile: "mobile_number", leadrules.Alt: "alt_phone"}

// leadByEmails fetches the stored leads of a batch's (account, email) pairs ($1, $2): one probe
// of the unique index per pair. LATERAL makes it a loop of index probes whatever the planner believes of the table's
// size; as email = ANY($1) it scanned the whole table until autovacuum first analyzed it (7 ms
// at 5,000 leads). The redundant "email is not empty" lets it use the partial index.
const leadByEmails = `SELECT l.* FROM unnest($1::text[], $2::text[]) AS u(account, email) CROSS JOIN LATERAL (
	SELECT ` + leadColumns + ` FROM leads WHERE account = u.account AND email = u.email AND email <> '') l`

// phoneTop is how many leads per phone number, column and kind phoneTops fetches: the newest, and
// one more in case the batch itself moves the newest off the number. When the batch moves all of
// them off, the planner asks for the next one (phoneNext): rare, and then one more round trip.
const phoneTop = 2

// phoneTops fetches, for each of the (account, number) pairs of $1 and $2, the phoneTop most
// recently updated leads of the account with the number in col (and no email, with noEmail): one
// index seek per pair on migration 0006's (account, phone, updated_at, id) indexes, however many
// leads share the number.
func phoneTops(col leadrules.PhoneColumn, noEmail bool) string {
	return `SELECT u.account, u.phone, l.* FROM unnest($1::text[], $2::text[]) AS u(account, phone) CROSS JOIN LATERAL (
		SELECT ` + leadColumns + ` FROM leads WHERE account = u.account AND ` + phoneColumn[col] + ` = u.phone` + noEmailCond(noEmail) + `
		ORDER BY updated_at DESC, id DESC LIMIT ` + fmt.Sprint(phoneTop) + `) l`
}

// phoneNext fetches account $3's most recently updated lead with $1 in col that is not one of $2.
func phoneNext(col leadrules.PhoneColumn, noEmail bool) string {
	return `SELECT ` + leadColumns + ` FROM leads WHERE account = $3 AND ` + phoneColumn[col] + ` = $1` + noEmailCond(noEmail) + `
		AND id <> ALL($2::bigint[]) ORDER BY updated_at DESC, id DESC LIMIT 1`
}

func noEmailCond(noEmail bool) string {
	if noEmail {
		return ` AND email IS NULL`
	}
	return ``
}

// leadArrays builds the parameters of insertLeadsAndEvents and updateLeads: one array per column,
// so a batch's leads are written by one statement however many there are.
type leadArrays struct {
	ids      []int64
	accounts []string
	text     [leadrules.TextFieldCount][]pgtype.Text
	attrs    []string
	seen     []pgtype.Timestamptz
	created  []time.Time
	updated  []time.Time
}

func (a *leadArrays) add(l *store.StoredLead) error {
	attrs, err := leadrules.EncodeAttributes(l.Attributes)
	if err != nil {
		return fmt.Errorf("lead attributes: %w", err)
	}
	a.ids = append(a.ids, l.ID)
	a.accounts = append(a.accounts, store.Account(l.Account))
	for i, f := range leadrules.TextFields(&l.Lead) {
		// An empty email is NULL, so the unique index ignores it; other text columns are ''.
		a.text[i] = append(a.text[i], pgtype.Text{String: *f, Valid: *f != "" || i != leadrules.EmailField})
	}
	a.attrs = append(a.attrs, attrs)
	a.seen = append(a.seen, timestamptz(l.SeenAt))
	a.created = append(a.created, l.CreatedAt)
	a.updated = append(a.updated, l.UpdatedAt)
	return nil
}

func (a *leadArrays) args() []any {
	args := []any{a.ids}
	for _, t := range a.text {
		args = append(args, t)
	}
	return append(args, a.attrs, a.seen, a.created, a.updated, a.accounts)
}

// leadArrayCount is how many parameters leadArrays.args gives: the next one is $leadArrayCount+1.
const leadArrayCount = 1 + leadrules.TextFieldCount + 5

// leadUnnest is the FROM of insertLeadsAndEvents and updateLeads: the arrays of leadArrays.args as rows.
var leadUnnest = func() string {
	var types, names []string
	types = append(types, "$1::bigint[]")
	names = append(names, "id")
	for i, c := range strings.Split(leadrules.TextColumns, ",") {
		types = append(types, fmt.Sprintf("$%d::text[]", i+2))
		names = append(names, strings.TrimSpace(c))
	}
	n := len(types)
	types = append(types, fmt.Sprintf("$%d::text[]", n+1), fmt.Sprintf("$%d::timestamptz[]", n+2),
		fmt.Sprintf("$%d::timestamptz[]", n+3), fmt.Sprintf("$%d::timestamptz[]", n+4), fmt.Sprintf("$%d::text[]", n+5))
	names = append(names, "attributes", "seen_at", "created_at", "updated_at", "account")
	return `unnest(` + strings.Join(types, ", ") + `) AS u(` + strings.Join(names, ", ") + `)`
}()

// updateLeads writes the merged state of the stored leads a batch changed, one row each.
var updateLeads = func() string {
	var set []string
	for _, c := range strings.Split(leadrules.TextColumns, ",") {
		c = strings.TrimSpace(c)
		set = append(set, c+" = u."+c)
	}
	return `UPDATE leads SET ` + strings.Join(set, ", ") + `, attributes = u.attributes::jsonb,
		seen_at = u.seen_at, updated_at = u.updated_at FROM ` + leadUnnest + ` WHERE leads.id = u.id`
}()

// scanLead reads one row of leadColumns from rows, after skip leading columns.
func scanLead(rows pgx.Rows, skip ...any) (*store.StoredLead, error) {
	var (
		sl    store.StoredLead
		email pgtype.Text
		attrs []byte
		seen  pgtype.Timestamptz
	)
	dst := append(skip, &sl.ID, &sl.Account)
	for i, f := range leadrules.TextFields(&sl.Lead) {
		if i == leadrules.EmailField {
			dst = append(dst, &email)
			continue
		}
		dst = append(dst, f)
	}
	dst = append(dst, &attrs, &seen, &sl.CreatedAt, &sl.UpdatedAt)
	if err := rows.Scan(dst...); err != nil {
		return nil, err
	}
	sl.Email = email.String
	sl.SeenAt = fromTimestamptz(seen)
	sl.CreatedAt, sl.UpdatedAt = sl.CreatedAt.UTC(), sl.UpdatedAt.UTC()
	if err := decodeAttributes(attrs, &sl); err != nil {
		return nil, err
	}
	return &sl, nil
}

// decodeAttributes reads the attributes jsonb. jsonb keeps no white space of its own but prints
// "a": 1 with spaces; each value is compacted so a lead reads back as SQLite returns it.
func decodeAttributes(b []byte, sl *store.StoredLead) error {
	if len(b) == 0 || string(b) == "{}" {
		return nil
	}
	if err := json.Unmarshal(b, &sl.Attributes); err != nil {
		return fmt.Errorf("lead %d attributes: %w", sl.ID, err)
	}
	for k, v := range sl.Attributes {
		var c bytes.Buffer
		if err := json.Compact(&c, v); err == nil {
			sl.Attributes[k] = c.Bytes()
		}
	}
	return nil
}

// readLeads calls f with each lead of rows (after the skip columns it selected first).
func readLeads(rows pgx.Rows, err error, skip []any, f func(*store.StoredLead)) error {
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		l, err := scanLead(rows, skip...)
		if err != nil {
			return err
		}
		f(l)
	}
	return rows.Err()
}

// timestamptz stores the zero time (not sent) as NULL.
func timestamptz(t time.Time) pgtype.Timestamptz {
	return pgtype.Timestamptz{Time: t, Valid: !t.IsZero()}
}

func fromTimestamptz(t pgtype.Timestamptz) time.Time {
	if !t.Valid {
		return time.Time{}
	}
	return t.Time.UTC()
}
