// Command scaleout drains a pre-filled stream with 1, 2 and 4 worker hosts (-workers) on the hosts lab
// (each part in its own network namespace, held to its own CPU quota) and prints events/s, each
// host's CPU per event and busy share, which host is full first, and the targets; it draws the
// curve into docs/scaleout.svg. Without the lab (no root, no cgroup v1), it says so in one line
// and measures nothing (under CI=true it fails). See bench/README.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/saleassist-pipeline/pipeline/bench/scaleout"
	"github.com/saleassist-pipeline/pipeline/bench/workerbench"
	"github.com/saleassist-pipeline/pipeline/internal/lab"
)

func main() {
	var o scaleout.Options
	var workers, pgSettings, picture string
	flag.IntVar(&o.Events, "events", 40_000, "events per drain, each about a person of its own (enough that four workers' measured window holds several seconds)")
	flag.StringVar(&workers, "workers", "1,2,4", "worker host counts to drain with (8 fits the 2 cores only with -worker-cores 0.1, whose drains vary too much to compare)")
	flag.IntVar(&o.Rounds, "rounds", 3, "drains per worker count; medians are reported")
	flag.Float64Var(&o.WorkerCores, "worker-cores", 0.2, "CPU quota of each worker host, in cores")
	flag.Float64Var(&o.StoreCores, "store-cores", 0.9, "CPU quota of the PostgreSQL host (at the defaults it stays below it with 4 workers)")
	flag.Float64Var(&o.NATSCores, "nats-cores", 0.25, "CPU quota of the NATS host")
	flag.BoolVar(&o.HotKey, "hot-key", true, "add a drain whose events are all about one person")
	flag.BoolVar(&o.Returning, "returning", false, "every person sends two events, the second half of the stream repeating the first half's people: half the events update a lead and its meeting")
	flag.StringVar(&pgSettings, "pg-settings", "", "extra PostgreSQL settings for the store host, name=value,…")
	flag.StringVar(&o.LabPrefix, "lab-prefix", "sabnch", "the lab's name prefix (1-6 of a-z0-9); give concurrent runs different ones")
	subnet := flag.String("lab-subnet", "10.211.7.0/24", "the lab's own IPv4 /24; give concurrent runs different ones")
	profile := flag.Bool("pg-profile", false, "after each drain, print the store's statements (pg_stat_statements), WAL by record kind (pg_waldump) and relation sizes")
	flag.StringVar(&picture, "picture", "docs/scaleout.svg", "where to draw the curve, relative to the module root (.svg or .png); empty: none")
	baselines := flag.String("baseline", "", "git revisions (comma-separated) to build cmd/worker at and measure the store's CPU and WAL per event against, drain by drain in turn (make bench-storecost)")
	flag.Parse()
	for _, f := range strings.Split(workers, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			fmt.Fprintf(os.Stderr, "scaleout: -workers %q: a comma-separated list of counts ≥ 1\n", workers)
			os.Exit(2)
		}
		o.Workers = append(o.Workers, n)
	}
	var err error
	if o.Subnet, err = netip.ParsePrefix(*subnet); err != nil {
		fmt.Fprintf(os.Stderr, "scaleout: -lab-subnet %q: %v\n", *subnet, err)
		os.Exit(2)
	}
	if pgSettings != "" {
		o.PGSettings = strings.Split(pgSettings, ",")
	}
	if err := lab.Available(); err != nil {
		if os.Getenv("CI") == "true" {
			fmt.Fprintln(os.Stderr, "scaleout: FAILED: CI=true and the hosts lab cannot run:", err)
			os.Exit(1)
		}
		fmt.Fprintf(os.Stderr, "scaleout: skipped: %v; `make bench-worker` measures worker processes sharing the machine's cores instead\n", err)
		return
	}
	if b := o.Budget(); b >= 2 {
		fmt.Fprintf(os.Stderr, "scaleout: the quotas add up to %.2g cores at the largest worker count; keep them under the machine's 2, or the box becomes the limit\n", b)
		os.Exit(2)
	}
	o.Out, o.Progress = os.Stdout, os.Stderr
	if *profile {
		o.Profile = os.Stdout
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	start := time.Now()
	var dirs []string
	err = buildBaselines(ctx, *baselines, &o, &dirs)
	var rep *scaleout.Report
	if err == nil {
		rep, err = scaleout.Run(ctx, o)
	}
	for _, d := range dirs {
		_ = os.RemoveAll(d)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "scaleout: FAILED:", err)
		os.Exit(1)
	}
	rep.Write(os.Stdout)
	rep.WriteStoreCost(os.Stdout)
	if picture != "" {
		if !filepath.IsAbs(picture) {
			root, err := workerbench.FindModuleRoot()
			if err != nil {
				fmt.Fprintln(os.Stderr, "scaleout:", err)
				os.Exit(1)
			}
			picture = filepath.Join(root, picture)
		}
		if err := rep.Plot(picture); err != nil {
			fmt.Fprintln(os.Stderr, "scaleout: picture:", err)
			os.Exit(1)
		}
		fmt.Fprintln(os.Stderr, "scaleout: curve drawn in", picture)
	}
	fmt.Fprintf(os.Stderr, "scaleout: done in %s\n", time.Since(start).Round(time.Second))
}

// buildBaselines builds cmd/worker at each of the comma-separated revisions revs into o's
// baselines; dirs gets the directories to remove afterwards.
func buildBaselines(ctx context.Context, revs string, o *scaleout.Options, dirs *[]string) error {
	if revs == "" {
		return nil
	}
	root, err := workerbench.FindModuleRoot()
	if err != nil {
		return err
	}
	for _, rev := range strings.Split(revs, ",") {
		b, dir, err := scaleout.BuildWorkerAt(ctx, root, strings.TrimSpace(rev))
		if dir != "" {
			*dirs = append(*dirs, dir)
		}
		if err != nil {
			return fmt.Errorf("-baseline: %w", err)
		}
		fmt.Fprintf(os.Stderr, "scaleout: baseline %s built\n", b.Name)
		o.Baselines = append(o.Baselines, b)
	}
	return nil
}
