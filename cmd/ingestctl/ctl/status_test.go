package ctl_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/internal/testkit"
	"github.com/saleassist-pipeline/pipeline/pkg/account"
	"github.com/saleassist-pipeline/pipeline/pkg/admin"
	"github.com/saleassist-pipeline/pipeline/pkg/queue"
)

// status sums the backlog over every account's consumer and shows each account's.
func TestStatusLagPerAccount(t *testing.T) {
	t.Parallel()
	b := setup(t)
	_, err := queue.NewConsumer(context.Background(), b.JS.JS, b.JS.Config, b.JS.Logger, "acme", "brand-2")
	require.NoError(t, err)
	publish := func(acct, id string) {
		ev := testkit.FixtureEvent(t, id)
		ev.Account = acct
		_, err := b.Pub.Publish(context.Background(), ev)
		require.NoError(t, err)
	}
	publish(account.Default, "d-1")
	publish("acme", "a-1")
	publish("acme", "a-2")
	publish("acme", "a-3")

	var st admin.Status
	require.Eventually(t, func() bool {
		code, out, _ := b.run(t, "status", "--json")
		return code == 0 && json.Unmarshal([]byte(out), &st) == nil && st.Consumer != nil && st.Consumer.Pending == 4
	}, 5*time.Second, 10*time.Millisecond)
	require.Len(t, st.Accounts, 3)
	got := map[string]uint64{}
	for _, a := range st.Accounts {
		got[a.Account] = a.Pending
	}
	require.Equal(t, map[string]uint64{account.Default: 1, "acme": 3, "brand-2": 0}, got)
	require.Equal(t, account.Default, st.Accounts[0].Account, "the default account first")
	require.Equal(t, queue.DefaultConsumer+"-acme", st.Accounts[1].Name)
	require.EqualValues(t, 4, st.Consumer.Lag())

	code, out, errOut := b.run(t, "status")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "consumers (3 accounts): pending 4, ack pending 0")
	require.Regexp(t, `acme +saleassist-worker-acme +3 +0 +0`, out)
	require.True(t, strings.Index(out, "  default ") < strings.Index(out, "  acme "), out)
}
