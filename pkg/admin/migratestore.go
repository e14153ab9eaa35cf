package admin

import (
	"context"
	"fmt"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/saleassist-pipeline/pipeline/pkg/store/storecopy"
)

// migrateStore runs `ingestctl migrate-store --from FILE [--to URL] [--chunk N] [--json]`: the
// one-shot copy of a SQLite store into PostgreSQL (storecopy.Copy). --to defaults to -db /
// DATABASE_URL, so in the compose stack the password stays in the env file. It prints progress
// on stderr, and the counts of both sides on stdout, also when the verification fails.
func (c *CLI) migrateStore(ctx context.Context, args []string) error {
	from, to, jsonOut := "", c.db, false
	o := storecopy.Options{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		value := func() (string, error) {
			if i+1 >= len(args) {
				return "", usageError{fmt.Sprintf("migrate-store: %s needs a value", a)}
			}
			i++
			return args[i], nil
		}
		var err error
		switch a {
		case "--from":
			from, err = value()
		case "--to":
			to, err = value()
		case "--chunk":
			var v string
			if v, err = value(); err == nil {
				if o.ChunkSize, err = strconv.Atoi(v); err != nil || o.ChunkSize < 1 {
					err = usageError{fmt.Sprintf("migrate-store: --chunk %q is not a positive number", v)}
				}
			}
		case "--json":
			jsonOut = true
		default:
			err = usageError{fmt.Sprintf("migrate-store: unexpected argument %q", a)}
		}
		if err != nil {
			return err
		}
	}
	if from == "" || to == "" {
		return usageError{"migrate-store needs --from (the SQLite file) and --to (postgres://…, default -db / DATABASE_URL)"}
	}
	progress := newCopyProgress(c.Stderr)
	o.Progress = progress.update
	r, err := storecopy.Copy(ctx, from, to, o)
	progress.end()
	if err != nil && ctx.Err() != nil {
		return fmt.Errorf("interrupted: the chunks committed so far stay; run the same command again to resume (%w)", err)
	}
	if r != nil {
		if jsonOut {
			if perr := c.printJSON(migrateReport{r, r.Verified()}); perr != nil {
				return perr
			}
		} else if perr := printMigrateReport(c, r); perr != nil {
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

func printMigrateReport(c *CLI, r *storecopy.Report) error {
	fmt.Fprintf(c.Stdout, "copied %s into %s in %s (%d chunks)\n", r.From, r.To, r.Elapsed.Round(time.Millisecond), r.Chunks)
	tw := tabwriter.NewWriter(c.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TABLE\tSQLITE\tPOSTGRESQL\tCOPIED NOW")
	for _, row := range []struct {
		name              string
		src, dst, written int64
	}{
		{"leads", r.Source.Leads, r.Target.Leads, r.Copied.Leads},
		{"events", r.Source.Events, r.Target.Events, r.Copied.Events},
		{"meetings", r.Source.Meetings, r.Target.Meetings, r.Copied.Meetings},
	} {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\n", row.name, row.src, row.dst, row.written)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if r.Verified() {
		fmt.Fprintln(c.Stdout, "verified: the counts are equal, and every row was checked equal by id")
	} else {
		fmt.Fprintln(c.Stdout, "NOT verified: the counts differ")
	}
	return nil
}
