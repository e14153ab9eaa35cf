package ctl

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/saleassist-pipeline/pipeline/pkg/admin"
)

// QuarantineListCommand is `ingestctl quarantine list [--account ID] [--json]`: the
// authenticated requests the ingest could not accept.
type QuarantineListCommand struct{ *CLI }

// Run runs the command.
func (c *QuarantineListCommand) Run(ctx context.Context, args []string) error {
	fs := newFlags("quarantine list", "[--account ID] [--json]", "The authenticated requests the ingest could not accept, oldest first, with why.")
	acct := fs.String("account", "", "that account's entries only (every account's by default)")
	jsonOut := fs.Bool("json", false, "print JSON")
	if _, err := fs.parse(args, 0); err != nil {
		return err
	}
	return c.withOps(func(ops *admin.Ops) error {
		entries, err := ops.ForAccount(*acct).Quarantine(ctx)
		if err != nil {
			return err
		}
		return listing(c.CLI, *jsonOut, entries, "ID\tACCOUNT\tRECEIVED\tREASON\tBYTES\tERROR", func(w io.Writer, e admin.QuarantineEntry) {
			fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%d\t%s\n", e.ID, e.Account, e.ReceivedAt.Format(time.RFC3339), e.Reason, e.Bytes, clip(e.Error, 100))
		}, fmt.Sprintf("%d in quarantine", len(entries)))
	})
}
