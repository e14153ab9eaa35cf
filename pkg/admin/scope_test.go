package admin_test

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/internal/testkit"
	"github.com/saleassist-pipeline/pipeline/pkg/accept"
	"github.com/saleassist-pipeline/pipeline/pkg/account"
	"github.com/saleassist-pipeline/pipeline/pkg/admin"
	"github.com/saleassist-pipeline/pipeline/pkg/admin/admintest"
	"github.com/saleassist-pipeline/pipeline/pkg/queue"
)

// An account's view of the dead letters holds its own only, and another account's dead letter
// by id is "does not exist", in the words used for one that never existed; the unscoped view
// (ingestctl, the admin token) sees all, and a dead letter from before accounts is the default's.
func TestDeadLettersForAccount(t *testing.T) {
	t.Parallel()
	b := admintest.Setup(t)
	ctx := context.Background()
	legacy := b.DeadLetterFor(t, "", "dl-legacy", "max_deliver")
	acme := b.DeadLetterFor(t, "acme", "dl-acme", "max_deliver")
	other := b.DeadLetterFor(t, "globex", "dl-globex", "invalid")
	ops := b.Ops(t)

	all, err := ops.DeadLetters(ctx)
	require.NoError(t, err)
	require.Len(t, all, 3)
	require.Equal(t, "default", all[0].Account)
	require.Equal(t, "acme", all[1].Account)

	def, err := ops.ForAccount("default").DeadLetters(ctx)
	require.NoError(t, err)
	require.Len(t, def, 1)
	require.Equal(t, legacy, def[0].ID)

	scoped := ops.ForAccount("acme")
	mine, err := scoped.DeadLetters(ctx)
	require.NoError(t, err)
	require.Len(t, mine, 1)
	require.Equal(t, "dl-acme", mine[0].EventID)

	_, _, err = scoped.DeadLetter(ctx, other)
	require.ErrorIs(t, err, admin.ErrNotFound)
	_, _, errGone := scoped.DeadLetter(ctx, 999)
	require.Equal(t, errGone.Error(), replaceID(err.Error(), other, 999), "another account's dead letter reads as one that does not exist")
	_, err = scoped.ReplayDeadLetter(ctx, other, admin.ReplayOptions{Unchanged: true})
	require.ErrorIs(t, err, admin.ErrNotFound)
	_, err = scoped.DiscardDeadLetter(ctx, other, "not mine")
	require.ErrorIs(t, err, admin.ErrNotFound)
	require.ErrorIs(t, scoped.DeleteDeadLetter(ctx, other), admin.ErrNotFound)
	all, err = ops.DeadLetters(ctx)
	require.NoError(t, err)
	require.Len(t, all, 3, "nothing was done to another account's dead letter")

	// Its own replays onto its own subject, with its header.
	_, err = scoped.ReplayDeadLetter(ctx, acme, admin.ReplayOptions{})
	require.NoError(t, err)
	s, err := b.JS.JS.Stream(ctx, queue.DefaultStream)
	require.NoError(t, err)
	m, err := s.GetLastMsgForSubject(ctx, b.JS.Config.Subject("acme", "widget_new_conversation"))
	require.NoError(t, err)
	require.Equal(t, "acme", m.Header.Get(queue.HeaderAccount))
	require.Equal(t, "dlq/"+strconv.FormatUint(acme, 10), m.Header.Get(queue.HeaderReplayOf))

	// Discarded ones are listed per account too.
	_, err = ops.DiscardDeadLetter(ctx, other, "globex gave up")
	require.NoError(t, err)
	disc, err := scoped.DiscardedDeadLetters(ctx)
	require.NoError(t, err)
	require.Empty(t, disc)
	disc, err = ops.ForAccount("globex").DiscardedDeadLetters(ctx)
	require.NoError(t, err)
	require.Len(t, disc, 1)
	require.Equal(t, "globex", disc[0].Account)

	n, q, err := ops.ForAccount("default").Waiting(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 1, n)
	require.Zero(t, q)
}

func replaceID(s string, from, to uint64) string {
	return strings.ReplaceAll(s, strconv.FormatUint(from, 10), strconv.FormatUint(to, 10))
}

// A quarantined request is replayed into the account whose URL it came to, which must take its
// client_id as the webhook checks (a wrong_account entry goes through once the account has the
// client id); another account's entry is "does not exist"; one of an account removed since is not
// replayable.
func TestQuarantineForAccount(t *testing.T) {
	t.Parallel()
	b := admintest.Setup(t)
	ctx := context.Background()
	kv, err := account.OpenKV(ctx, b.JS.JS)
	require.NoError(t, err)
	_, err = kv.Put(ctx, account.Account{ID: "acme", ClientIDs: []string{"someone-else"}})
	require.NoError(t, err)
	fixture := testkit.Fixture(t)
	acme := b.QuarantineFor(t, "acme", "invalid_json", fixture)
	globex := b.QuarantineFor(t, "globex", "invalid_json", fixture)
	wrong := b.QuarantineFor(t, "acme", accept.WrongAccount, fixture)
	ops := b.Ops(t)
	scoped := ops.ForAccount("acme")

	list, err := scoped.Quarantine(ctx)
	require.NoError(t, err)
	require.Len(t, list, 2)
	require.Equal(t, "acme", list[0].Account)

	_, err = scoped.QuarantinedEntry(ctx, globex)
	require.ErrorIs(t, err, admin.ErrNotFound)
	_, err = scoped.ReplayQuarantined(ctx, globex, nil)
	require.ErrorIs(t, err, admin.ErrNotFound)
	require.ErrorIs(t, scoped.DeleteQuarantined(ctx, globex), admin.ErrNotFound)

	_, err = scoped.ReplayQuarantined(ctx, wrong, nil)
	require.ErrorIs(t, err, admin.ErrNotReplayable)
	require.ErrorContains(t, err, `does not belong to account "acme"`)
	_, err = scoped.ReplayQuarantined(ctx, wrong, fixture)
	require.ErrorIs(t, err, admin.ErrNotReplayable, "a corrected body is checked against the account too")
	require.Zero(t, b.EventsInStream(t))

	_, err = kv.Update(ctx, "acme", func(a *account.Account) error {
		a.ClientIDs = append(a.ClientIDs, testkit.FixtureClientID)
		return nil
	})
	require.NoError(t, err)
	rep, err := scoped.ReplayQuarantined(ctx, acme, nil)
	require.NoError(t, err)
	s, err := b.JS.JS.Stream(ctx, queue.DefaultStream)
	require.NoError(t, err)
	m, err := s.GetLastMsgForSubject(ctx, b.JS.Config.Subject("acme", rep.EventType))
	require.NoError(t, err)
	require.Equal(t, "acme", m.Header.Get(queue.HeaderAccount), "replayed into the account it came to")
	_, err = scoped.ReplayQuarantined(ctx, wrong, nil)
	require.NoError(t, err, "once the account takes its client id")
	_, q, err := scoped.Waiting(ctx)
	require.NoError(t, err)
	require.Zero(t, q)

	_, err = ops.ReplayQuarantined(ctx, globex, nil)
	require.ErrorIs(t, err, admin.ErrNotReplayable)
	require.ErrorContains(t, err, "no longer exists")
}
