package ctl

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/saleassist-pipeline/pipeline/pkg/admin"
)

// DLQListCommand is `ingestctl dlq list [--account ID] [--json]`: the events the workers gave
// up on, with why.
type DLQListCommand struct{ *CLI }

// Run runs the command.
func (c *DLQListCommand) Run(ctx context.Context, args []string) error {
	fs := newFlags("dlq list", "[--account ID] [--json]", "The events the workers gave up on, oldest first, with why.")
	acct := fs.String("account", "", "that account's dead letters only (every account's by default)")
	jsonOut := fs.Bool("json", false, "print JSON")
	if _, err := fs.parse(args, 0); err != nil {
		return err
	}
	return c.withOps(func(ops *admin.Ops) error {
		letters, err := ops.ForAccount(*acct).DeadLetters(ctx)
		if err != nil {
			return err
		}
		return listing(c.CLI, *jsonOut, letters, "ID\tACCOUNT\tEVENT\tTYPE\tREASON\tDELIVERIES\tFIRST FAILURE\tERROR", func(w io.Writer, d admin.DeadLetter) {
			fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", d.ID, d.Account, d.EventID, d.EventType, d.Reason, d.Deliveries,
				d.FirstFailure.Format(time.RFC3339), clip(d.Error, 100))
		}, plural(len(letters), "dead letter"))
	})
}
