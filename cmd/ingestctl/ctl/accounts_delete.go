package ctl

import (
	"context"
	"fmt"

	"github.com/saleassist-pipeline/pipeline/pkg/admin"
)

// AccountsDeleteCommand is `ingestctl accounts delete ID`: the account's entry and the consumer of
// its events go for good; its leads and events stay in the store.
type AccountsDeleteCommand struct{ *CLI }

// Run runs the command.
func (c *AccountsDeleteCommand) Run(ctx context.Context, args []string) error {
	fs := newFlags("accounts delete", "ID [-settle D] [-json]",
		"Deletes a disabled account whose events are all stored: its entry, then the consumer of its events. Its leads and events stay in the store.")
	settle := fs.Duration("settle", admin.DefaultSettle, "how long every process may take to follow an account change: the account must have been disabled that long, and its consumer is removed that long after its entry (shorter only when no worker runs: a worker that has not seen the entry go would stop at the consumer's removal, to be restarted)")
	jsonOut := fs.Bool("json", false, "print JSON")
	return c.withAccount(fs, args, func(ops *admin.Ops, id string) error {
		if *settle > 0 {
			fmt.Fprintf(c.Stderr, "ingestctl: deleting account %s; its consumer goes %s after its entry\n", id, *settle)
		}
		d, err := ops.DeleteAccount(ctx, id, *settle)
		if err != nil {
			return err
		}
		return c.output(*jsonOut, d, func() error {
			what := "its entry"
			switch {
			case d.Entry && d.Consumer != "":
				what = "its entry and the consumer of its events (" + d.Consumer + ")"
			case !d.Entry:
				what = "the consumer of its events left behind (" + d.Consumer + ")"
			}
			_, err := fmt.Fprintf(c.Stdout, "account %s deleted: %s; its leads and events stay in the store (ingestctl prune -account %s removes them by age)\n", d.ID, what, d.ID)
			return err
		})
	})
}
