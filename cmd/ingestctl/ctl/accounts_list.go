package ctl

import (
	"context"
	"fmt"
	"io"

	"github.com/saleassist-pipeline/pipeline/pkg/admin"
)

// AccountsListCommand is `ingestctl accounts list [-json]`: every account, the default one
// first; never a secret.
type AccountsListCommand struct{ *CLI }

// Run runs the command.
func (c *AccountsListCommand) Run(ctx context.Context, args []string) error {
	fs := newFlags("accounts list", "[-json]", "Every account, the default one first; never secrets.")
	jsonOut := fs.Bool("json", false, "print JSON")
	if _, err := fs.parse(args, 0); err != nil {
		return err
	}
	return c.withOps(func(ops *admin.Ops) error {
		views, err := ops.Accounts(ctx)
		if err != nil {
			return err
		}
		return listing(c.CLI, *jsonOut, views, "ID\tNAME\tCLIENT IDS\tWEBHOOK PATH\tSECRETS\tRATE\tSTATE", func(w io.Writer, v admin.AccountView) {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%g/s\t%s\n", v.ID, v.Name, orAny(v.ClientIDs), v.WebhookPath, secrets(v), v.RatePerSecond, state(v))
		}, plural(len(views), "account"))
	})
}
