package testkit_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/internal/testkit"
)

// The cluster forms, carries a replicated stream, and elects a new stream leader when the old one
// is shut down; a client given every URL carries on through a survivor.
func TestStartClusterElectsNewStreamLeader(t *testing.T) {
	t.Parallel()
	c := testkit.StartCluster(t, 3)
	require.Len(t, c.Servers(), 3)
	urls := strings.Split(c.URLs(), ",")
	require.Len(t, urls, 3)
	for _, u := range urls {
		require.True(t, strings.HasPrefix(u, "nats://127.0.0.1:"), u)
		require.NotEqual(t, "nats://127.0.0.1:4222", u)
	}
	require.NotNil(t, c.MetaLeader())

	nc, err := nats.Connect(c.URLs(), nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond))
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	s, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "T", Subjects: []string{"t.>"}, Replicas: 3, Storage: jetstream.FileStorage})
	require.NoError(t, err)
	_, err = js.Publish(ctx, "t.1", []byte("one"))
	require.NoError(t, err)

	info, err := s.Info(ctx)
	require.NoError(t, err)
	require.Equal(t, 3, info.Config.Replicas)
	require.NotNil(t, info.Cluster)
	require.Len(t, info.Cluster.Replicas, 2)

	old := c.AwaitStreamLeader("T", 10*time.Second)
	require.Equal(t, info.Cluster.Leader, old.Name())
	c.Shutdown(old)
	require.Len(t, c.Running(), 2)
	leader := c.AwaitStreamLeader("T", 20*time.Second)
	require.NotEqual(t, old.Name(), leader.Name())

	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		pctx, pcancel := context.WithTimeout(ctx, 2*time.Second)
		defer pcancel()
		_, err := js.Publish(pctx, "t.2", []byte("two"), jetstream.WithMsgID("two"))
		require.NoError(ct, err)
	}, 20*time.Second, 50*time.Millisecond)
	info, err = s.Info(ctx)
	require.NoError(t, err)
	require.Equal(t, uint64(2), info.State.Msgs)
	require.Equal(t, leader.Name(), info.Cluster.Leader)
}
