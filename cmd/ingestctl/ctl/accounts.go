package ctl

import (
	"fmt"
	"strings"

	"github.com/saleassist-pipeline/pipeline/pkg/account"
	"github.com/saleassist-pipeline/pipeline/pkg/admin"
)

// The accounts commands (accounts_*.go) print secrets and tokens to stdout only, once; nothing
// here logs. Their flags and the account id may come in any order.

// accountID parses the command line of an accounts command taking one account ID (and flags).
func accountID(fs *flags, args []string) (string, error) {
	pos, err := fs.parse(args, 1)
	if err != nil {
		return "", err
	}
	if len(pos) == 0 {
		return "", fs.fail("%s: want an account ID (see `ingestctl accounts list`)", fs.name)
	}
	if err := account.ValidID(pos[0]); err != nil {
		return "", fs.fail("%v", err)
	}
	return pos[0], nil
}

// withAccount parses the command line of an accounts command taking one account ID (and
// flags), and runs fn with the ID on the operations.
func (c *CLI) withAccount(fs *flags, args []string, fn func(ops *admin.Ops, id string) error) error {
	id, err := accountID(fs, args)
	if err != nil {
		return err
	}
	return c.withOps(func(ops *admin.Ops) error { return fn(ops, id) })
}

// changed says the account's settings changed, or prints the account as JSON.
func (c *CLI) changed(v admin.AccountView, jsonOut bool, what string) error {
	return c.output(jsonOut, v, func() error {
		_, err := fmt.Fprintf(c.Stdout, "account %s: %s; running ingests and workers follow within seconds\n", v.ID, what)
		return err
	})
}

// listFlag is a repeatable flag whose values may also be comma-separated.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

// Set adds the comma-separated values of s.
func (l *listFlag) Set(s string) error {
	for v := range strings.SplitSeq(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			*l = append(*l, v)
		}
	}
	return nil
}
