package admin_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/internal/testkit"
	"github.com/saleassist-pipeline/pipeline/pkg/accept"
	"github.com/saleassist-pipeline/pipeline/pkg/account"
	"github.com/saleassist-pipeline/pipeline/pkg/admin"
	"github.com/saleassist-pipeline/pipeline/pkg/queue"
)

// deadLetterFor dead-letters event id of account acct (empty: published before accounts, no
// header) the way the worker does, and returns the dead letter's id.
func (b *testBundle) deadLetterFor(t *testing.T, acct, id, reason string) uint64 {
	t.Helper()
	ctx := context.Background()
	ev := testkit.FixtureEvent(t, id)
	ev.Account = acct
	msg := b.js.Config.NewMsg(ev)
	if acct == "" {
		msg.Header.Del(queue.HeaderAccount)
	}
	_, err := b.js.JS.PublishMsg(ctx, msg)
	require.NoError(t, err)
	s, err := b.js.JS.Stream(ctx, queue.DefaultStream)
	require.NoError(t, err)
	// A consumer of this message's subject alone, gone afterwards: a work-queue stream refuses
	// consumers whose filters overlap.
	cons, err := s.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{Durable: "dl-" + acct + "-" + strconv.Itoa(int(b.lastSeq(t, queue.DefaultStream))),
		FilterSubject: msg.Subject, AckPolicy: jetstream.AckExplicitPolicy})
	require.NoError(t, err)
	m, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second))
	require.NoError(t, err)
	dlq, err := queue.NewDeadLetterer(ctx, b.js.JS, b.js.Config)
	require.NoError(t, err)
	require.NoError(t, dlq.Move(ctx, m, queue.DeadLetter{Reason: reason, Err: errTest}))
	require.NoError(t, s.DeleteConsumer(ctx, cons.CachedInfo().Name))
	return b.lastSeq(t, queue.DefaultDeadLetterStream)
}

func (b *testBundle) lastSeq(t *testing.T, stream string) uint64 {
	t.Helper()
	s, err := b.js.JS.Stream(context.Background(), stream)
	require.NoError(t, err)
	info, err := s.Info(context.Background())
	require.NoError(t, err)
	return info.State.LastSeq
}

// quarantineFor keeps body as the ingest keeps a request to account acct's URL.
func (b *testBundle) quarantineFor(t *testing.T, acct, reason string, body []byte) uint64 {
	t.Helper()
	h := nats.Header{}
	h.Set(queue.HeaderQuarantineReason, reason)
	h.Set(queue.HeaderQuarantineError, "refused")
	h.Set(queue.HeaderReceivedAt, time.Now().UTC().Format(time.RFC3339Nano))
	h.Set(queue.HeaderRequestPrefix+"Content-Type", "application/json")
	h.Set(queue.HeaderAccount, acct)
	ack, err := b.js.JS.PublishMsg(context.Background(), &nats.Msg{Subject: queue.DefaultQuarantineSubject, Header: h, Data: body})
	require.NoError(t, err)
	return ack.Sequence
}

func (b *testBundle) ops(t *testing.T) *admin.Ops {
	t.Helper()
	ops, err := admin.NewOps(b.js.Conn, b.js.Config, 1<<20)
	require.NoError(t, err)
	return ops
}

// An account's view of the dead letters holds its own only, and another account's dead letter
// by id is "does not exist", in the words used for one that never existed; the unscoped view
// (ingestctl, the admin token) sees all, and a dead letter from before accounts is the default's.
func TestDeadLettersForAccount(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	legacy := b.deadLetterFor(t, "", "dl-legacy", "max_deliver")
	acme := b.deadLetterFor(t, "acme", "dl-acme", "max_deliver")
	other := b.deadLetterFor(t, "globex", "dl-globex", "invalid")
	ops := b.ops(t)

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
	s, err := b.js.JS.Stream(ctx, queue.DefaultStream)
	require.NoError(t, err)
	m, err := s.GetLastMsgForSubject(ctx, b.js.Config.Subject("acme", "widget_new_conversation"))
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

// The CLI lists one account's entries with --account, and shows every entry's account.
func TestIngestctlListsByAccount(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.deadLetterFor(t, "acme", "dl-acme", "max_deliver")
	b.deadLetterFor(t, "globex", "dl-globex", "max_deliver")
	b.quarantineFor(t, "acme", "invalid_json", []byte("{"))
	b.quarantineFor(t, "globex", "invalid_json", []byte("{"))

	code, out, errOut := b.run(t, "dlq", "list")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "ACCOUNT")
	require.Contains(t, out, "2 dead letters")
	code, out, errOut = b.run(t, "dlq", "list", "--account", "acme")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "dl-acme")
	require.NotContains(t, out, "dl-globex")
	require.Contains(t, out, "1 dead letter\n")

	code, out, errOut = b.run(t, "quarantine", "list", "--account", "globex")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "globex")
	require.NotContains(t, out, "acme")
	require.Contains(t, out, "1 in quarantine")

	code, _, errOut = b.run(t, "dlq", "replay", "1", "--account", "acme")
	require.Equal(t, 2, code)
	require.Contains(t, errOut, "--all")
	code, out, errOut = b.run(t, "dlq", "replay", "--all", "--account", "globex")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "replayed 1 dead letter")
	code, out, _ = b.run(t, "dlq", "list", "--account", "acme")
	require.Equal(t, 0, code)
	require.Contains(t, out, "dl-acme", "replay --all --account leaves other accounts' dead letters")
}

// A quarantined request is replayed into the account whose URL it came to, which must take its
// client_id as the webhook checks (a wrong_account entry goes through once the account has the
// client id); another account's entry is "does not exist"; one of an account removed since is not
// replayable.
func TestQuarantineForAccount(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	kv, err := account.OpenKV(ctx, b.js.JS)
	require.NoError(t, err)
	_, err = kv.Put(ctx, account.Account{ID: "acme", ClientIDs: []string{"someone-else"}})
	require.NoError(t, err)
	fixture := testkit.Fixture(t)
	acme := b.quarantineFor(t, "acme", "invalid_json", fixture)
	globex := b.quarantineFor(t, "globex", "invalid_json", fixture)
	wrong := b.quarantineFor(t, "acme", accept.WrongAccount, fixture)
	ops := b.ops(t)
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
	require.Zero(t, b.eventsInStream(t))

	_, err = kv.Update(ctx, "acme", func(a *account.Account) error {
		a.ClientIDs = append(a.ClientIDs, testkit.FixtureClientID)
		return nil
	})
	require.NoError(t, err)
	rep, err := scoped.ReplayQuarantined(ctx, acme, nil)
	require.NoError(t, err)
	s, err := b.js.JS.Stream(ctx, queue.DefaultStream)
	require.NoError(t, err)
	m, err := s.GetLastMsgForSubject(ctx, b.js.Config.Subject("acme", rep.EventType))
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
