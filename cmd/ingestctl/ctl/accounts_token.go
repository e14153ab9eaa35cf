package ctl

import (
	"context"
	"fmt"

	"github.com/saleassist-pipeline/pipeline/pkg/admin"
)

// AccountsTokenCommand is `ingestctl accounts token ID [-json]`: a new console token for this
// account only, replacing the previous one.
type AccountsTokenCommand struct{ *CLI }

// Run runs the command.
func (c *AccountsTokenCommand) Run(ctx context.Context, args []string) error {
	fs := newFlags("accounts token", "ID [-json]", "A new console token that signs in to this account only ({\"token\": …} with -json),\nreplacing the previous one; shown this once.")
	jsonOut := fs.Bool("json", false, "print JSON")
	return c.withAccount(fs, args, func(ops *admin.Ops, id string) error {
		token, err := ops.ConsoleToken(ctx, id)
		if err != nil {
			return err
		}
		return c.output(*jsonOut, map[string]string{"token": token}, func() error {
			_, err := fmt.Fprintf(c.Stdout, "account %s: console token (shown this once; it replaces the previous one and signs in to this account only):\n%s\n", id, token)
			return err
		})
	})
}
