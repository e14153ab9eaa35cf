package app_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/internal/testkit"
	"github.com/saleassist-pipeline/pipeline/pkg/account"
	"github.com/saleassist-pipeline/pipeline/pkg/queue"
)

// releaseDataDir is a data directory written by the release before accounts (e5745b1), the way
// an operator's is: the standalone ingest ran with its generated webhook secret and stored rel-1
// and rel-2 (one lead), then ran with -worker=false and accepted rel-3 and rel-4, which wait in
// JetStream on the subjects of then, for the consumer of then. Remade with
// scripts/release-datadir.sh.
const releaseDataDir = "testdata/release-e5745b1"

// Issue 22: the release's data directory opens with this code and keeps working as the default
// account: its stored leads and events read as the default account's, the events it left queued
// are stored, its generated secret still opens /webhooks/saleassist, and a second account can be
// added beside it.
func TestReleaseDataDirectoryKeepsWorking(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	require.NoError(t, os.CopyFS(dir, os.DirFS(releaseDataDir)))
	secret, err := os.ReadFile(filepath.Join(dir, "webhook-secret"))
	require.NoError(t, err)
	tb := startIngest(t, dir, map[string]string{})
	ctx := context.Background()

	st := tb.openStore(t)
	awaitAccountEvents(t, st, account.Default, 4) // rel-1, rel-2 stored then; rel-3, rel-4 queued then
	for _, id := range []string{"rel-1", "rel-2", "rel-3", "rel-4"} {
		ev, err := st.Event(ctx, account.Default, id)
		require.NoError(t, err, id)
		require.Equal(t, account.Default, ev.Account)
	}
	c, err := st.Counts(ctx, account.Default)
	require.NoError(t, err)
	require.EqualValues(t, 3, c.Leads, "rel-1 and rel-2 are one person, rel-3 and rel-4 one each")

	code, a := post(t, tb.url, strings.TrimSpace(string(secret)), testkit.WithID(testkit.Fixture(t), "rel-1"))
	require.Equal(t, http.StatusAccepted, code, "the generated secret of then: %+v", a)
	_, _ = addAccount(t, tb, account.Account{ID: "brand2"}, testkit.WithID(testkit.Fixture(t), "rel-1"))
	awaitAccountEvents(t, st, "brand2", 1)

	js := tb.js(t)
	s, err := js.Stream(ctx, queue.DefaultStream)
	require.NoError(t, err)
	cons, err := s.Consumer(ctx, queue.DefaultConsumer)
	require.NoError(t, err)
	cfg := queue.DefaultConfig()
	require.Equal(t, cfg.AccountFilter(account.Default), cons.CachedInfo().Config.FilterSubjects, "the consumer of then now takes the default account's subjects")
	c, err = st.Counts(ctx, account.Default)
	require.NoError(t, err)
	require.EqualValues(t, 4, c.Events, "the re-sent rel-1 is a duplicate in the default account")
}
