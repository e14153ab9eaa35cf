package ctl

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/saleassist-pipeline/pipeline/pkg/store/storecopy"
)

// MigrateStoreCommand is `ingestctl migrate-store --from FILE [--to URL] [--chunk N] [--json]`:
// the one-shot copy of a SQLite store into PostgreSQL (storecopy.Copy). --to defaults to -db /
// DATABASE_URL, so in the compose stack the password stays in the env file. It prints progress
// on stderr, and the counts of both sides on stdout, also when the verification fails.
type MigrateStoreCommand struct{ *CLI }

// Run runs the command.
func (c *MigrateStoreCommand) Run(ctx context.Context, args []string) error {
	fs := newFlags("migrate-store", "--from FILE [--to URL] [--chunk N] [--json]",
		"Copies a SQLite store into PostgreSQL: idempotent, resumable, verified by counts and row by row.\nStop the workers first.")
	from := fs.String("from", "", "the SQLite `FILE` to copy")
	to := fs.String("to", c.db, "the PostgreSQL `URL` (postgres://…; default -db / DATABASE_URL)")
	chunk := fs.Int("chunk", 0, "rows per committed chunk (`N`; default storecopy's)")
	jsonOut := fs.Bool("json", false, "print the report as JSON")
	if _, err := fs.parse(args, 0); err != nil {
		return err
	}
	if fs.visited("chunk") && *chunk < 1 {
		return fs.fail("migrate-store: --chunk %d is not a positive number", *chunk)
	}
	if *from == "" || *to == "" {
		return fs.fail("migrate-store needs --from (the SQLite file) and --to (postgres://…, default -db / DATABASE_URL)")
	}
	progress := newCopyProgress(c.Stderr)
	r, err := storecopy.Copy(ctx, *from, *to, storecopy.Options{ChunkSize: *chunk, Progress: progress.update})
	progress.end()
	if err != nil && ctx.Err() != nil {
		return fmt.Errorf("interrupted: the chunks committed so far stay; run the same command again to resume (%w)", err)
	}
	if r != nil {
		if perr := c.output(*jsonOut, migrateReport{r, r.Verified()}, func() error { return c.printCopy(r) }); perr != nil {
			return perr
		}
	}
	return err
}

// migrateReport is the JSON of a migrate-store run.
type migrateReport struct {
	*storecopy.Report
	Verified bool `json:"verified"`
}

func (c *MigrateStoreCommand) printCopy(r *storecopy.Report) error {
	fmt.Fprintf(c.Stdout, "copied %s into %s in %s (%d chunks)\n", r.From, r.To, r.Elapsed.Round(time.Millisecond), r.Chunks)
	if err := c.table("TABLE\tSQLITE\tPOSTGRESQL\tCOPIED NOW", func(w io.Writer) {
		for _, row := range []struct {
			name              string
			src, dst, written int64
		}{
			{"leads", r.Source.Leads, r.Target.Leads, r.Copied.Leads},
			{"events", r.Source.Events, r.Target.Events, r.Copied.Events},
			{"meetings", r.Source.Meetings, r.Target.Meetings, r.Copied.Meetings},
			{"kept fields", r.Fields.Source, r.Fields.Target, r.Fields.Copied},
		} {
			fmt.Fprintf(w, "%s\t%d\t%d\t%d\n", row.name, row.src, row.dst, row.written)
		}
	}); err != nil {
		return err
	}
	if r.Verified() {
		fmt.Fprintln(c.Stdout, "verified: the counts are equal, and every row was checked equal by id")
	} else {
		fmt.Fprintln(c.Stdout, "NOT verified: the counts differ")
	}
	return nil
}
