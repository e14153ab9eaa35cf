package ctl

import (
	"context"
	"fmt"
	"os"

	"github.com/saleassist-pipeline/pipeline/pkg/account"
	"github.com/saleassist-pipeline/pipeline/pkg/admin"
)

// AccountsSetMappingCommand is `ingestctl accounts set-mapping ID FILE [-json]`: the account's
// own mapping, checked by the mapping loader before it is stored.
type AccountsSetMappingCommand struct{ *CLI }

// Run runs the command.
func (c *AccountsSetMappingCommand) Run(ctx context.Context, args []string) error {
	fs := newFlags("accounts set-mapping", "ID FILE [-json]", "Gives the account its own mapping (YAML or JSON), checked before it is stored; an empty\nFILE returns it to the ingest's.")
	jsonOut := fs.Bool("json", false, "print JSON")
	pos, err := fs.parse(args, 2)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return fs.fail("accounts set-mapping: want an account ID and a mapping FILE, got %q", pos)
	}
	id, file := pos[0], pos[1]
	if err := account.ValidID(id); err != nil {
		return fs.fail("%v", err)
	}
	content, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("read mapping: %w", err)
	}
	return c.withOps(func(ops *admin.Ops) error {
		v, err := ops.SetMapping(ctx, id, file, content)
		if err != nil {
			return err
		}
		return c.changed(v, *jsonOut, "mapping set from "+file)
	})
}
