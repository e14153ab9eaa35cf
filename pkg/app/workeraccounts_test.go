package app_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/internal/testkit"
	"github.com/saleassist-pipeline/pipeline/pkg/account"
	"github.com/saleassist-pipeline/pipeline/pkg/app/workerapp"
	"github.com/saleassist-pipeline/pipeline/pkg/queue"
	"github.com/saleassist-pipeline/pipeline/pkg/store"
	"github.com/saleassist-pipeline/pipeline/pkg/store/sqlite"
)

// awaitAccountEvents waits until the store holds n events of account acct.
func awaitAccountEvents(t *testing.T, st store.Store, acct string, n int64) {
	t.Helper()
	require.Eventually(t, func() bool {
		c, err := st.Counts(context.Background(), acct)
		require.NoError(t, err)
		return c.Events == n
	}, 30*time.Second, 10*time.Millisecond, "waiting for %d events of account %s", n, acct)
}

// Issue 22: cmd/worker upgrades a stream and consumer made by the release before accounts (the
// consumer filtering saleassist.events.>, events on the one-token subjects of then) and drains
// them; it reads the accounts bucket at start (an account there gets its consumer beside the
// narrowed old one, which a work-queue stream refuses unless the old one was narrowed first),
// and an account added to the bucket while it runs is consumed without a restart.
func TestWorkerUpgradesTheOldConsumerAndFollowsTheAccountsBucket(t *testing.T) {
	t.Parallel()
	addr := freeAddr(t)
	k := testkit.StartJetStream(t, testkit.WithListen(addr))
	ctx := context.Background()
	cfg := queue.DefaultConfig()
	cfg.MaxBytes = k.Config.MaxBytes
	s, err := k.JS.CreateStream(ctx, cfg.StreamConfig())
	require.NoError(t, err)
	_, err = s.CreateOrUpdateConsumer(ctx, cfg.ConsumerConfig()) // exactly as before accounts
	require.NoError(t, err)
	const old = 20
	for i := range old {
		id := fmt.Sprintf("old-%d", i)
		msg := &nats.Msg{Subject: cfg.SubjectPrefix + ".widget_new_conversation", Header: nats.Header{}, Data: testkit.WithID(testkit.Fixture(t), id)}
		msg.Header.Set(queue.HeaderEventID, id)
		msg.Header.Set(queue.HeaderEventType, "widget_new_conversation")
		msg.Header.Set(jetstream.MsgIDHeader, id)
		_, err := k.JS.PublishMsg(ctx, msg)
		require.NoError(t, err)
	}
	kv, err := account.OpenKV(ctx, k.JS)
	require.NoError(t, err)
	_, err = kv.Put(ctx, account.Account{ID: "acme", Name: "Acme"})
	require.NoError(t, err)
	publish := func(acct, prefix string, n int) {
		for i := range n {
			ev := testkit.FixtureEvent(t, fmt.Sprintf("%s-%d", prefix, i))
			ev.Account = acct
			_, err := k.JS.PublishMsg(ctx, cfg.NewMsg(ev))
			require.NoError(t, err)
		}
	}
	publish("acme", "acme", 3) // before the worker made acme's consumer: kept by the work queue

	db := filepath.Join(t.TempDir(), "leads.db")
	w := workerapp.New()
	w.Env, w.Stderr = envOf(map[string]string{"NATS_URL": "nats://" + addr, "DATABASE_URL": "sqlite:" + db}), &testkit.SyncBuffer{}
	require.NoError(t, w.ParseFlags([]string{"-addr", "127.0.0.1:0"}))
	require.NoError(t, w.Run(ctx))
	t.Cleanup(func() { require.NoError(t, w.Close()) })
	st, err := sqlite.Open(ctx, db)
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	awaitEvents(t, st, old) // the default account's: the events of before accounts
	awaitAccountEvents(t, st, "acme", 3)

	info, err := s.Consumer(ctx, cfg.Consumer)
	require.NoError(t, err)
	require.Equal(t, cfg.AccountFilter(account.Default), info.CachedInfo().Config.FilterSubjects, "the old consumer now takes the default account's subjects")
	_, err = s.Consumer(ctx, cfg.AccountConsumer("acme"))
	require.NoError(t, err)

	_, err = kv.Put(ctx, account.Account{ID: "late"})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		_, err := s.Consumer(ctx, cfg.AccountConsumer("late"))
		return err == nil
	}, 10*time.Second, 20*time.Millisecond, "an account added to the bucket gets its consumer without a restart")
	publish("late", "late", 2)
	awaitAccountEvents(t, st, "late", 2)
	require.Eventually(t, func() bool {
		si, err := s.Info(ctx)
		return err == nil && si.State.Msgs == 0
	}, 10*time.Second, 20*time.Millisecond, "every event acknowledged")
}

// Standalone: the in-process worker consumes the accounts the ingest serves. An event posted to
// an account added to the bucket while both run is stored under that account, and only there.
func TestStandaloneWorkerStoresAnAddedAccountsEvents(t *testing.T) {
	t.Parallel()
	tb := setup(t)
	ctx := context.Background()
	addAccount(t, tb, account.Account{ID: "acme"}, testkit.Fixture(t))
	st := tb.openStore(t)
	awaitAccountEvents(t, st, "acme", 1)
	c, err := st.Counts(ctx, account.Default)
	require.NoError(t, err)
	require.Zero(t, c.Events, "not stored under the default account")
}
