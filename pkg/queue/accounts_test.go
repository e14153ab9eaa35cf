package queue_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/pkg/account"
	"github.com/saleassist-pipeline/pipeline/pkg/queue"
)

// accountRecorder is an AccountBatchFunc that acks every message and records, in order, which
// account each batch came from and the accounts the events name.
type accountRecorder struct {
	mu      sync.Mutex
	turns   []string       // the account of each batch, in order
	byAcct  map[string]int // events handed, by the consumer's account
	headers map[string]int // events handed, by their Saleassist-Account header
}

func newAccountRecorder() *accountRecorder {
	return &accountRecorder{byAcct: map[string]int{}, headers: map[string]int{}}
}

func (r *accountRecorder) handle(t *testing.T) queue.AccountBatchFunc {
	return func(acct string, msgs []jetstream.Msg) {
		for _, m := range msgs {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			require.NoError(t, m.DoubleAck(ctx))
			cancel()
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		r.turns = append(r.turns, acct)
		r.byAcct[acct] += len(msgs)
		for _, m := range msgs {
			r.headers[queue.AccountOf(m.Headers())]++
		}
	}
}

func (r *accountRecorder) count(acct string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.byAcct[acct]
}

// runAccounts runs c.RunAccounts until stop is called or the test ends.
func runAccounts(t *testing.T, c *queue.Consumer, size int, h queue.AccountBatchFunc) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.RunAccounts(ctx, queue.RunOptions{Size: size}, h) }()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); require.NoError(t, waitRun(t, done)) }) }
	t.Cleanup(stop)
	return stop
}

// following makes the events stream and a consumer of the accounts, which follows the registry
// it returns, and runs it (batches of 10) into a recorder until stop or the test's end.
func (b *testBundle) following(t *testing.T, accounts ...account.Account) (*account.Registry, *queue.Consumer, *accountRecorder, func()) {
	t.Helper()
	_, err := queue.EnsureStream(t.Context(), b.js, b.cfg)
	require.NoError(t, err)
	reg := account.NewRegistry(accounts...)
	c, err := queue.NewConsumer(t.Context(), b.js, b.cfg, b.log, reg.IDs()...)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	t.Cleanup(cancel)
	go c.Follow(ctx, reg)
	r := newAccountRecorder()
	return reg, c, r, runAccounts(t, c, 10, r.handle(t))
}

// publishFor publishes n events for acct (as the ingest does: its subject, header and msg id).
func (b *testBundle) publishFor(t *testing.T, acct, prefix string, n int) {
	t.Helper()
	for i := range n {
		ev := newEvent(t, "widget_new_conversation", fmt.Sprintf("%s-%d", prefix, i), 0)
		ev.Account = acct
		_, err := b.js.PublishMsgAsync(b.cfg.NewMsg(ev))
		require.NoError(t, err)
	}
	select {
	case <-b.js.PublishAsyncComplete():
	case <-time.After(30 * time.Second):
		t.Fatal("publishes not acknowledged")
	}
}

// TestConsumer_UpgradesTheConsumerOfBeforeAccounts builds the stream and the consumer exactly as
// the code of before accounts did (ConsumerConfig: filter saleassist.events.>), with events on
// the one-token subjects of then; the new consumer narrows it to the default account's filters,
// creates a second account's consumer beside it (a work-queue stream refuses overlapping
// filters, so this fails unless the old one was narrowed first), and drains every old event.
func TestConsumer_UpgradesTheConsumerOfBeforeAccounts(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	s, err := b.js.CreateStream(ctx, b.cfg.StreamConfig())
	require.NoError(t, err)
	old, err := s.CreateOrUpdateConsumer(ctx, b.cfg.ConsumerConfig())
	require.NoError(t, err)
	require.Equal(t, "saleassist.events.>", old.CachedInfo().Config.FilterSubject)
	const n = 50
	for i := range n {
		ev := newEvent(t, "widget_new_conversation", fmt.Sprintf("old-%d", i), 0)
		msg := &nats.Msg{Subject: b.cfg.SubjectPrefix + ".widget_new_conversation", Data: ev.Body, Header: nats.Header{}}
		msg.Header.Set(queue.HeaderEventID, ev.ID)
		msg.Header.Set(queue.HeaderEventType, ev.Type)
		msg.Header.Set(jetstream.MsgIDHeader, ev.ID)
		_, err := b.js.PublishMsg(ctx, msg)
		require.NoError(t, err)
	}

	c, err := queue.NewConsumer(ctx, b.js, b.cfg, b.log, "acme")
	require.NoError(t, err, "the second account's consumer is created once the old one is narrowed")
	require.Equal(t, []string{account.Default, "acme"}, c.Accounts())
	info, err := s.Consumer(ctx, b.cfg.Consumer)
	require.NoError(t, err)
	require.Equal(t, b.cfg.AccountFilter(account.Default), info.CachedInfo().Config.FilterSubjects)
	require.Equal(t, uint64(n), info.CachedInfo().NumPending, "the narrowed consumer still holds every old event")
	_, err = s.Consumer(ctx, b.cfg.AccountConsumer("acme"))
	require.NoError(t, err)

	b.publishFor(t, "acme", "new", 3)
	r := newAccountRecorder()
	runAccounts(t, c, 10, r.handle(t))
	require.Eventually(t, func() bool { return r.count(account.Default) == n && r.count("acme") == 3 }, 10*time.Second, 10*time.Millisecond)
	r.mu.Lock()
	require.Equal(t, n, r.headers[account.Default], "events without the header belong to the default account")
	r.mu.Unlock()
	require.Eventually(t, func() bool {
		si, err := s.Info(ctx)
		return err == nil && si.State.Msgs == 0
	}, 10*time.Second, 10*time.Millisecond, "the work-queue stream is empty: every event acked")
}

// TestConsumer_TakesAccountsInTurn floods one account and shows another's events are handed
// over in the first round, not after the flood.
func TestConsumer_TakesAccountsInTurn(t *testing.T) {
	t.Parallel()
	b := setup(t)
	_, err := queue.EnsureStream(t.Context(), b.js, b.cfg)
	require.NoError(t, err)
	b.publishFor(t, "a", "a", 2000)
	b.publishFor(t, "b", "b", 5)
	c, err := queue.NewConsumer(t.Context(), b.js, b.cfg, b.log, "a", "b")
	require.NoError(t, err)
	r := newAccountRecorder()
	const size = 50
	runAccounts(t, c, size, r.handle(t))
	require.Eventually(t, func() bool { return r.count("b") == 5 }, 10*time.Second, 10*time.Millisecond)
	r.mu.Lock()
	defer r.mu.Unlock()
	first := -1
	for i, acct := range r.turns {
		if acct == "b" {
			first = i
			break
		}
	}
	require.Equal(t, []string{"a", "b"}, r.turns[:2], "a round takes each account with events once, in order")
	require.Equal(t, 1, first)
	require.LessOrEqual(t, r.byAcct["a"], 2000)
}

// TestConsumer_FollowsAccounts adds an account to the registry while Run runs: its events are
// delivered without a restart. Removing it leaves its consumer drained: events published for it
// afterwards are still handed over.
func TestConsumer_FollowsAccounts(t *testing.T) {
	t.Parallel()
	b := setup(t)
	reg, c, r, stop := b.following(t, account.Account{ID: account.Default})

	reg.Set([]account.Account{{ID: account.Default}, {ID: "late"}})
	require.Eventually(t, func() bool { return len(c.Accounts()) == 2 }, 10*time.Second, 10*time.Millisecond)
	b.publishFor(t, "late", "late", 4)
	require.Eventually(t, func() bool { return r.count("late") == 4 }, 10*time.Second, 10*time.Millisecond)

	reg.Set([]account.Account{{ID: account.Default}})
	b.publishFor(t, "late", "after", 2) // an event the ingest accepted just before it saw the removal
	require.Eventually(t, func() bool { return r.count("late") == 6 }, 10*time.Second, 10*time.Millisecond)
	infos, err := c.Infos(t.Context())
	require.NoError(t, err)
	require.Len(t, infos, 2)
	require.True(t, infos[1].Retired)
	require.Empty(t, c.Retire(infos), "kept for RetireAfter: an ingest may not have seen the removal yet")
	queue.SetRetireAfter(t, 0)
	require.Equal(t, []string{"late"}, c.Retire(infos), "a retired, empty account leaves the rotation")
	require.Equal(t, []string{account.Default}, c.Accounts())

	// A worker started later still drains what was left for it.
	stop()
	b.publishFor(t, "late", "left", 1)
	c2, err := queue.NewConsumer(t.Context(), b.js, b.cfg, b.log, reg.IDs()...)
	require.NoError(t, err)
	require.Equal(t, []string{account.Default, "late"}, c2.Accounts())
	r2 := newAccountRecorder()
	runAccounts(t, c2, 10, r2.handle(t))
	require.Eventually(t, func() bool { return r2.count("late") == 1 }, 10*time.Second, 10*time.Millisecond)
}

// The consumer of an account no longer configured may be deleted while Run runs (ingestctl
// accounts delete removes it): Run drops it from the rotation and goes on with the others.
func TestConsumer_RetiredAccountsConsumerDeleted(t *testing.T) {
	t.Parallel()
	b := setup(t)
	reg, c, r, stop := b.following(t, account.Account{ID: account.Default}, account.Account{ID: "gone"})
	b.publishFor(t, "gone", "before", 2)
	require.Eventually(t, func() bool { return r.count("gone") == 2 }, 10*time.Second, 10*time.Millisecond)

	reg.Set([]account.Account{{ID: account.Default}})
	require.Eventually(t, func() bool {
		infos, err := c.Infos(t.Context())
		return err == nil && len(infos) == 2 && infos[1].Retired
	}, 10*time.Second, 10*time.Millisecond, "the account is retired")
	s, err := b.js.Stream(t.Context(), b.cfg.Stream)
	require.NoError(t, err)
	require.NoError(t, s.DeleteConsumer(t.Context(), b.cfg.AccountConsumer("gone")))

	b.publishFor(t, account.Default, "after", 3)
	require.Eventually(t, func() bool { return r.count(account.Default) == 3 }, 10*time.Second, 10*time.Millisecond,
		"the other accounts' events are still handed over")
	require.Eventually(t, func() bool { return slices.Equal(c.Accounts(), []string{account.Default}) }, 10*time.Second, 10*time.Millisecond,
		"the deleted consumer left the rotation")
	stop() // fails the test if Run returned an error
}
