package ctl

import (
	"context"
	"fmt"

	"github.com/saleassist-pipeline/pipeline/pkg/account"
	"github.com/saleassist-pipeline/pipeline/pkg/admin"
)

// AccountsRotateSecretCommand is `ingestctl accounts rotate-secret ID [-drop-old] [-json]`: a
// new webhook secret beside the old ones, then (-drop-old) the newest alone.
type AccountsRotateSecretCommand struct{ *CLI }

// Run runs the command.
func (c *AccountsRotateSecretCommand) Run(ctx context.Context, args []string) error {
	fs := newFlags("accounts rotate-secret", "ID [-drop-old] [-json]",
		"Adds a new webhook secret (shown once); the old one still works, so SaleAssist can be switched\nover. With -drop-old, only the newest is accepted from then on.")
	dropOld := fs.Bool("drop-old", false, "accept only the newest secret")
	jsonOut := fs.Bool("json", false, "print JSON")
	return c.withAccount(fs, args, func(ops *admin.Ops, id string) error {
		r, err := ops.RotateSecret(ctx, id, *dropOld)
		switch {
		case err != nil:
			return err
		case *jsonOut:
			return c.printJSON(r)
		case !*dropOld:
			fmt.Fprintf(c.Stdout, "account %s: new secret (shown this once; the old one still works until `ingestctl accounts rotate-secret %s -drop-old`):\n%s\n", id, id, r.Secret)
			return nil
		}
		fmt.Fprintf(c.Stdout, "account %s: old secrets dropped; only the newest is accepted now\n", id)
		if id == account.Default {
			fmt.Fprintln(c.Stdout, "(the ingest's WEBHOOK_SECRETS are still accepted: remove them from its environment)")
		}
		return nil
	})
}
