package ctl

import (
	"context"

	"github.com/saleassist-pipeline/pipeline/pkg/admin"
)

// AccountsDisableCommand is `ingestctl accounts disable ID` (or, with disable false, `enable
// ID`): a disabled account's URL answers 404; its data stays.
type AccountsDisableCommand struct {
	*CLI
	disable bool
}

// Run runs the command.
func (c *AccountsDisableCommand) Run(ctx context.Context, args []string) error {
	name, about, done := "accounts enable", "Enables the account again.", "enabled"
	if c.disable {
		name, about, done = "accounts disable", "Disables the account: its URL answers 404; its data stays, and what is queued is still stored.",
			"disabled (its URL answers 404; its data stays)"
	}
	fs := newFlags(name, "ID [-json]", about)
	jsonOut := fs.Bool("json", false, "print JSON")
	return c.withAccount(fs, args, func(ops *admin.Ops, id string) error {
		v, err := ops.SetDisabled(ctx, id, c.disable)
		if err != nil {
			return err
		}
		return c.changed(v, *jsonOut, done)
	})
}
