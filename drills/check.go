package drills

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx", for the PostgreSQL store
	_ "github.com/mattn/go-sqlite3"    // the leads database is read directly, as its users do
	"github.com/nats-io/nats.go/jetstream"

	"github.com/saleassist-pipeline/pipeline/pkg/queue"
	"github.com/saleassist-pipeline/pipeline/pkg/store/postgres"
)

// Result is one drill's figures. See docs/RELIABILITY.md for the exact definitions.
type Result struct {
	Name string
	// Sent is the number of distinct event ids posted; Accepted, those answered 202 at least
	// once; Stored, those found in the events table.
	Sent, Accepted, Stored int
	// Lost is the number of event ids answered 202 that are not in the store.
	Lost int
	// Duplicated is the number of extra copies: events rows beyond one per event id, plus leads
	// beyond one per person.
	Duplicated int
	// Problems are other broken promises (an event stored that was never sent, a person with
	// events but no lead, a lead no event built, an answer other than 202 or 503); any fails the
	// drill.
	Problems []string
}

// Line is the drill's summary line, exactly as make drills prints it.
func (r Result) Line() string {
	return fmt.Sprintf("drill=%s sent=%d accepted=%d stored=%d lost=%d duplicated=%d",
		r.Name, r.Sent, r.Accepted, r.Stored, r.Lost, r.Duplicated)
}

// Report prints the summary line on stdout and fails the drill on any loss, duplicate or problem.
func Report(t testing.TB, r Result) {
	t.Helper()
	fmt.Fprintln(os.Stdout, r.Line())
	if r.Lost > 0 || r.Duplicated > 0 || len(r.Problems) > 0 {
		t.Errorf("drill %s broke a promise: lost=%d duplicated=%d\n  %s", r.Name, r.Lost, r.Duplicated, strings.Join(r.Problems, "\n  "))
	}
}

// AwaitSettled waits until the events stream is empty — it has work-queue retention, so every
// message was acknowledged after its commit (or dead-lettered) — and every event id answered 202
// is in the database, or until timeout. It does not fail the drill: Check reports what is missing.
func AwaitSettled(t testing.TB, js jetstream.JetStream, db string, load *Load, timeout time.Duration) {
	t.Helper()
	start := time.Now()
	deadline := start.Add(timeout)
	var msgs uint64
	var missing int
	var err error
	for {
		msgs, err = streamMsgs(js)
		if err == nil && msgs == 0 {
			missing = len(missingIDs(db, load))
			if missing == 0 {
				t.Logf("settled %s after the load stopped", time.Since(start).Round(10*time.Millisecond))
				return
			}
		}
		if time.Now().After(deadline) {
			t.Logf("not settled within %s: %d messages in the stream (%v), %d accepted events not stored", timeout, msgs, err, missing)
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func streamMsgs(js jetstream.JetStream) (uint64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, queue.DefaultStream)
	if err != nil {
		return 0, err
	}
	info, err := s.Info(ctx)
	if err != nil {
		return 0, err
	}
	return info.State.Msgs, nil
}

// missingIDs returns the event ids answered 202 that the database does not hold (all of them if
// it cannot be read yet).
func missingIDs(db string, load *Load) []string {
	stored, _, err := readEvents(db)
	var missing []string
	for id, o := range load.Outcomes() {
		if o.Accepted > 0 && (err != nil || stored[id] == 0) {
			missing = append(missing, id)
		}
	}
	return missing
}

// openStore opens the leads database a drill's workers write, read-only where the driver allows:
// a PostgreSQL URL (postgres://…, as DATABASE_URL takes it), or else a SQLite file path. Both
// are read through database/sql with the same queries, since the two stores share their tables
// and columns, so the check has one reader of rows and only the driver differs. (The hot path
// uses pgx directly; this is a handful of queries per drill.)
func openStore(db string) (*sql.DB, error) {
	if postgres.IsURL(db) {
		return sql.Open("pgx", db)
	}
	return sql.Open("sqlite3", "file:"+db+"?mode=ro&_busy_timeout=5000")
}

// readEvents reads the events table: how many rows each event id has, and the lead of each row.
func readEvents(dsn string) (count map[string]int, leads map[string][]int64, err error) {
	db, err := openStore(dsn)
	if err != nil {
		return nil, nil, err
	}
	defer db.Close()
	rows, err := db.Query(`SELECT event_id, lead_id FROM events`)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	count, leads = map[string]int{}, map[string][]int64{}
	for rows.Next() {
		var id string
		var lead sql.NullInt64
		if err := rows.Scan(&id, &lead); err != nil {
			return nil, nil, err
		}
		count[id]++
		if lead.Valid {
			leads[id] = append(leads[id], lead.Int64)
		}
	}
	return count, leads, rows.Err()
}

type leadRow struct {
	id    int64
	email sql.NullString
	phone string
	name  string
}

func readLeads(dsn string) ([]leadRow, error) {
	db, err := openStore(dsn)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	rows, err := db.Query(`SELECT id, email, mobile_number, name FROM leads`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []leadRow
	for rows.Next() {
		var l leadRow
		if err := rows.Scan(&l.id, &l.email, &l.phone, &l.name); err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

// Check compares the database db (a SQLite path or a PostgreSQL URL) with everything the load
// sent and was answered.
func Check(t testing.TB, name, db string, load *Load, gen *Generator) Result {
	t.Helper()
	r := Result{Name: name}
	tot := load.Totals()
	r.Sent, r.Accepted = tot.Sent, tot.Accepted
	count, eventLeads, err := readEvents(db)
	if err != nil {
		t.Fatalf("read events from %s: %v", db, err)
	}
	leads, err := readLeads(db)
	if err != nil {
		t.Fatalf("read leads from %s: %v", db, err)
	}
	outcomes := load.Outcomes()

	var lost, phantom []string
	for id, o := range outcomes {
		if o.Accepted > 0 && count[id] == 0 {
			lost = append(lost, id)
		}
		if o.Other > 0 {
			r.Problems = append(r.Problems, fmt.Sprintf("event %s: %d answers other than 202 and 503", id, o.Other))
		}
	}
	for id, n := range count {
		if _, ok := outcomes[id]; !ok {
			phantom = append(phantom, id)
			continue
		}
		r.Stored++
		r.Duplicated += n - 1
	}
	sort.Strings(lost)
	sort.Strings(phantom)
	r.Lost = len(lost)
	if len(lost) > 0 {
		r.Problems = append(r.Problems, fmt.Sprintf("answered 202 but not stored: %s", sample(lost)))
	}
	if len(phantom) > 0 {
		r.Problems = append(r.Problems, fmt.Sprintf("stored but never sent: %s", sample(phantom)))
	}

	// One lead per person: the leads with the person's key (their email; their phone when they
	// have no email) and the leads their stored events point at must be one and the same.
	byEmail := map[string][]int64{}
	byPhone := map[string][]int64{}
	names := map[int64]string{}
	for _, l := range leads {
		names[l.id] = l.name
		if l.email.Valid && l.email.String != "" {
			byEmail[l.email.String] = append(byEmail[l.email.String], l.id)
		} else {
			byPhone[l.phone] = append(byPhone[l.phone], l.id)
		}
	}
	eventsOf := map[*Person][]string{}
	for id := range count {
		if e := gen.Event(id); e != nil {
			eventsOf[e.Person] = append(eventsOf[e.Person], id)
		}
	}
	used := map[int64]bool{}
	for _, p := range gen.People() {
		ids := eventsOf[p]
		if len(ids) == 0 {
			continue
		}
		holding := map[int64]bool{}
		keyed := byPhone[p.Phone]
		if p.Email != "" {
			keyed = byEmail[p.Email]
		}
		for _, l := range keyed {
			holding[l] = true
		}
		for _, id := range ids {
			for _, l := range eventLeads[id] {
				holding[l] = true
			}
		}
		for l := range holding {
			used[l] = true
		}
		switch {
		case len(holding) == 0:
			r.Problems = append(r.Problems, fmt.Sprintf("person %d (%s %s) has %d stored events but no lead", p.Index, p.Email, p.Phone, len(ids)))
		case len(holding) > 1:
			r.Duplicated += len(holding) - 1
			r.Problems = append(r.Problems, fmt.Sprintf("person %d (%s %s) has %d leads", p.Index, p.Email, p.Phone, len(holding)))
		default:
			// Newer wins: whatever order the workers applied them in, the lead holds the values
			// of the person's newest stored event. Another name is a lost update (a writer that
			// read the lead before a newer event committed and wrote over it).
			newest := gen.Event(ids[0])
			for _, id := range ids[1:] {
				if e := gen.Event(id); e.Seq > newest.Seq {
					newest = e
				}
			}
			for l := range holding {
				if names[l] != newest.Name {
					r.Problems = append(r.Problems, fmt.Sprintf("person %d (%s %s): lead %d is named %q, not after the newest stored event %s (%q)",
						p.Index, p.Email, p.Phone, l, names[l], newest.ID, newest.Name))
				}
			}
		}
	}
	var orphans int
	for _, l := range leads {
		if !used[l.id] {
			orphans++
		}
	}
	if orphans > 0 {
		r.Problems = append(r.Problems, fmt.Sprintf("%d leads belong to no person the drill sent", orphans))
	}
	if len(r.Problems) > 10 {
		r.Problems = append(r.Problems[:10], fmt.Sprintf("… and %d more", len(r.Problems)-10))
	}
	t.Logf("load: %d requests, %d answered 202 (%d duplicate:true), %d answered 503, %d connection errors, %d other; %d repeats of an event id (re-sends and retries); %d leads",
		tot.Requests, tot.Answers202, tot.Duplicate, tot.Unavailable, tot.ConnErrors, tot.Other, tot.Resent, len(leads))
	if extra := r.Stored - r.Accepted; extra > 0 {
		t.Logf("%d events stored that were never answered 202 (their requests got 503 or no answer: not confirmed, so a sender retries and the retry dedupes)", extra)
	}
	return r
}

func sample(ids []string) string {
	if len(ids) > 5 {
		return strings.Join(ids[:5], ", ") + fmt.Sprintf(" … (%d in all)", len(ids))
	}
	return strings.Join(ids, ", ")
}
