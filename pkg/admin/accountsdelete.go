package admin

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/saleassist-pipeline/pipeline/pkg/account"
)

// ErrNotDeletable is wrapped when an account cannot be deleted yet: the error says what is in
// the way and what to do about it.
var ErrNotDeletable = errors.New("account not deletable yet")

// DefaultSettle is how long every process may take to follow an account change: account.Follow
// reads the whole bucket again every account.ResyncEvery (its watch is faster), and a worker
// looks at its consumers' backlogs every few seconds.
const DefaultSettle = account.ResyncEvery + 5*time.Second

// DeletedAccount is what DeleteAccount removed.
type DeletedAccount struct {
	ID string `json:"id"`
	// Entry is true when the account's entry was in the bucket and is removed now; false when it
	// had been removed before (by hand, say) and only its consumer was left.
	Entry bool `json:"entry_deleted"`
	// Consumer is the durable consumer of the account's events that was removed; empty when
	// there was none.
	Consumer string `json:"consumer_deleted,omitempty"`
}

// DeleteAccount removes the account with id for good: its entry in the accounts bucket and, settle
// later, the durable consumer of its events, which the workers would otherwise keep on the server
// (queue.Consumer.Retire). Its leads and events stay in the store.
//
// Nothing accepted may be lost by it, so it refuses (ErrNotDeletable) the default account, which
// each program makes from its environment; an account that is not disabled, or was changed less
// than settle ago (an ingest that has not seen the change may still accept for it); one whose
// consumer holds events not stored yet; and one with dead letters or quarantined requests, which
// need the account to be replayed. Run again for an account whose entry is gone but whose
// consumer is left, it removes the consumer after the same checks.
func (o *Ops) DeleteAccount(ctx context.Context, id string, settle time.Duration) (DeletedAccount, error) {
	del := DeletedAccount{ID: id}
	if id == account.Default {
		return del, fmt.Errorf("%w: the default account is made by every program from its environment (WEBHOOK_SECRETS, MAPPING_FILE): disable it instead (ingestctl accounts disable default)", ErrNotDeletable)
	}
	kv, err := o.accounts(ctx)
	if err != nil {
		return del, err
	}
	a, err := kv.Get(ctx, id)
	switch {
	case errors.Is(err, account.ErrNotFound):
	case err != nil:
		return del, err
	case !a.Disabled:
		return del, fmt.Errorf("%w: account %q is not disabled; disable it first (ingestctl accounts disable %s), so that its URL answers 404 and nothing new is queued for it, and delete it once its events are stored", ErrNotDeletable, id, id)
	case time.Since(a.UpdatedAt) < settle:
		since := time.Since(a.UpdatedAt)
		return del, fmt.Errorf("%w: account %q was changed %s ago, and every process takes up to %s to follow a change; try again in %s", ErrNotDeletable, id,
			since.Round(time.Second), settle, (settle-since).Round(time.Second)+time.Second)
	default:
		del.Entry = true
	}
	scoped := o.ForAccount(id)
	if err := scoped.deletable(ctx); err != nil {
		return del, err
	}
	name := o.cfg.AccountConsumer(id)
	if del.Entry {
		if err := kv.Delete(ctx, id); err != nil {
			return del, err
		}
		// The workers retire its consumer when they see the entry go, and leave it out of their
		// rotation once it is drained; until then a worker would take the consumer's removal for
		// a failure.
		select {
		case <-ctx.Done():
			return del, fmt.Errorf("account %q deleted, but not its consumer %s (interrupted): run the command again to remove it: %w", id, name, ctx.Err())
		case <-time.After(settle):
		}
	}
	cs, err := scoped.AccountConsumer(ctx)
	if err != nil || cs == nil {
		if err == nil && !del.Entry {
			return del, fmt.Errorf("account %q: %w, and no consumer of its events is left (ingestctl accounts list shows the accounts there are)", id, account.ErrNotFound)
		}
		return del, err
	}
	// Checked again: the entry's removal was settle ago.
	if err := scoped.deletable(ctx); err != nil {
		return del, fmt.Errorf("account %q deleted, but not its consumer %s: %w", id, name, err)
	}
	if err := o.js.DeleteConsumer(ctx, o.cfg.Stream, name); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return del, fmt.Errorf("delete consumer %s: %w", name, err)
	}
	del.Consumer = name
	return del, nil
}

// deletable refuses while o's account has events queued and not stored, dead letters or
// quarantined requests.
func (o *Ops) deletable(ctx context.Context) error {
	cs, err := o.AccountConsumer(ctx)
	if err != nil {
		return err
	}
	if cs != nil && cs.Pending+uint64(cs.AckPending) > 0 {
		return fmt.Errorf("%w: %d of account %q's events are queued and not stored yet; the workers store them (ingestctl status shows the backlog); try again when it is empty",
			ErrNotDeletable, cs.Pending+uint64(cs.AckPending), o.account)
	}
	dl, q, err := o.Waiting(ctx)
	if err != nil {
		return err
	}
	if dl+q > 0 {
		return fmt.Errorf("%w: account %q has %d dead letter(s) and %d quarantined request(s), which need the account to be replayed; replay, discard or delete them first (ingestctl dlq list -account %s, ingestctl quarantine list -account %s)",
			ErrNotDeletable, o.account, dl, q, o.account, o.account)
	}
	return nil
}
