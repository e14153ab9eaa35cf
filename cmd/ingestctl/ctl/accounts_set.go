package ctl

import (
	"context"
	"flag"

	"github.com/saleassist-pipeline/pipeline/pkg/admin"
)

// AccountsSetCommand is `ingestctl accounts set ID [-name N] [-client-id C]… [-rate R]
// [-burst B] [-retain-events-days D] [-retain-leads-days D] [-secret-header H] [-json]`: only
// the settings given change.
type AccountsSetCommand struct{ *CLI }

// Run runs the command.
func (c *AccountsSetCommand) Run(ctx context.Context, args []string) error {
	fs := newFlags("accounts set", "ID [-name N] [-client-id C]... [-rate R] [-burst B] [-retain-events-days D] [-retain-leads-days D] [-secret-header H] [-json]",
		"Changes only the settings given; running ingests and workers follow within seconds.")
	var clientIDs listFlag
	name := fs.String("name", "", "its display name")
	fs.Var(&clientIDs, "client-id", "its client ids, `C[,C2]` (repeatable); replaces the list")
	rate := fs.Float64("rate", 0, "webhooks a second it may send")
	burst := fs.Int("burst", 0, "webhooks it may send at once")
	eventsDays := fs.Int("retain-events-days", 0, "prune keeps its events this many days (0: forever)")
	leadsDays := fs.Int("retain-leads-days", 0, "prune keeps its leads this many days (0: forever)")
	header := fs.String("secret-header", "", "the header its secret comes in")
	jsonOut := fs.Bool("json", false, "print JSON")
	id, err := accountID(fs, args)
	if err != nil {
		return err
	}
	var s admin.AccountSettings
	given := map[string]func(){ // a setting not given stays nil: unchanged
		"name": func() { s.Name = name }, "client-id": func() { s.ClientIDs = clientIDs },
		"rate": func() { s.RatePerSecond = rate }, "burst": func() { s.Burst = burst },
		"retain-events-days": func() { s.RetainEventsDays = eventsDays }, "retain-leads-days": func() { s.RetainLeadsDays = leadsDays },
		"secret-header": func() { s.SecretHeader = header },
	}
	n := 0
	fs.Visit(func(f *flag.Flag) {
		if set, ok := given[f.Name]; ok {
			set()
			n++
		}
	})
	if n == 0 {
		return fs.fail("accounts set ID needs at least one of -name, -client-id (repeatable; replaces the list), -rate, -burst, -retain-events-days, -retain-leads-days, -secret-header")
	}
	return c.withOps(func(ops *admin.Ops) error {
		v, err := ops.SetAccount(ctx, id, s)
		if err != nil {
			return err
		}
		return c.changed(v, *jsonOut, "settings changed")
	})
}
