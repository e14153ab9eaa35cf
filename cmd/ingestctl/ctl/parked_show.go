package ctl

import (
	"context"
	"fmt"
	"sort"

	"github.com/saleassist-pipeline/pipeline/pkg/admin"
)

// ParkedShowCommand is `ingestctl dlq show ID` and `ingestctl quarantine show ID`: the body
// exactly as kept on stdout, to save, fix and replay with --body; a dead letter's headers (why
// it was dead-lettered) on stderr.
type ParkedShowCommand struct {
	*CLI
	parked
}

// Run runs the command.
func (c *ParkedShowCommand) Run(ctx context.Context, args []string) error {
	fs := newFlags(c.group+" show", "ID", fmt.Sprintf("Prints %s ID's body exactly as kept on stdout (to save, fix and replay with --body),\nand its headers, if it has any to show, on stderr.", c.noun))
	return c.withEntry(c.CLI, fs, args, func(ops *admin.Ops, id uint64) error {
		body, h, err := c.read(ops, ctx, id)
		if err != nil {
			return err
		}
		keys := make([]string, 0, len(h))
		for k := range h {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(c.Stderr, "%s: %s\n", k, h.Get(k))
		}
		_, err = c.Stdout.Write(body)
		return err
	})
}
