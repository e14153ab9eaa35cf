// Command workerbench times the real worker against a naive one-transaction-per-event baseline
// draining a pre-filled JetStream backlog, and how the worker scales with payload size and worker
// count. Loopback only: an embedded NATS server and SQLite files in a temporary directory. Tables
// go to stdout, progress to stderr. See bench/workerbench/README.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/saleassist-pipeline/pipeline/bench/workerbench"
)

func main() {
	var o workerbench.Options
	var profile bool
	var profileOut string
	flag.IntVar(&o.Events, "events", 50_000, "events pre-filled per real/naive drain")
	flag.IntVar(&o.ScaleEvents, "scale-events", 5_000, "events per scaling drain: payload sizes (capped at ~128 MB of payload) and 1/2/4 workers")
	flag.IntVar(&o.Rounds, "rounds", 3, "real/naive rounds (the order alternates; medians are reported)")
	flag.BoolVar(&o.SkipScaling, "skip-scaling", false, "run only the real vs naive comparison")
	flag.StringVar(&o.Synchronous, "sqlite-synchronous", "", "the real workers' SQLITE_SYNCHRONOUS (NORMAL or FULL; default: the worker's default)")
	flag.StringVar(&o.AlsoSynchronous, "also-synchronous", "", "add a real drain with this SQLITE_SYNCHRONOUS (NORMAL or FULL) to every round and report its ratio to the real one")
	flag.StringVar(&o.PostgresURL, "pg-url", os.Getenv("TEST_DATABASE_URL"), "PostgreSQL server the PostgreSQL drains create (and drop) one fresh database per drain on; empty or unreachable: that section is skipped, saying so (default: TEST_DATABASE_URL; never a server it was not given)")
	flag.BoolVar(&o.SkipPostgres, "skip-postgres", false, "skip the PostgreSQL section")
	flag.IntVar(&o.PGEvents, "pg-events", 20_000, "events per PostgreSQL drain of 1, 2, 4 one-core worker processes")
	flag.IntVar(&o.PGPerPerson, "pg-per-person", 4, "add one round of 1, 2, 4 one-core PostgreSQL workers where this many events share each person (≤ 1: none)")
	flag.BoolVar(&profile, "profile", false, "write a CPU profile of the first real drain (the whole process: worker and embedded NATS) and of an extra in-process PostgreSQL drain")
	flag.StringVar(&profileOut, "profile-out", "bench/out/worker.cpu.pprof", "where -profile writes, relative to the module root (the PostgreSQL one: the same name with -postgres before .pprof)")
	flag.Parse()
	if profile {
		if filepath.IsAbs(profileOut) {
			o.Profile = profileOut
		} else if root, err := workerbench.FindModuleRoot(); err == nil {
			o.Profile = filepath.Join(root, profileOut)
		} else {
			fmt.Fprintln(os.Stderr, "workerbench:", err)
			os.Exit(1)
		}
		o.PGProfile = strings.TrimSuffix(o.Profile, ".pprof") + "-postgres.pprof"
	}
	o.Out, o.Progress = os.Stdout, os.Stderr
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	start := time.Now()
	if _, err := workerbench.Run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "workerbench: FAILED:", err)
		os.Exit(1)
	}
	if o.Profile != "" {
		fmt.Fprintf(os.Stderr, "workerbench: CPU profile in %s (go tool pprof -top %s)\n", o.Profile, o.Profile)
		if !o.SkipPostgres {
			fmt.Fprintf(os.Stderr, "workerbench: PostgreSQL CPU profile in %s, if that section ran\n", o.PGProfile)
		}
	}
	fmt.Fprintf(os.Stderr, "workerbench: done in %s\n", workerbench.Elapsed(time.Since(start)))
}
