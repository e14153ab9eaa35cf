package ctl

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/saleassist-pipeline/pipeline/pkg/admin"
	"github.com/saleassist-pipeline/pipeline/pkg/queue"
)

// StatusCommand is `ingestctl status [--json]`: the streams against their limits, the workers'
// backlog per account, what waits for an operator, and the workers that report.
type StatusCommand struct{ *CLI }

// Run runs the command.
func (c *StatusCommand) Run(ctx context.Context, args []string) error {
	fs := newFlags("status", "[--json]", "The streams against their limits, the consumers' backlog per account, the dead letters\nand quarantined requests waiting, and the workers reporting (paused ones with why).")
	jsonOut := fs.Bool("json", false, "print JSON")
	if _, err := fs.parse(args, 0); err != nil {
		return err
	}
	return c.withOps(func(ops *admin.Ops) error {
		st, err := ops.Status(ctx)
		if err != nil {
			return err
		}
		if !st.Streams[0].Exists {
			// Not "not created yet": most often this is the wrong server (another pipeline's NATS, or
			// a plain one on the default port), not a pipeline that has not started.
			return fmt.Errorf("no pipeline here (%s): its events stream %s does not exist on that server; point ingestctl at the ingest's NATS with -nats-url / NATS_URL or -data-dir", c.server, st.Streams[0].Name)
		}
		return c.output(*jsonOut, st, func() error { return c.printStatus(st, ops.ConsumerName()) })
	})
}

func (c *StatusCommand) printStatus(st admin.Status, consumer string) error {
	err := c.table("STREAM\tMESSAGES\tBYTES\tLIMIT", func(w io.Writer) {
		for _, s := range st.Streams {
			if !s.Exists {
				fmt.Fprintf(w, "%s\t-\t-\tnone yet (made with its first entry)\n", s.Name)
				continue
			}
			fmt.Fprintf(w, "%s\t%d\t%s\t%s\n", s.Name, s.Messages, humanBytes(s.Bytes), limit(s))
		}
	})
	if err != nil {
		return err
	}
	if cs := st.Consumer; cs != nil {
		fmt.Fprintf(c.Stdout, "consumers (%s): pending %d, ack pending %d, redelivered %d, waiting pulls %d\n",
			plural(len(st.Accounts), "account"), cs.Pending, cs.AckPending, cs.Redelivered, cs.WaitingPulls)
		err := c.table("  ACCOUNT\tCONSUMER\tPENDING\tACK PENDING\tREDELIVERED", func(w io.Writer) {
			for _, a := range st.Accounts {
				fmt.Fprintf(w, "  %s\t%s\t%d\t%d\t%d\n", a.Account, a.Name, a.Pending, a.AckPending, a.Redelivered)
			}
		})
		if err != nil {
			return err
		}
	} else {
		fmt.Fprintf(c.Stdout, "consumer %s: not created yet (no worker has started)\n", consumer)
	}
	fmt.Fprintf(c.Stdout, "%s (ingestctl dlq list)\n%s in quarantine (ingestctl quarantine list)\n",
		plural(int(st.DeadLetters), "dead letter"), plural(int(st.Quarantined), "request"))
	printWorkers(c.Stdout, st.Workers, time.Now())
	return nil
}

func limit(s admin.StreamStatus) string {
	if s.MaxBytes <= 0 {
		return "none"
	}
	return fmt.Sprintf("%s (%.1f%% used)", humanBytes(uint64(s.MaxBytes)), 100*float64(s.Bytes)/float64(s.MaxBytes))
}

// printWorkers says how many workers report, and for each paused one since when and why.
func printWorkers(w io.Writer, workers []queue.WorkerState, now time.Time) {
	paused := 0
	for _, s := range workers {
		if s.Paused {
			paused++
		}
	}
	fmt.Fprintf(w, "%s reporting: %d consuming, %d paused\n", plural(len(workers), "worker"), len(workers)-paused, paused)
	for _, s := range workers {
		if s.Paused {
			fmt.Fprintf(w, "  %s: paused since %s (%s ago), the store is unavailable (%s): %s\n",
				s.ID, s.PausedSince.Format(time.RFC3339), now.Sub(s.PausedSince).Round(time.Second), s.Reason, clip(s.Error, 160))
		}
	}
}
