// Command consolebench measures the console on a store of real size: it fills a SQLite store
// with -leads leads and -events events (bulk inserts straight into the tables, the schema made by
// the store's own migrations), then, in a fresh process so its memory is the console's alone,
// serves the console and measures server time (the handler, not the network) of 100 requests
// each: the first page of /api/leads, the next pages, a search by email, a search by phone, and
// then leads.csv of every lead with the process's resident memory sampled throughout.
//
//	go run ./bench/cmd/consolebench                      # 1,000,000 leads, 3,000,000 events
//	go run ./bench/cmd/consolebench -keep -db /tmp/c.db  # keep the store; -reuse measures it again
//
// Loopback only; the store lives under $TMPDIR unless -db says otherwise.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

func main() {
	var (
		leads   = flag.Int("leads", 1_000_000, "leads to generate")
		events  = flag.Int("events", 3_000_000, "events to generate (spread over the leads)")
		db      = flag.String("db", "", "the store's file; empty = a temporary one")
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
		if err := generate(ctx, db, leads, events); err != nil {
			return err
		}
		fi, _ := os.Stat(db)
		fmt.Printf("generated %d leads and %d events into %s in %s (%.0f MiB)\n",
			leads, events, db, time.Since(start).Round(time.Second), float64(fi.Size())/(1<<20))
	}
	// A fresh process: its resident memory is the console's, not the generator's.
	self, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, self, "-measure", "-db", db, "-n", fmt.Sprint(n))
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("measure: %w", err)
	}
	if keep {
		fmt.Printf("kept %s\n", db)
	}
	return nil
}
