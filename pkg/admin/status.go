package admin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/saleassist-pipeline/pipeline/pkg/account"
	"github.com/saleassist-pipeline/pipeline/pkg/queue"
)

// Status is what `ingestctl status` reports and the console's stats show (Ops.Status).
type Status struct {
	Streams []StreamStatus `json:"streams"`
	// Consumer is the workers' backlog over every account's consumer (their sums), named after
	// the default account's; nil before any worker made one.
	Consumer *ConsumerStatus `json:"consumer,omitempty"`
	// Accounts is each account's consumer, the default account first.
	Accounts []AccountConsumerStatus `json:"accounts,omitempty"`
	// DeadLetters and Quarantined count the entries waiting for an operator.
	DeadLetters uint64 `json:"dead_letters"`
	Quarantined uint64 `json:"quarantined"`
	// Workers are the workers that reported in the last queue.WorkersTTL: consuming, or paused
	// (since when, why).
	Workers []queue.WorkerState `json:"workers"`
}

// StreamStatus is one stream's size against its limit.
type StreamStatus struct {
	Name     string `json:"name"`
	Exists   bool   `json:"exists"`
	Messages uint64 `json:"messages"`
	Bytes    uint64 `json:"bytes"`
	MaxBytes int64  `json:"max_bytes"`
}

// ConsumerStatus is the shared worker consumer's backlog.
type ConsumerStatus struct {
	Name         string `json:"name"`
	Pending      uint64 `json:"pending"`
	AckPending   int    `json:"ack_pending"`
	Redelivered  int    `json:"redelivered"`
	WaitingPulls int    `json:"waiting_pulls"`
}

// AccountConsumerStatus is one account's consumer: its events' backlog.
type AccountConsumerStatus struct {
	Account string `json:"account"`
	ConsumerStatus
}

// consumers reads every account's consumer on the events stream (queue.Config.ConsumerAccount
// names them) and their sum; nil and none when no worker has made one yet.
func (o *Ops) consumers(ctx context.Context) (*ConsumerStatus, []AccountConsumerStatus, error) {
	s, err := o.js.Stream(ctx, o.cfg.Stream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("stream %s: %w", o.cfg.Stream, err)
	}
	var accts []AccountConsumerStatus
	infos := s.ListConsumers(ctx)
	for info := range infos.Info() {
		id, ok := o.cfg.ConsumerAccount(info.Name)
		if !ok {
			continue // not a worker's (an operator's own consumer)
		}
		accts = append(accts, AccountConsumerStatus{Account: id, ConsumerStatus: ConsumerStatus{Name: info.Name,
			Pending: info.NumPending, AckPending: info.NumAckPending, Redelivered: info.NumRedelivered, WaitingPulls: info.NumWaiting}})
	}
	if err := infos.Err(); err != nil {
		return nil, nil, fmt.Errorf("consumers of %s: %w", o.cfg.Stream, err)
	}
	if len(accts) == 0 {
		return nil, nil, nil
	}
	sort.Slice(accts, func(i, j int) bool {
		a, b := accts[i].Account, accts[j].Account
		return a == account.Default || b != account.Default && a < b
	})
	sum := &ConsumerStatus{Name: o.cfg.Consumer}
	for _, a := range accts {
		sum.Pending += a.Pending
		sum.AckPending += a.AckPending
		sum.Redelivered += a.Redelivered
		sum.WaitingPulls += a.WaitingPulls
	}
	return sum, accts, nil
}

func (c *CLI) status(ctx context.Context, args []string) error {
	jsonOut := false
	for _, a := range args {
		if a != "--json" {
			return usageError{fmt.Sprintf("status: unexpected argument %q", a)}
		}
		jsonOut = true
	}
	closeConn, err := c.connect()
	if err != nil {
		return err
	}
	defer closeConn()
	st, err := c.ops.Status(ctx)
	if err != nil {
		return err
	}
	if !st.Streams[0].Exists {
		// Not "not created yet": most often this is the wrong server (another pipeline's NATS, or
		// a plain one on the default port), not a pipeline that has not started.
		return fmt.Errorf("no pipeline here (%s): its events stream %s does not exist on that server; point ingestctl at the ingest's NATS with -nats-url / NATS_URL or -data-dir", c.server, st.Streams[0].Name)
	}
	if jsonOut {
		return c.printJSON(st)
	}
	tw := tabwriter.NewWriter(c.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STREAM\tMESSAGES\tBYTES\tLIMIT")
	for _, s := range st.Streams {
		if !s.Exists {
			fmt.Fprintf(tw, "%s\t-\t-\tnone yet (made with its first entry)\n", s.Name)
			continue
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", s.Name, s.Messages, HumanBytes(s.Bytes), limit(s))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if cs := st.Consumer; cs != nil {
		fmt.Fprintf(c.Stdout, "consumers (%s): pending %d, ack pending %d, redelivered %d, waiting pulls %d\n",
			plural(len(st.Accounts), "account"), cs.Pending, cs.AckPending, cs.Redelivered, cs.WaitingPulls)
		tw := tabwriter.NewWriter(c.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  ACCOUNT\tCONSUMER\tPENDING\tACK PENDING\tREDELIVERED")
		for _, a := range st.Accounts {
			fmt.Fprintf(tw, "  %s\t%s\t%d\t%d\t%d\n", a.Account, a.Name, a.Pending, a.AckPending, a.Redelivered)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(c.Stdout, "consumer %s: not created yet (no worker has started)\n", c.ops.ConsumerName())
	}
	fmt.Fprintf(c.Stdout, "%s (ingestctl dlq list)\n%s in quarantine (ingestctl quarantine list)\n",
		plural(int(st.DeadLetters), "dead letter"), plural(int(st.Quarantined), "request"))
	printWorkers(c.Stdout, st.Workers, time.Now())
	return nil
}

func limit(s StreamStatus) string {
	if s.MaxBytes <= 0 {
		return "none"
	}
	return fmt.Sprintf("%s (%.1f%% used)", HumanBytes(uint64(s.MaxBytes)), 100*float64(s.Bytes)/float64(s.MaxBytes))
}

// HumanBytes is n in binary units: "512 B", "5.8 KiB", "1.0 GiB".
func HumanBytes(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
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
