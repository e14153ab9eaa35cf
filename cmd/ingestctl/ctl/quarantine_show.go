package ctl

import (
	"context"

	"github.com/saleassist-pipeline/pipeline/pkg/admin"
)

// QuarantineShowCommand is `ingestctl quarantine show ID`: the request's body exactly as
// received.
type QuarantineShowCommand struct{ *CLI }

// Run runs the command.
func (c *QuarantineShowCommand) Run(ctx context.Context, args []string) error {
	fs := newFlags("quarantine show", "ID", "Prints quarantine entry ID's body exactly as received (to save, fix and replay with --body).")
	id, err := quarantine.id(fs, args)
	if err != nil {
		return err
	}
	return c.withOps(func(ops *admin.Ops) error {
		q, err := ops.QuarantinedEntry(ctx, id)
		if err != nil {
			return err
		}
		_, err = c.Stdout.Write(q.Body)
		return err
	})
}
