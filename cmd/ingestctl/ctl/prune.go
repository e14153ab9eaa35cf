package ctl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/saleassist-pipeline/pipeline/pkg/account"
	"github.com/saleassist-pipeline/pipeline/pkg/admin"
	"github.com/saleassist-pipeline/pipeline/pkg/store"
)

// PruneCommand is `ingestctl prune -account ID [-events-days N] [-leads-days N] [-dry-run]
// [-json]`. Days not given come from the account's retention in the accounts bucket (NATS).
type PruneCommand struct{ *CLI }

// Run runs the command.
func (c *PruneCommand) Run(ctx context.Context, args []string) error {
	fs := newFlags("prune", "-account ID [-events-days N] [-leads-days N] [-dry-run] [-json]",
		"Removes the account's events older than N days, and leads not updated in N days with their\n"+
			"events and meetings (days not given: the account's retention); events of the last 7 days\n"+
			"(the retry horizon) always stay.")
	acct := fs.String("account", "", "the account whose rows to prune (required)")
	eventsDays := fs.Int("events-days", -1, "remove events older than `N` days (0 keeps them)")
	leadsDays := fs.Int("leads-days", -1, "remove leads not updated in `N` days (0 keeps them)")
	dryRun := fs.Bool("dry-run", false, "count what would go, remove nothing")
	jsonOut := fs.Bool("json", false, "print JSON")
	if _, err := fs.parse(args, 0); err != nil {
		return err
	}
	if err := account.ValidID(*acct); err != nil {
		return fs.fail("prune: -account: %v (the account whose rows to prune; %q for the rows from before accounts)", err, account.Default)
	}
	from := "flags"
	if *eventsDays < 0 || *leadsDays < 0 {
		e, l, err := c.retention(ctx, *acct)
		if err != nil {
			return fmt.Errorf("prune: -events-days and -leads-days not both given, and the account's retention could not be read: %w. Give both (0 keeps that kind)", err)
		}
		from = "account"
		if *eventsDays < 0 {
			*eventsDays = e
		}
		if *leadsDays < 0 {
			*leadsDays = l
		}
	}
	if *eventsDays == 0 && *leadsDays == 0 {
		return fs.fail("prune: nothing to prune for %s: give -events-days N and/or -leads-days N, or set the account's retention (retain_events_days, retain_leads_days)", *acct)
	}
	r, err := c.prune(ctx, *acct, *eventsDays, *leadsDays, *dryRun)
	if err != nil {
		return err
	}
	r.From = from
	return c.output(*jsonOut, r, func() error { return printPrune(c.Stdout, r) })
}

func (c *PruneCommand) prune(ctx context.Context, acct string, eventsDays, leadsDays int, dryRun bool) (admin.PruneReport, error) {
	st, err := c.openStore(ctx)
	if err != nil {
		return admin.PruneReport{}, err
	}
	defer st.Close()
	p, ok := st.(store.Pruner)
	if !ok {
		return admin.PruneReport{}, fmt.Errorf("prune: the store %T cannot prune", st)
	}
	return admin.Prune(ctx, p, acct, eventsDays, leadsDays, dryRun)
}

// retention reads the account's RetainEventsDays and RetainLeadsDays from the accounts bucket.
func (c *PruneCommand) retention(ctx context.Context, acct string) (events, leads int, err error) {
	err = c.withOps(func(ops *admin.Ops) error {
		v, err := ops.Account(ctx, acct)
		if errors.Is(err, account.ErrNotFound) {
			return fmt.Errorf("no account %q (ingestctl accounts list)", acct)
		}
		events, leads = v.RetainEventsDays, v.RetainLeadsDays
		return err
	})
	return events, leads, err
}

// printPrune says what prune removed and what it kept.
func printPrune(w io.Writer, r admin.PruneReport) error {
	day := func(t time.Time) string { return t.Format("2006-01-02 15:04 MST") }
	verb := "removed"
	if r.DryRun {
		verb = "would remove (dry run: nothing removed)"
	}
	fmt.Fprintf(w, "account %s (retention from %s: %s)\n", r.Account, r.From,
		retention(admin.AccountView{RetainEventsDays: r.EventsDays, RetainLeadsDays: r.LeadsDays}))
	fmt.Fprintf(w, "%s: %s (with their %s and %s), %s by age\n", verb, plural(int(r.Leads), "lead"),
		plural(int(r.LeadEvents), "event"), plural(int(r.Meetings), "meeting"), plural(int(r.Events), "event"))
	if !r.LeadsBefore.IsZero() {
		fmt.Fprintf(w, "kept: every lead updated since %s or with an event stored since then\n", day(r.LeadsBefore))
	} else {
		fmt.Fprintln(w, "kept: every lead")
	}
	if !r.EventsBefore.IsZero() {
		fmt.Fprintf(w, "kept: every event stored since %s\n", day(r.EventsBefore))
	} else {
		fmt.Fprintln(w, "kept: every event not of a removed lead")
	}
	fmt.Fprintf(w, "kept: always the events of the last %d days (the retry horizon), so a late copy of one (a SaleAssist retry, a redelivery, a replay) is still a duplicate", r.HorizonDays)
	if (r.EventsDays > 0 && r.EventsDays < r.HorizonDays) || (r.LeadsDays > 0 && r.LeadsDays < r.HorizonDays) {
		fmt.Fprintf(w, "; days under %d were applied as %d", r.HorizonDays, r.HorizonDays)
	}
	_, err := fmt.Fprintln(w)
	return err
}
