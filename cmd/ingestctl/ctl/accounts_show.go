package ctl

import (
	"context"

	"github.com/saleassist-pipeline/pipeline/pkg/admin"
)

// AccountsShowCommand is `ingestctl accounts show ID [-json]`: one account, never its secrets or
// token hashes.
type AccountsShowCommand struct{ *CLI }

// Run runs the command.
func (c *AccountsShowCommand) Run(ctx context.Context, args []string) error {
	fs := newFlags("accounts show", "ID [-json]", "One account's settings; never its secrets or token hashes.")
	jsonOut := fs.Bool("json", false, "print JSON")
	return c.withAccount(fs, args, func(ops *admin.Ops, id string) error {
		v, err := ops.Account(ctx, id)
		if err != nil {
			return err
		}
		return c.output(*jsonOut, v, func() error { return c.printAccount(v) })
	})
}
