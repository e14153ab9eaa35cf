package admin

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/saleassist-pipeline/pipeline/pkg/queue"
)

// Dead letters and quarantined requests of every account share one stream each: the account is
// the message's Saleassist-Account header (queue.AccountOf; none means the default account, as
// in messages from before accounts). Ops.ForAccount narrows the operations to one account, so a
// console signed in with an account's token lists only that account's entries, and asking for
// another account's entry by id answers ErrNotFound, worded exactly as for an entry that does
// not exist: the answer must not tell whether it does.

// ForAccount returns operations limited to the account with id: listings hold its entries only,
// and reading, replaying, discarding or deleting another account's entry is ErrNotFound. An empty
// id returns o itself, which sees every account (ingestctl, the admin token).
func (o *Ops) ForAccount(id string) *Ops {
	if id == "" {
		return o
	}
	scoped := *o
	scoped.account = id
	return &scoped
}

// Scope is the account o is limited to; empty when it sees every account.
func (o *Ops) Scope() string { return o.account }

// sees reports whether a message with headers h is within o's account.
func (o *Ops) sees(h nats.Header) bool {
	return o.account == "" || queue.AccountOf(h) == o.account
}

// Waiting counts the dead letters and quarantined requests waiting for an operator among o's
// account's (Status counts every account's, from the streams' sizes, without reading them).
func (o *Ops) Waiting(ctx context.Context) (deadLetters, quarantined uint64, err error) {
	if deadLetters, err = o.deadLetters().count(ctx); err != nil {
		return 0, 0, err
	}
	quarantined, err = o.quarantine().count(ctx)
	return deadLetters, quarantined, err
}

// AccountConsumer is the backlog of the durable consumer of o's account's events
// (queue.Config.AccountConsumer; the default account's when o sees every account); nil, and no
// error, before the account's first worker made it.
func (o *Ops) AccountConsumer(ctx context.Context) (*ConsumerStatus, error) {
	name := o.cfg.AccountConsumer(o.account)
	cons, err := o.js.Consumer(ctx, o.cfg.Stream, name)
	switch {
	case errors.Is(err, jetstream.ErrConsumerNotFound), errors.Is(err, jetstream.ErrStreamNotFound):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("consumer %s: %w", name, err)
	}
	info := cons.CachedInfo()
	return &ConsumerStatus{Name: info.Name, Pending: info.NumPending, AckPending: info.NumAckPending,
		Redelivered: info.NumRedelivered, WaitingPulls: info.NumWaiting}, nil
}
