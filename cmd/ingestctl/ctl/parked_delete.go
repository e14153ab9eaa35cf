package ctl

import (
	"context"
	"fmt"

	"github.com/saleassist-pipeline/pipeline/pkg/admin"
)

// ParkedDeleteCommand is `ingestctl dlq delete ID` and `ingestctl quarantine delete ID`: the
// entry dropped for good, without a record (`dlq discard` keeps one, with a reason).
type ParkedDeleteCommand struct {
	*CLI
	parked
}

// Run runs the command.
func (c *ParkedDeleteCommand) Run(ctx context.Context, args []string) error {
	fs := newFlags(c.group+" delete", "ID", fmt.Sprintf("Drops %s ID for good, without a record.", c.noun))
	return c.withEntry(c.CLI, fs, args, func(ops *admin.Ops, id uint64) error {
		if err := c.delete(ops, ctx, id); err != nil {
			return err
		}
		fmt.Fprintf(c.Stdout, "deleted %s %d\n", c.noun, id)
		return nil
	})
}
