package store

import (
	"context"
	"time"
)

// RetryHorizon is how long an event's id is kept however short an account's retention: the
// longest a copy of a stored event can still arrive and must be recognised as a duplicate. A
// sender like SaleAssist retries an unanswered or failed delivery for hours to days (Svix's
// schedule, the longest of the peers', ends after about five days); JetStream redelivers within
// minutes; an operator replays quarantined requests and dead letters within days. Seven days
// covers all of them with room. Pruning an event younger than this would let a late copy be
// stored a second time and merged into its lead again.
const RetryHorizon = 7 * 24 * time.Hour

// Pruner removes an account's old events and leads (`ingestctl prune`, issue 22.7). Both stores
// implement it; it is apart from Store so the worker's contract stays small.
type Pruner interface {
	// Prune removes, in the account q.Account only:
	//   - the leads last updated before q.LeadsBefore that have no event stored since then, with
	//     their events and meetings (the events' payloads hold the person's details);
	//   - the events stored before q.EventsBefore (their leads stay).
	// Each cutoff is first moved back to now − RetryHorizon if it is later (PruneQuery.Horizon), so
	// the ids of events younger than the horizon are never removed; a zero cutoff removes
	// nothing of its kind. It works in small transactions, so the workers' writes interleave,
	// and with q.DryRun it only counts. The result says what was (or would be) removed and the
	// cutoffs applied.
	Prune(ctx context.Context, q PruneQuery) (PruneResult, error)
}

// PruneQuery says what Prune removes.
type PruneQuery struct {
	// Account is whose rows are pruned; "" means account.Default.
	Account string
	// EventsBefore and LeadsBefore are the cutoffs; the zero time keeps every event (lead).
	EventsBefore, LeadsBefore time.Time
	// DryRun counts what would be removed and removes nothing.
	DryRun bool
}

// Horizon returns q with its account resolved and each cutoff no later than now − RetryHorizon.
func (q PruneQuery) Horizon(now time.Time) PruneQuery {
	q.Account = Account(q.Account)
	limit := now.Add(-RetryHorizon)
	for _, c := range []*time.Time{&q.EventsBefore, &q.LeadsBefore} {
		if !c.IsZero() && c.After(limit) {
			*c = limit
		}
	}
	return q
}

// PruneResult is what Prune removed, or with DryRun would remove.
type PruneResult struct {
	// Query is the query as applied: the account resolved, the cutoffs after the horizon.
	Query PruneQuery
	// Leads are the leads removed; LeadEvents and Meetings went with them.
	Leads, LeadEvents, Meetings int64
	// Events are the events removed by their age (besides LeadEvents).
	Events int64
}
