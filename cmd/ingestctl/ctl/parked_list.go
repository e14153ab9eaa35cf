package ctl

import (
	"context"
	"io"

	"github.com/saleassist-pipeline/pipeline/pkg/admin"
)

// ParkedListCommand is a listing of parked messages, every account's or one's (--account), as
// a table or JSON: `dlq list`, `dlq discarded` and `quarantine list` (dlq_list.go, …) differ only
// by what they list and how a row reads.
type ParkedListCommand[T any] struct {
	*CLI
	name, about string
	// list is the operation; header and row make the table, count the line after it.
	list   func(*admin.Ops, context.Context) ([]T, error)
	header string
	row    func(io.Writer, T)
	count  func(n int) string
}

// Run runs the command.
func (c *ParkedListCommand[T]) Run(ctx context.Context, args []string) error {
	fs := newFlags(c.name, "[--account ID] [--json]", c.about)
	acct := fs.String("account", "", "that account's entries only (every account's by default)")
	jsonOut := fs.Bool("json", false, "print JSON")
	if _, err := fs.parse(args, 0); err != nil {
		return err
	}
	return c.withOps(func(ops *admin.Ops) error {
		items, err := c.list(ops.ForAccount(*acct), ctx)
		if err != nil {
			return err
		}
		return listing(c.CLI, *jsonOut, items, c.header, c.row, c.count(len(items)))
	})
}
