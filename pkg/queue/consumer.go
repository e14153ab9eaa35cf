package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/saleassist-pipeline/pipeline/internal/ratelog"
	"github.com/saleassist-pipeline/pipeline/pkg/account"
)

// Consumer is one worker's handle on the durable pull consumers all workers share, one per
// account (Config.AccountConsumer). JetStream spreads each consumer's messages across every
// process consuming it; none sees a message another holds. Run takes the accounts in turn
// (rotation.go), so one account's backlog cannot starve another's events.
type Consumer struct {
	stream jetstream.Stream
	cfg    Config
	conn   *nats.Conn
	log    *slog.Logger
	// pulling turns failed pulls (NATS down, a leader election) into a line per state change and
	// a summary per interval, not a warning per attempt: an outage of any length stays readable.
	pulling ratelog.Failing
	// pause is the wait between a failed pull and the next; failures counts them (tests).
	pause    time.Duration
	failures atomic.Int64

	// syncMu serialises Sync; mu guards accts, the rotation in account order.
	syncMu sync.Mutex
	mu     sync.Mutex
	accts  []*accountConsumer
	// nudge is signalled when Sync adds an account (or Nudge is called), so that a Run waiting
	// on the accounts' pulls takes a new round at once.
	nudge chan struct{}
}

// NewConsumer makes sure the events stream and the durable consumers of the default account and
// of accounts exist, and returns a handle on them. The consumer of before accounts (filter
// saleassist.events.>) is narrowed to the default account's subjects first: a work-queue stream
// refuses consumers whose filters overlap, so no other account's consumer can exist before.
// Consumers of accounts no longer configured that the stream still has (an account removed
// while no worker ran) are drained too (see Sync).
func NewConsumer(ctx context.Context, js jetstream.JetStream, cfg Config, log *slog.Logger, accounts ...string) (*Consumer, error) {
	s, err := LookupStream(ctx, js, cfg)
	if err != nil {
		return nil, err
	}
	c := &Consumer{stream: s, cfg: cfg, conn: js.Conn(), log: log, pulling: ratelog.Failing{Log: log}, pause: RetryPause,
		nudge: make(chan struct{}, 1)}
	if err := c.Sync(ctx, accounts); err != nil {
		return nil, err
	}
	if err := c.adoptLeftovers(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// accountConsumer is one account's durable consumer in the rotation.
type accountConsumer struct {
	id   string
	cons jetstream.Consumer
	// retired is set when the account is no longer configured: its consumer stays in the
	// rotation until it is empty (Retire), so nothing published for it is left behind;
	// retiredAt (unix nanoseconds) is since when.
	retired   atomic.Bool
	retiredAt atomic.Int64
}

// retire marks the account no longer configured, and reports whether it was not already.
func (a *accountConsumer) retire() bool {
	if a.retired.Swap(true) {
		return false
	}
	a.retiredAt.Store(time.Now().UnixNano())
	return true
}

// RetireAfter is how long an account no longer configured stays in the rotation at least, even
// when its consumer is empty: an ingest that has not seen the change yet may still publish for
// it (processes see account changes within seconds).
var RetireAfter = time.Minute

// Sync makes sure the default account and every account in ids has its durable consumer, created
// or updated to Config.AccountConsumerConfig; the default account's first (it replaces the filter
// of the consumer of before accounts). Consumers of accounts no longer in ids are marked
// retired: still drained, and dropped from the rotation once empty (see Retire). Sync is safe to
// call while Run runs; a new account is taken in turn from the next round.
func (c *Consumer) Sync(ctx context.Context, ids []string) error {
	c.syncMu.Lock()
	defer c.syncMu.Unlock()
	want := []string{account.Default}
	for _, id := range ids {
		if id = accountOrDefault(id); !slices.Contains(want, id) {
			want = append(want, id)
		}
	}
	var errs []error
	for i, id := range want { // default first: see NewConsumer
		if a := c.find(id); a != nil {
			a.retired.Store(false)
			continue
		}
		cc := c.cfg.AccountConsumerConfig(id)
		cons, err := ensureConsumer(ctx, c.stream, cc)
		if err != nil {
			errs = append(errs, fmt.Errorf("create or update consumer %s (account %s) on %s: %w", cc.Durable, id, c.cfg.Stream, err))
			if i == 0 {
				break // no other account's consumer before the default account's (see NewConsumer)
			}
			continue // one account's trouble does not hold up the others'
		}
		c.add(&accountConsumer{id: id, cons: cons})
		c.Nudge()
	}
	c.mu.Lock()
	for _, a := range c.accts {
		if !slices.Contains(want, a.id) && a.retire() {
			c.log.Info("account no longer configured: its consumer is drained, then left idle", "account", a.id, "consumer", c.cfg.AccountConsumer(a.id))
		}
	}
	c.mu.Unlock()
	return errors.Join(errs...)
}

// Nudge has a Run that waits on the accounts' pulls take a new round at once: an account whose
// turns were passed (RunOptions.Skip) may be taken again.
func (c *Consumer) Nudge() {
	select {
	case c.nudge <- struct{}{}:
	default:
	}
}

// adoptLeftovers adds, as retired, the consumers on the stream named for an account that is not
// configured (AccountConsumer's form): their events are still stored.
func (c *Consumer) adoptLeftovers(ctx context.Context) error {
	names := c.stream.ConsumerNames(ctx)
	var left []string
	for name := range names.Name() {
		if id, ok := c.cfg.ConsumerAccount(name); ok && c.find(id) == nil {
			left = append(left, id)
		}
	}
	if err := names.Err(); err != nil {
		return fmt.Errorf("list consumers of %s: %w", c.cfg.Stream, err)
	}
	for _, id := range left {
		cons, err := c.stream.Consumer(ctx, c.cfg.AccountConsumer(id))
		if err != nil {
			return fmt.Errorf("consumer %s: %w", c.cfg.AccountConsumer(id), err)
		}
		a := &accountConsumer{id: id, cons: cons}
		a.retire()
		c.add(a)
	}
	return nil
}

func (c *Consumer) find(id string) *accountConsumer {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, a := range c.accts {
		if a.id == id {
			return a
		}
	}
	return nil
}

func (c *Consumer) add(a *accountConsumer) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.accts = append(c.accts, a)
	slices.SortFunc(c.accts, func(x, y *accountConsumer) int { return compareIDs(x.id, y.id) })
}

// compareIDs orders accounts: the default first, then by id.
func compareIDs(x, y string) int {
	switch {
	case x == y:
		return 0
	case x == account.Default:
		return -1
	case y == account.Default:
		return 1
	case x < y:
		return -1
	}
	return 1
}

// rotation is the accounts taken in turn, in order.
func (c *Consumer) rotation() []*accountConsumer {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.accts)
}

// Follow keeps the consumers in step with reg until ctx ends: an account added gets its consumer
// within moments, without a restart; one removed is drained (Sync). A failed Sync (NATS down) is
// retried with backoff.
func (c *Consumer) Follow(ctx context.Context, reg *account.Registry) {
	failing := ratelog.Failing{Log: c.log, Every: time.Minute}
	for {
		changed := reg.Changed()
		delay := 250 * time.Millisecond
		for {
			sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			err := c.Sync(sctx, reg.IDs())
			cancel()
			if err == nil || ctx.Err() != nil {
				failing.OK("account consumers in step with the accounts again")
				break
			}
			failing.Fail("cannot create the consumers of new accounts; retrying", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(delay):
			}
			delay = min(2*delay, 10*time.Second)
		}
		select {
		case <-ctx.Done():
			return
		case <-changed:
		}
	}
}

// Accounts returns the accounts whose consumers are in the rotation, in order.
func (c *Consumer) Accounts() []string {
	var ids []string
	for _, a := range c.rotation() {
		ids = append(ids, a.id)
	}
	return ids
}

// AccountInfo is one account consumer's state as JetStream sees it.
type AccountInfo struct {
	Account string
	// Retired says the account is no longer configured: drained, then dropped (Retire).
	Retired bool
	*jetstream.ConsumerInfo
}

// Infos returns every account consumer's state, in rotation order. A consumer whose state
// cannot be read is left out, and the first such error returned with the rest.
func (c *Consumer) Infos(ctx context.Context) ([]AccountInfo, error) {
	var out []AccountInfo
	var first error
	for _, a := range c.rotation() {
		info, err := a.cons.Info(ctx)
		if err != nil {
			if first == nil {
				first = fmt.Errorf("consumer %s: %w", c.cfg.AccountConsumer(a.id), err)
			}
			continue
		}
		out = append(out, AccountInfo{Account: a.id, Retired: a.retired.Load(), ConsumerInfo: info})
	}
	return out, first
}

// Retire drops from the rotation the accounts retired for RetireAfter at least whose consumer
// info shows nothing pending or unacknowledged. Their durable consumers stay on the server (a late event for the
// account would otherwise sit in the stream with no consumer); NewConsumer adopts them again.
// `ingestctl accounts delete` removes one once nothing can come for it (admin.DeleteAccount);
// Run then drops it from the rotation, if it was still there.
func (c *Consumer) Retire(infos []AccountInfo) []string {
	var gone []string
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, in := range infos {
		if !in.Retired || in.NumPending > 0 || in.NumAckPending > 0 {
			continue
		}
		n := len(c.accts)
		c.accts = slices.DeleteFunc(c.accts, func(a *accountConsumer) bool {
			return a.id == in.Account && a.retired.Load() && time.Since(time.Unix(0, a.retiredAt.Load())) >= RetireAfter
		})
		if len(c.accts) < n {
			gone = append(gone, in.Account)
		}
	}
	return gone
}

// drop removes a from the rotation.
func (c *Consumer) drop(a *accountConsumer) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.accts = slices.DeleteFunc(c.accts, func(x *accountConsumer) bool { return x == a })
}

// Info returns the default account's consumer state (the consumer of before accounts).
func (c *Consumer) Info(ctx context.Context) (*jetstream.ConsumerInfo, error) {
	if a := c.find(account.Default); a != nil {
		return a.cons.Info(ctx)
	}
	return nil, fmt.Errorf("consumer %s: %w", c.cfg.Consumer, jetstream.ErrConsumerNotFound)
}

// fatal reports errors after which pulling again cannot succeed.
func fatal(err error) bool {
	return errors.Is(err, jetstream.ErrConsumerDeleted) || errors.Is(err, jetstream.ErrConsumerNotFound) ||
		errors.Is(err, nats.ErrConnectionClosed) || errors.Is(err, nats.ErrBadSubscription)
}

// ensureConsumer creates or updates the durable consumer cc. nats-server 2.15 answers the first
// update of a consumer it loaded from disk (after a restart) with the configuration it had,
// although it applies the new one; nats.go then reports the changed filter as "multiple consumer
// filter subjects not supported". So after that error the consumer is read back, and taken when
// it has cc's filters (TestReleaseDataDirectoryKeepsWorking in pkg/app upgrades such a one).
func ensureConsumer(ctx context.Context, s jetstream.Stream, cc jetstream.ConsumerConfig) (jetstream.Consumer, error) {
	cons, err := s.CreateOrUpdateConsumer(ctx, cc)
	if !errors.Is(err, jetstream.ErrConsumerMultipleFilterSubjectsNotSupported) {
		return cons, err
	}
	got, rerr := s.Consumer(ctx, cc.Durable)
	if rerr != nil {
		return nil, errors.Join(err, rerr)
	}
	if info := got.CachedInfo(); info != nil && slices.Equal(info.Config.FilterSubjects, cc.FilterSubjects) && info.Config.FilterSubject == cc.FilterSubject {
		return got, nil
	}
	return nil, err
}
