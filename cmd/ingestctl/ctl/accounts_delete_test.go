package ctl_test

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/internal/testkit"
	"github.com/saleassist-pipeline/pipeline/pkg/account"
	"github.com/saleassist-pipeline/pipeline/pkg/queue"
)

// accountConsumer makes the durable consumer of acct's events as a worker makes it.
func (b *testBundle) accountConsumer(t *testing.T, acct string) jetstream.Consumer {
	t.Helper()
	s, err := b.JS.JS.Stream(t.Context(), queue.DefaultStream)
	require.NoError(t, err)
	cons, err := s.CreateOrUpdateConsumer(t.Context(), b.JS.Config.AccountConsumerConfig(acct))
	require.NoError(t, err)
	return cons
}

// consumerExists reports whether the stream has the durable consumer of acct's events.
func (b *testBundle) consumerExists(t *testing.T, acct string) bool {
	t.Helper()
	_, err := b.JS.JS.Consumer(t.Context(), queue.DefaultStream, b.JS.Config.AccountConsumer(acct))
	if err == nil {
		return true
	}
	require.ErrorIs(t, err, jetstream.ErrConsumerNotFound)
	return false
}

// An account is deleted only when nothing of it can be lost: not the default account, not one
// still enabled or disabled moments ago, not while its events are queued, nor while it has dead
// letters. Then its entry and the consumer of its events go, and a second run finds nothing.
func TestAccountsDeleteOnlyWhenNothingIsLost(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.add(t, "brand2", "-client-id", "c2")

	require.Contains(t, b.refused(t, "accounts", "delete", "default", "-settle", "0"), "disable it instead")
	require.Contains(t, b.refused(t, "accounts", "delete", "brand2", "-settle", "0"), `account "brand2" is not disabled; disable it first`)
	b.ok(t, "accounts", "disable", "brand2")
	require.Regexp(t, `was changed \d+s ago, and every process takes up to 1h0m0s to follow a change; try again in`,
		b.refused(t, "accounts", "delete", "brand2", "-settle", "1h"))

	dl := b.DeadLetterFor(t, "brand2", "brand2-failed", "schema")
	require.Contains(t, b.refused(t, "accounts", "delete", "brand2", "-settle", "0"),
		`account "brand2" has 1 dead letter(s) and 0 quarantined request(s)`)
	b.ok(t, "dlq", "delete", strconv.FormatUint(dl, 10))

	cons := b.accountConsumer(t, "brand2")
	ev := testkit.FixtureEvent(t, "brand2-queued")
	ev.Account = "brand2"
	_, err := b.Pub.Publish(t.Context(), ev)
	require.NoError(t, err)
	require.Contains(t, b.refused(t, "accounts", "delete", "brand2", "-settle", "0"),
		`1 of account "brand2"'s events are queued and not stored yet`)
	require.True(t, b.stored(t, "brand2").Disabled, "a refusal changes nothing")
	m, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second))
	require.NoError(t, err)
	require.NoError(t, m.DoubleAck(t.Context()), "stored, as a worker would")

	out := b.ok(t, "accounts", "delete", "brand2", "-settle", "0", "-json")
	var got map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &got), out)
	require.Equal(t, map[string]any{"id": "brand2", "entry_deleted": true, "consumer_deleted": b.JS.Config.AccountConsumer("brand2")}, got)
	kv, err := account.OpenKV(t.Context(), b.JS.JS)
	require.NoError(t, err)
	_, err = kv.Get(t.Context(), "brand2")
	require.ErrorIs(t, err, account.ErrNotFound)
	require.False(t, b.consumerExists(t, "brand2"))

	require.Contains(t, b.refused(t, "accounts", "delete", "brand2", "-settle", "0"), "no consumer of its events is left")
}

// An account removed from the bucket by hand leaves the consumer of its events on the server
// (the workers keep it); accounts delete removes it. With a settle time the consumer goes that
// long after the entry.
func TestAccountsDeleteRemovesAConsumerLeftBehind(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.add(t, "brand3", "-client-id", "c3")
	b.accountConsumer(t, "brand3")
	kv, err := account.OpenKV(t.Context(), b.JS.JS)
	require.NoError(t, err)
	require.NoError(t, kv.Delete(t.Context(), "brand3"))
	out := b.ok(t, "accounts", "delete", "brand3", "-settle", "0")
	require.Contains(t, out, "account brand3 deleted: the consumer of its events left behind")
	require.False(t, b.consumerExists(t, "brand3"))

	b.add(t, "brand4", "-client-id", "c4")
	b.accountConsumer(t, "brand4")
	b.ok(t, "accounts", "disable", "brand4")
	// Refused until the account has been disabled for the settle time (the refusal itself is
	// checked with an hour in TestAccountsDeleteOnlyWhenNothingIsLost), then done.
	var (
		code   int
		errOut string
		took   time.Duration
	)
	require.Eventually(t, func() bool {
		start := time.Now()
		code, out, errOut = b.run(t, "accounts", "delete", "brand4", "-settle", "300ms")
		took = time.Since(start)
		require.True(t, code == 0 || strings.Contains(errOut, "try again in"), "refused for another reason: %s", errOut)
		return code == 0
	}, 10*time.Second, 20*time.Millisecond, "accounts delete: %d %s", code, errOut)
	require.Contains(t, errOut, "its consumer goes 300ms after its entry")
	require.Contains(t, out, "account brand4 deleted: its entry and the consumer of its events")
	require.GreaterOrEqual(t, took, 300*time.Millisecond, "the consumer went after the settle time")
	require.False(t, b.consumerExists(t, "brand4"))
}
