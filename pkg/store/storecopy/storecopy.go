// Package storecopy copies a SQLite store into PostgreSQL once, when a pipeline moves off SQLite:
// the operation behind `ingestctl migrate-store --from data/leads.db --to postgres://…`. (It is
// not named migrate, which in the store packages means schema migrations.)
//
// The method: with the workers stopped, read one snapshot of the SQLite file and copy its rows
// in id order, leads, then events, then meetings (the order of their foreign keys), then the kept
// schema (event_fields, the schema explorer's: replaced row by row, not added to), in chunks of
// Options.ChunkSize rows, each chunk one PostgreSQL transaction that inserts the rows with their
// ids (ON CONFLICT DO NOTHING), checks that every row of the chunk is now there exactly as in
// the source, and moves the id sequences past the ids copied (postgres.DB.ImportLeads …). Why
// that way rather than one big transaction or COPY into empty tables:
//
//   - Idempotent: a row already copied is skipped and checked, so a second run changes nothing.
//   - Resumable: every committed chunk stays; an interrupted run (Ctrl-C, a lost connection)
//     loses at most its current chunk, and a rerun copies the rest. No progress is kept anywhere
//     but in the target's rows, so nothing can disagree with them.
//   - Safe against the wrong target: a row under the same id that differs, or a lead whose email
//     another lead holds, fails the chunk (store.ErrDifferentData), and before anything is
//     written a target holding more rows than the source is refused: it is not a copy of this
//     source.
//   - Verified: at the end the counts of both sides must be equal. With every source row checked
//     present and equal by id, equal counts mean the target holds exactly the source.
//   - Faithful: the rows are read with the SQLite store's own scanners and written with the
//     PostgreSQL store's own encoders, so times become timestamptz (NULL where SQLite stores an
//     empty string; to the microsecond, where SQLite keeps nanoseconds, as for any lead a worker
//     writes to PostgreSQL), attributes and participants jsonb, and payloads bytea byte for byte.
//
// Nothing may write to either side meanwhile: a worker still writing the SQLite file would make
// the snapshot stale, and one already writing PostgreSQL would take lead ids the copy needs. So
// the copy refuses to start while other sessions are connected to the target database, and fails
// at the end when the SQLite file changed since the snapshot (PRAGMA data_version): stop the
// workers (and the console) first, then run it again; the rerun finishes the job.
package storecopy

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/saleassist-pipeline/pipeline/internal/redact"
	"github.com/saleassist-pipeline/pipeline/pkg/store"
	"github.com/saleassist-pipeline/pipeline/pkg/store/postgres"
	"github.com/saleassist-pipeline/pipeline/pkg/store/sqlite"
	"github.com/saleassist-pipeline/pipeline/pkg/store/storeurl"
)

// DefaultChunkSize is how many rows one transaction copies: large enough that round trips do
// not dominate, small enough that an interrupted run loses little and a chunk's arrays stay a
// few MB (events carry their payloads).
const DefaultChunkSize = 1000

// Options tune a copy; the zero value is the defaults.
type Options struct {
	// ChunkSize is the rows per transaction; 0 means DefaultChunkSize.
	ChunkSize int
	// Progress, when set, is called after each chunk is committed.
	Progress func(Progress)
}

// Progress is where a copy stands after a chunk.
type Progress struct {
	// Table is "leads", "events", "meetings" or "event_fields".
	Table string
	// Done is how many of the table's source rows have been copied or found present; Total is
	// how many the source holds.
	Done, Total int64
}

// Report is what a copy did and found.
type Report struct {
	// From is the SQLite file; To the PostgreSQL URL, its password masked.
	From string `json:"from"`
	To   string `json:"to"`
	// Source and Target are the counts of both sides at the end.
	Source store.Counts `json:"source"`
	Target store.Counts `json:"target"`
	// Copied is how many rows this run wrote; zero when the target held them all already.
	Copied store.Counts `json:"copied"`
	// Fields counts the kept schema's rows (event_fields) the same way.
	Fields FieldCounts `json:"fields"`
	// Chunks is how many transactions this run committed.
	Chunks  int           `json:"chunks"`
	Elapsed time.Duration `json:"elapsed_ns"`
}

// FieldCounts are the kept schema's rows (event_fields) on each side at the end, and how many
// this run wrote.
type FieldCounts struct {
	Source int64 `json:"source"`
	Target int64 `json:"target"`
	Copied int64 `json:"copied"`
}

// Verified reports whether the target holds as many rows of each kind as the source.
func (r *Report) Verified() bool { return r.Source == r.Target && r.Fields.Source == r.Fields.Target }

// appName is the application_name of the copy's own PostgreSQL sessions, unique to the process,
// so it can tell them from the sessions of anything else connected (a worker).
func appName() string { return "ingestctl-migrate-store-" + strconv.Itoa(os.Getpid()) }

// Copy copies the SQLite store at from (a path, or sqlite:PATH / file:PATH) into the PostgreSQL
// database to (postgres://…), creating its schema when needed; see the package doc for the
// method and its guarantees. The report is returned whenever both stores could be opened, also
// with an error (a failed verification prints the counts of both sides).
func Copy(ctx context.Context, from, to string, o Options) (*Report, error) {
	start := time.Now()
	if o.ChunkSize <= 0 {
		o.ChunkSize = DefaultChunkSize
	}
	kind, path, err := storeurl.KindOf(from)
	if err != nil || kind != storeurl.SQLite {
		return nil, fmt.Errorf("--from %s: want the SQLite file to copy, such as data/leads.db", redact.URL(from))
	}
	if !postgres.IsURL(to) {
		return nil, fmt.Errorf("--to %s: want the PostgreSQL database to copy into, postgres://user:password@host:5432/dbname", redact.URL(to))
	}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("--from %s: no such file (the workers' DATABASE_URL, by default ./data/leads.db)", path)
	}
	self := appName()
	src, err := sqlite.Open(ctx, path)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	dst, err := postgres.Open(ctx, withAppName(to, self))
	if err != nil {
		return nil, err
	}
	defer dst.Close()
	r := &Report{From: path, To: redact.URL(to)}
	defer func() { r.Elapsed = time.Since(start) }()

	others, err := dst.OtherSessions(ctx, self)
	if err != nil {
		return nil, err
	}
	if len(others) > 0 {
		return nil, fmt.Errorf("%d other sessions are connected to %s (%s): workers may be writing to it. Stop the workers and the console, then run migrate-store again",
			len(others), r.To, strings.Join(others, "; "))
	}
	snap, err := src.Snapshot(ctx)
	if err != nil {
		return nil, err
	}
	defer snap.Close()
	if r.Source, err = snap.Counts(ctx); err != nil {
		return nil, err
	}
	if r.Target, err = dst.TotalCounts(ctx); err != nil {
		return nil, err
	}
	if err := countFields(ctx, snap, dst, r); err != nil {
		return nil, err
	}
	if r.Target.Leads > r.Source.Leads || r.Target.Events > r.Source.Events || r.Target.Meetings > r.Source.Meetings ||
		r.Fields.Target > r.Fields.Source {
		return r, fmt.Errorf("%s holds more rows than %s (%s): %w. Copy into an empty database (createdb), or drop its tables leads, events, meetings, event_fields and schema_migrations",
			r.To, path, countsText(r.Target), store.ErrDifferentData)
	}

	c := &copier{ctx: ctx, snap: snap, dst: dst, o: o, r: r}
	if err := c.run(); err != nil {
		if errors.Is(err, store.ErrDifferentData) {
			err = fmt.Errorf("%w. %s is not an earlier copy of %s: copy into an empty database (createdb), or drop its tables leads, events, meetings, event_fields and schema_migrations", err, r.To, path)
		}
		return r, fmt.Errorf("copy %s into %s: %w (committed chunks stay; run it again to resume)", path, r.To, err)
	}
	changed, err := snap.Changed(ctx)
	if err != nil {
		return r, err
	}
	if r.Target, err = dst.TotalCounts(ctx); err != nil {
		return r, err
	}
	if err := countFields(ctx, snap, dst, r); err != nil {
		return r, err
	}
	if changed {
		return r, fmt.Errorf("%s changed while it was copied: a worker is still writing to it. Stop every worker, then run migrate-store again (it resumes)", path)
	}
	if !r.Verified() {
		return r, fmt.Errorf("counts differ after the copy: %s has %s, %s has %s. Something else wrote to the database meanwhile (a worker already pointed at it?): stop it, empty the database and copy again",
			path, countsText(r.Source), r.To, countsText(r.Target))
	}
	return r, nil
}

// countFields reads both sides' kept-schema row counts into r.
func countFields(ctx context.Context, snap *sqlite.Snapshot, dst *postgres.DB, r *Report) (err error) {
	if r.Fields.Source, err = snap.FieldCount(ctx); err != nil {
		return err
	}
	r.Fields.Target, err = dst.FieldCount(ctx)
	return err
}

func countsText(c store.Counts) string {
	return fmt.Sprintf("%d leads, %d events, %d meetings", c.Leads, c.Events, c.Meetings)
}

// withAppName sets the URL's application_name to name, unless the operator set one (then the
// copy's sessions go by that, and OtherSessions leaves out every session of that name).
func withAppName(url, name string) string {
	if strings.Contains(url, "application_name=") {
		return url
	}
	sep := "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	return url + sep + "application_name=" + name
}
