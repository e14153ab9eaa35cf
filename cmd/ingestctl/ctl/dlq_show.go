package ctl

import (
	"context"
	"fmt"
	"sort"

	"github.com/saleassist-pipeline/pipeline/pkg/admin"
)

// DLQShowCommand is `ingestctl dlq show ID`: the event's body as stored on stdout, its headers
// (why it was dead-lettered) on stderr.
type DLQShowCommand struct{ *CLI }

// Run runs the command.
func (c *DLQShowCommand) Run(ctx context.Context, args []string) error {
	fs := newFlags("dlq show", "ID", "Prints dead letter ID's event body exactly as stored on stdout (to save, edit and replay\nwith --body), and its headers, with why it was dead-lettered, on stderr.")
	id, err := deadLetters.id(fs, args)
	if err != nil {
		return err
	}
	return c.withOps(func(ops *admin.Ops) error {
		m, err := ops.DeadLetterMsg(ctx, id)
		if err != nil {
			return err
		}
		keys := make([]string, 0, len(m.Header))
		for k := range m.Header {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(c.Stderr, "%s: %s\n", k, m.Header.Get(k))
		}
		_, err = c.Stdout.Write(m.Data)
		return err
	})
}
