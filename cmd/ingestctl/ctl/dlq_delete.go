package ctl

import (
	"context"
	"fmt"

	"github.com/saleassist-pipeline/pipeline/pkg/admin"
)

// DLQDeleteCommand is `ingestctl dlq delete ID`: the dead letter dropped for good, without the
// record `dlq discard` keeps.
type DLQDeleteCommand struct{ *CLI }

// Run runs the command.
func (c *DLQDeleteCommand) Run(ctx context.Context, args []string) error {
	fs := newFlags("dlq delete", "ID", "Drops dead letter ID for good, without a record (dlq discard keeps one, with a reason).")
	id, err := deadLetters.id(fs, args)
	if err != nil {
		return err
	}
	return c.withOps(func(ops *admin.Ops) error {
		if err := ops.DeleteDeadLetter(ctx, id); err != nil {
			return err
		}
		fmt.Fprintf(c.Stdout, "deleted dead letter %d\n", id)
		return nil
	})
}
