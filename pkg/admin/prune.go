package admin

import (
	"context"
	"time"

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
