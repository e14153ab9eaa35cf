package ctl

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/saleassist-pipeline/pipeline/pkg/account"
	"github.com/saleassist-pipeline/pipeline/pkg/admin"
)

// EventsInvalidCommand is `ingestctl events invalid [--account ID] [--limit N] [--json]`: one
// account's events stored with problems, from the leads database.
type EventsInvalidCommand struct{ *CLI }

// Run runs the command.
func (c *EventsInvalidCommand) Run(ctx context.Context, args []string) error {
	fs := newFlags("events invalid", "[--account ID] [--limit N] [--json]", "An account's events stored with problems (schema violations, a time from the future), newest\nfirst: id, type, received, lead. Reads the leads database (-db / DATABASE_URL, else DATA_DIR/leads.db).")
	acct := fs.String("account", account.Default, "the account whose events to list")
	limit := fs.Int("limit", admin.DefaultInvalidLimit, "list at most `N`")
	jsonOut := fs.Bool("json", false, "print JSON (with the whole text of each problem)")
	if _, err := fs.parse(args, 0); err != nil {
		return err
	}
	if *limit < 1 {
		return fs.fail("events invalid: --limit %d is not a positive number", *limit)
	}
	st, err := c.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := account.ValidID(*acct); err != nil {
		return fs.fail("events invalid: --account: %v", err)
	}
	list, err := admin.InvalidEvents(ctx, st, *acct, *limit)
	if err != nil {
		return err
	}
	return listing(c.CLI, *jsonOut, list, "EVENT\tTYPE\tRECEIVED\tLEAD\tINVALID", func(w io.Writer, e admin.InvalidEvent) {
		lead := "-"
		if e.LeadID != 0 {
			lead = strconv.FormatInt(e.LeadID, 10)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", e.EventID, e.EventType, e.ReceivedAt.Format(time.RFC3339), lead, clip(e.Invalid, 160))
	}, fmt.Sprintf("%s with problems (newest first, at most %d; --json for the whole text)", plural(len(list), "event"), *limit))
}
