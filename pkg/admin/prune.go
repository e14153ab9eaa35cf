package admin

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/saleassist-pipeline/pipeline/pkg/account"
	"github.com/saleassist-pipeline/pipeline/pkg/store"
)

// PruneReport is what `ingestctl prune` did (or with DryRun would do) to one account's rows.
type PruneReport struct {
	Account string `json:"account"`
	DryRun  bool   `json:"dry_run"`
	// EventsDays and LeadsDays are the retention asked for (0: that kind is not pruned), and
	// From where they came: "flags" or "account".
	EventsDays int    `json:"events_days"`
	LeadsDays  int    `json:"leads_days"`
	From       string `json:"from"`
	// EventsBefore and LeadsBefore are the cutoffs applied: the days asked, moved back to the
	// retry horizon when inside it; zero when that kind is not pruned.
	EventsBefore time.Time `json:"events_before,omitzero"`
	LeadsBefore  time.Time `json:"leads_before,omitzero"`
	// HorizonDays is store.RetryHorizon in days: events younger than that are always kept.
	HorizonDays int `json:"retry_horizon_days"`
	// Removed leads took LeadEvents and Meetings with them; Events went by age.
	Leads      int64 `json:"leads"`
	LeadEvents int64 `json:"lead_events"`
	Meetings   int64 `json:"meetings"`
	Events     int64 `json:"events"`
}

// Prune removes acct's events older than eventsDays and leads older than leadsDays (0: keep that
// kind) from st, or with dryRun only counts them; see store.Pruner for what goes and what stays.
// It is the operation behind `ingestctl prune`; it prints nothing.
func Prune(ctx context.Context, st store.Pruner, acct string, eventsDays, leadsDays int, dryRun bool) (PruneReport, error) {
	q := store.PruneQuery{Account: acct, DryRun: dryRun}
	now := time.Now().UTC()
	if eventsDays > 0 {
		q.EventsBefore = now.AddDate(0, 0, -eventsDays)
	}
	if leadsDays > 0 {
		q.LeadsBefore = now.AddDate(0, 0, -leadsDays)
	}
	res, err := st.Prune(ctx, q)
	if err != nil {
		return PruneReport{}, err
	}
	return PruneReport{Account: res.Query.Account, DryRun: dryRun, EventsDays: eventsDays, LeadsDays: leadsDays,
		EventsBefore: res.Query.EventsBefore, LeadsBefore: res.Query.LeadsBefore,
		HorizonDays: int(store.RetryHorizon / (24 * time.Hour)),
		Leads:       res.Leads, LeadEvents: res.LeadEvents, Meetings: res.Meetings, Events: res.Events}, nil
}

// prune runs `ingestctl prune -account ID [-events-days N] [-leads-days N] [-dry-run] [-json]`.
// Days not given come from the account's retention in the accounts bucket (NATS).
func (c *CLI) prune(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("prune", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var (
		acct                  string
		eventsDays, leadsDays int
		dryRun, jsonOut       bool
	)
	fs.StringVar(&acct, "account", "", "")
	fs.IntVar(&eventsDays, "events-days", -1, "")
	fs.IntVar(&leadsDays, "leads-days", -1, "")
	fs.BoolVar(&dryRun, "dry-run", false, "")
	fs.BoolVar(&jsonOut, "json", false, "")
	if err := fs.Parse(args); err != nil {
		return usageError{fmt.Sprintf("prune: %v", err)}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("prune: unexpected argument %q", fs.Arg(0))}
	}
	if err := account.ValidID(acct); err != nil {
		return usageError{fmt.Sprintf("prune: -account: %v (the account whose rows to prune; %q for the rows from before accounts)", err, account.Default)}
	}
	from := "flags"
	if eventsDays < 0 || leadsDays < 0 {
		e, l, err := c.retention(ctx, acct)
		if err != nil {
			return fmt.Errorf("prune: -events-days and -leads-days not both given, and the account's retention could not be read: %w. Give both (0 keeps that kind)", err)
		}
		from = "account"
		if eventsDays < 0 {
			eventsDays = e
		}
		if leadsDays < 0 {
			leadsDays = l
		}
	}
	if eventsDays == 0 && leadsDays == 0 {
		return usageError{fmt.Sprintf("prune: nothing to prune for %s: give -events-days N and/or -leads-days N, or set the account's retention (retain_events_days, retain_leads_days)", acct)}
	}
	st, err := c.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	p, ok := st.(store.Pruner)
	if !ok {
		return fmt.Errorf("prune: the store %T cannot prune", st)
	}
	r, err := Prune(ctx, p, acct, eventsDays, leadsDays, dryRun)
	if err != nil {
		return err
	}
	r.From = from
	if jsonOut {
		return c.printJSON(r)
	}
	printPrune(c.Stdout, r)
	return nil
}

// retention reads the account's RetainEventsDays and RetainLeadsDays from the accounts bucket.
func (c *CLI) retention(ctx context.Context, acct string) (events, leads int, err error) {
	closeNATS, err := c.connect()
	if err != nil {
		return 0, 0, err
	}
	defer closeNATS()
	v, err := c.ops.Account(ctx, acct)
	if errors.Is(err, account.ErrNotFound) {
		return 0, 0, fmt.Errorf("no account %q (ingestctl accounts list)", acct)
	}
	if err != nil {
		return 0, 0, err
	}
	return v.RetainEventsDays, v.RetainLeadsDays, nil
}

// printPrune says what prune removed and what it kept.
func printPrune(w io.Writer, r PruneReport) {
	day := func(t time.Time) string { return t.Format("2006-01-02 15:04 MST") }
	verb := "removed"
	if r.DryRun {
		verb = "would remove (dry run: nothing removed)"
	}
	fmt.Fprintf(w, "account %s (retention from %s: %s)\n", r.Account, r.From,
		retention(AccountView{RetainEventsDays: r.EventsDays, RetainLeadsDays: r.LeadsDays}))
	fmt.Fprintf(w, "%s: %d leads (with their %d events and %d meetings), %d events by age\n", verb, r.Leads, r.LeadEvents, r.Meetings, r.Events)
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
	fmt.Fprintln(w)
}
