package main

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	_ "github.com/mattn/go-sqlite3" // the driver the store uses

	"github.com/saleassist-pipeline/pipeline/pkg/store/sqlite"
)

// timeFormat is the SQLite store's: RFC 3339, UTC, a fixed nine-digit fraction, so times sort
// as text.
const timeFormat = "2006-01-02T15:04:05.000000000Z07:00"

var (
	firstNames = []string{"Asha", "Ravi", "Meera", "Karan", "Fatima", "Rohit", "Priya", "Arjun", "Neha", "Vikram", "Sana", "Dev"}
	lastNames  = []string{"Rao", "Kumar", "Iyer", "Shah", "Khan", "Verma", "Nair", "Patel", "Gupta", "Singh", "Das", "Menon"}
	cities     = []string{"Pune", "Mumbai", "Delhi", "Chennai", "Kolkata", "Bengaluru", "Hyderabad", "Faridabad"}
)

// leadEmail and leadPhone are lead i's keys, so the measurement can search for known leads.
// The email is stored normalized (lower-case), as the pipeline stores it.
func leadEmail(i int) string {
	return strings.ToLower(fmt.Sprintf("%s.%s%d@example.com", first(i), last(i), i))
}

// leadPhone is a valid Indian mobile number in E.164, distinct per lead.
func leadPhone(i int) string { return fmt.Sprintf("+91%d", 9000000000+i) }

func first(i int) string { return firstNames[i%len(firstNames)] }

// last is lead i's surname: one of a dozen common ones, except for one lead in a thousand
// (i%1000 == 500), whose surname is rare (made of syllables from i/1000), so that a search for
// a fragment of it matches a handful of leads in a million.
func last(i int) string {
	if i%1000 == 500 {
		return rareWord(i/1000, "")
	}
	return lastNames[(i/len(firstNames))%len(lastNames)]
}

// city is lead i's city: one of eight, except for one lead in a thousand (i%1000 == 250), who
// lives in a rare town.
func city(i int) string {
	if i%1000 == 250 {
		return rareWord(i/1000+5000, "pur")
	}
	return cities[i%len(cities)]
}

// syllables make the rare words: four of them picked by the digits of n, so every n < 10,000
// has its own word.
var syllables = []string{"ka", "ri", "mo", "lu", "ven", "ta", "shi", "pra", "dhu", "ne"}

// rareWord is the rare surname or town (with suffix) of n, capitalised.
func rareWord(n int, suffix string) string {
	var b strings.Builder
	for k := 0; k < 4; k++ {
		b.WriteString(syllables[n%10])
		n /= 10
	}
	w := b.String() + suffix
	return strings.ToUpper(w[:1]) + w[1:]
}

// leadName is lead i's name.
func leadName(i int) string { return first(i) + " " + last(i) }

// dataset is the generated store, one definition for both stores' generators, so SQLite and
// PostgreSQL are measured on the same leads and events (the same seed).
type dataset struct {
	leads   int
	rng     *rand.Rand
	now     time.Time
	updated []time.Time // by lead id, filled by lead
}

func newDataset(leads int) *dataset {
	return &dataset{leads: leads, rng: rand.New(rand.NewPCG(1, 2)), now: time.Now().UTC(), updated: make([]time.Time, leads+1)}
}

// genLead is one generated lead's columns.
type genLead struct {
	id                       int
	name, email, phone, city string
	updated                  time.Time
}

// lead generates lead id (1-based; call in order). updated_at is spread at random over the last
// 30 days: the listing's keyset index is then walked as it would be after months of traffic, not
// in insertion order.
func (d *dataset) lead(id int) genLead {
	u := d.now.Add(-time.Duration(d.rng.Int64N(int64(30 * 24 * time.Hour))))
	d.updated[id] = u
	return genLead{id: id, name: leadName(id), email: leadEmail(id), phone: leadPhone(id),
		city: city(id), updated: u}
}

// genEvent is one generated event's columns.
type genEvent struct {
	eventID, typ string
	leadID       int
	at           time.Time
	payload      string
}

// event generates event i (0-based), once every lead is generated: the events go round the
// leads, a third of them video_tile_click, each an hour before the previous of its lead.
func (d *dataset) event(i int) genEvent {
	id := i%d.leads + 1
	typ := "widget_new_conversation"
	if i%3 == 2 {
		typ = "video_tile_click"
	}
	at := d.updated[id].Add(-time.Duration(i/d.leads) * time.Hour)
	evID := fmt.Sprintf("ev-%07d-%d", id, i/d.leads)
	payload := fmt.Sprintf(`{"event_type":%q,"payload":{"id":%q,"people_detail":{"name":%q,"email":%q,"mobile_number":%q,"widget_city":%q},"updated_on":%d},"metadata":{}}`,
		typ, evID, leadName(id), leadEmail(id), leadPhone(id)[3:], city(id), at.UnixMilli())
	return genEvent{eventID: evID, typ: typ, leadID: id, at: at, payload: payload}
}

// generateSQLite creates the store with its migrations (so the schema and indexes are the real
// ones), then bulk-inserts straight into the tables on one connection, in transactions of
// 100,000 rows, with synchronous=OFF: a generator, not the pipeline's write path.
func generateSQLite(ctx context.Context, path string, leads, events int) error {
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		return err
	}
	if err := st.Close(); err != nil {
		return err
	}
	db, err := sql.Open("sqlite3", "file:"+path+"?_journal_mode=WAL&_synchronous=OFF&_foreign_keys=off")
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, `PRAGMA cache_size = -262144`); err != nil {
		return err
	}
	d := newDataset(leads)
	err = batches(ctx, db, leads, `INSERT INTO leads (id, name, email, mobile_number, city, attributes, seen_at, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, '{}', ?, ?, ?)`, func(st *sql.Stmt, i int) error {
		l := d.lead(i + 1)
		ts := l.updated.Format(timeFormat)
		_, err := st.ExecContext(ctx, l.id, l.name, l.email, l.phone, l.city, ts, ts, ts)
		return err
	})
	if err != nil {
		return fmt.Errorf("leads: %w", err)
	}
	// The leads went straight into the table: the fragment search's index (migration 0007,
	// kept by the store's write path) is filled for them as the migration fills it.
	start := time.Now()
	if err := sqlite.IndexLeadText(ctx, path); err != nil {
		return err
	}
	fmt.Printf("indexed the leads' text in %s\n", time.Since(start).Round(time.Second))
	return batches(ctx, db, events, `INSERT INTO events (event_id, event_type, lead_id, received_at, stored_at, payload)
		VALUES (?, ?, ?, ?, ?, ?)`, func(st *sql.Stmt, i int) error {
		e := d.event(i)
		ts := e.at.Format(timeFormat)
		_, err := st.ExecContext(ctx, e.eventID, e.typ, e.leadID, ts, ts, e.payload)
		return err
	})
}

// batches runs row(i) for i in [0, n) with the statement q, committing every 100,000 rows.
func batches(ctx context.Context, db *sql.DB, n int, q string, row func(*sql.Stmt, int) error) error {
	const per = 100_000
	for start := 0; start < n; start += per {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		st, err := tx.PrepareContext(ctx, q)
		if err != nil {
			tx.Rollback()
			return err
		}
		for i := start; i < min(start+per, n); i++ {
			if err := row(st, i); err != nil {
				tx.Rollback()
				return err
			}
		}
		st.Close()
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	return nil
}
