// Command consolebench measures the console on a store of real size: it fills a SQLite store, or
// a new PostgreSQL database, with -leads leads and -events events (bulk inserts, or COPY, straight
// into the tables, the schema made by the store's own migrations), then, in a fresh process so
// its memory is the console's alone,
// serves the console and measures server time (the handler, not the network) of 100 requests
// each: the first page of /api/leads, the next pages, a search by email, a search by phone,
// fragment searches (a rare name, an email, a rare city, a common surname), and then leads.csv
// of every lead with the process's resident memory sampled throughout.
//
//	go run ./bench/cmd/consolebench                      # 1,000,000 leads, 3,000,000 events
//	go run ./bench/cmd/consolebench -keep -db /tmp/c.db  # keep the store; -reuse measures it again
//	go run ./bench/cmd/consolebench -db postgres://postgres@127.0.0.1:5432/consolebench?sslmode=disable
//
// Loopback only; the SQLite store lives under $TMPDIR unless -db says otherwise. A PostgreSQL
// -db names a database the benchmark creates (never one that exists) and drops unless -keep.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/saleassist-pipeline/pipeline/internal/redact"
	"github.com/saleassist-pipeline/pipeline/pkg/store/postgres"
)

func main() {
	var (
		leads   = flag.Int("leads", 1_000_000, "leads to generate")
		events  = flag.Int("events", 3_000_000, "events to generate (spread over the leads)")
		db      = flag.String("db", "", "the store: a SQLite file (empty = a temporary one), or postgres://…/NAME, a database to create")
		keep    = flag.Bool("keep", false, "keep the store afterwards")
		reuse   = flag.Bool("reuse", false, "measure the store at -db as it is, without generating")
		measure = flag.Bool("measure", false, "(internal) measure the store at -db in this process")
		n       = flag.Int("n", 100, "requests per measurement")
	)
	flag.Parse()
	ctx := context.Background()
	if *measure {
		if err := runMeasure(ctx, *db, *n); err != nil {
			fmt.Fprintln(os.Stderr, "consolebench:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(ctx, *db, *leads, *events, *keep, *reuse, *n); err != nil {
		fmt.Fprintln(os.Stderr, "consolebench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, db string, leads, events int, keep, reuse bool, n int) error {
	if postgres.IsURL(db) {
		return runPostgres(ctx, db, leads, events, keep, reuse, n)
	}
	if db == "" {
		if reuse {
			return fmt.Errorf("-reuse needs -db")
		}
		dir, err := os.MkdirTemp("", "consolebench-")
		if err != nil {
			return err
		}
		if !keep {
			defer os.RemoveAll(dir)
		}
		db = filepath.Join(dir, "leads.db")
	}
	if !reuse {
		start := time.Now()
		if err := generateSQLite(ctx, db, leads, events); err != nil {
			return err
		}
		fi, _ := os.Stat(db)
		fmt.Printf("generated %d leads and %d events into %s in %s (%.0f MiB)\n",
			leads, events, db, time.Since(start).Round(time.Second), float64(fi.Size())/(1<<20))
	}
	if err := measureApart(ctx, db, n); err != nil {
		return err
	}
	if keep {
		fmt.Printf("kept %s\n", db)
	}
	return nil
}

// runPostgres is run for a PostgreSQL -db: create the database, fill it, measure, drop it.
func runPostgres(ctx context.Context, db string, leads, events int, keep, reuse bool, n int) (err error) {
	safe := redact.URL(db)
	if !reuse {
		if err := createDatabase(ctx, db); err != nil {
			return err
		}
		if !keep {
			defer func() {
				if derr := dropDatabase(context.Background(), db); derr != nil {
					err = errors.Join(err, fmt.Errorf("drop the benchmark's database: %w", derr))
				} else {
					fmt.Printf("dropped %s\n", safe)
				}
			}()
		}
		start := time.Now()
		if err := generatePostgres(ctx, db, leads, events); err != nil {
			return err
		}
		size, err := databaseSize(ctx, db)
		if err != nil {
			return err
		}
		fmt.Printf("generated %d leads and %d events into %s in %s (%.0f MiB)\n",
			leads, events, safe, time.Since(start).Round(time.Second), float64(size)/(1<<20))
	}
	if err := measureApart(ctx, db, n); err != nil {
		return err
	}
	if keep {
		fmt.Printf("kept %s\n", safe)
	}
	return nil
}

// measureApart measures db in a fresh process: its resident memory is then the console's, not
// the generator's.
func measureApart(ctx context.Context, db string, n int) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, self, "-measure", "-db", db, "-n", fmt.Sprint(n))
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("measure: %w", err)
	}
	return nil
}
