package ctl

import (
	"context"
	"fmt"

	"github.com/saleassist-pipeline/pipeline/pkg/admin"
)

// DLQDiscardCommand is `ingestctl dlq discard ID --reason TEXT`: the operator gives up on a dead
// letter, which is recorded with the reason (dlq discarded) and removed.
type DLQDiscardCommand struct{ *CLI }

// Run runs the command.
func (c *DLQDiscardCommand) Run(ctx context.Context, args []string) error {
	fs := newFlags("dlq discard", "ID --reason TEXT", "Gives up on dead letter ID: it is recorded with the reason (see dlq discarded), then removed.")
	reason := fs.String("reason", "", "why the event is given up on, in quotes (required)")
	fs.require("reason", "TEXT: why the event is given up on is recorded with it")
	return deadLetters.withEntry(c.CLI, fs, args, func(ops *admin.Ops, id uint64) error {
		d, err := ops.DiscardDeadLetter(ctx, id, *reason)
		if err != nil {
			return err
		}
		fmt.Fprintf(c.Stdout, "discarded dead letter %d (event %s): %s\n", id, d.EventID, d.DiscardReason)
		return nil
	})
}
