package ctl

import (
	"context"
	"fmt"

	"github.com/saleassist-pipeline/pipeline/pkg/admin"
)

// AccountsRotateURLCommand is `ingestctl accounts rotate-url ID [-json]`: a new webhook path;
// the old one stops working.
type AccountsRotateURLCommand struct{ *CLI }

// Run runs the command.
func (c *AccountsRotateURLCommand) Run(ctx context.Context, args []string) error {
	fs := newFlags("accounts rotate-url", "ID [-json]", "Gives the account a new webhook path; the old one stops working within seconds.")
	jsonOut := fs.Bool("json", false, "print JSON")
	return c.withAccount(fs, args, func(ops *admin.Ops, id string) error {
		v, err := ops.RotateURL(ctx, id)
		if err != nil {
			return err
		}
		return c.output(*jsonOut, v, func() error {
			_, err := fmt.Fprintf(c.Stdout, "account %s: new webhook path %s\nthe old one stops working within seconds: set the new one in SaleAssist\n", id, v.WebhookPath)
			return err
		})
	})
}
