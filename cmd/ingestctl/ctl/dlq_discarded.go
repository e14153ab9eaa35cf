package ctl

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/saleassist-pipeline/pipeline/pkg/admin"
)

// DLQDiscardedCommand is `ingestctl dlq discarded [--account ID] [--json]`: the dead letters
// operators gave up on, with their reasons.
type DLQDiscardedCommand struct{ *CLI }

// Run runs the command.
func (c *DLQDiscardedCommand) Run(ctx context.Context, args []string) error {
	fs := newFlags("dlq discarded", "[--account ID] [--json]", "The discarded dead letters, oldest first, with the reasons they were given up on.")
	acct := fs.String("account", "", "that account's only (every account's by default)")
	jsonOut := fs.Bool("json", false, "print JSON")
	if _, err := fs.parse(args, 0); err != nil {
		return err
	}
	return c.withOps(func(ops *admin.Ops) error {
		list, err := ops.ForAccount(*acct).DiscardedDeadLetters(ctx)
		if err != nil {
			return err
		}
		return listing(c.CLI, *jsonOut, list, "WAS\tACCOUNT\tEVENT\tTYPE\tDLQ REASON\tDISCARDED\tWHY", func(w io.Writer, d admin.Discarded) {
			fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", d.ID, d.Account, d.EventID, d.EventType, d.Reason, d.DiscardedAt.Format(time.RFC3339), clip(d.DiscardReason, 100))
		}, plural(len(list), "discarded dead letter"))
	})
}
