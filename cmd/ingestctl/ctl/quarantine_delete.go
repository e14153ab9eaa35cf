package ctl

import (
	"context"
	"fmt"

	"github.com/saleassist-pipeline/pipeline/pkg/admin"
)

// QuarantineDeleteCommand is `ingestctl quarantine delete ID`: the request dropped for good.
type QuarantineDeleteCommand struct{ *CLI }

// Run runs the command.
func (c *QuarantineDeleteCommand) Run(ctx context.Context, args []string) error {
	fs := newFlags("quarantine delete", "ID", "Drops quarantine entry ID for good.")
	id, err := quarantine.id(fs, args)
	if err != nil {
		return err
	}
	return c.withOps(func(ops *admin.Ops) error {
		if err := ops.DeleteQuarantined(ctx, id); err != nil {
			return err
		}
		fmt.Fprintf(c.Stdout, "deleted quarantine entry %d\n", id)
		return nil
	})
}
