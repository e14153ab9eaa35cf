package app

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

// Parts start in the order added and stop in reverse; a failed start leaves the parts before it
// started (Close stops them) and never starts the ones after; every stop runs even when one
// fails; a second stop has nothing to do.
func TestGroupStartsInOrderStopsInReverse(t *testing.T) {
	t.Parallel()
	var log []string
	g := new(Group)
	add := func(name string, startErr, stopErr error) {
		g.Add(name, func(context.Context) error { log = append(log, "start "+name); return startErr },
			func(context.Context) error { log = append(log, "stop "+name); return stopErr })
	}
	add("nats", nil, nil)
	add("worker", nil, errors.New("commit failed"))
	g.Add("stream", func(context.Context) error { log = append(log, "start stream"); return nil }, nil)
	add("http", nil, nil)
	require.NoError(t, g.Start(context.Background()))
	err := g.stop(context.Background())
	require.EqualError(t, err, "stop worker: commit failed")
	require.Equal(t, []string{"start nats", "start worker", "start stream", "start http", "stop http", "stop worker", "stop nats"}, log)
	require.NoError(t, g.stop(context.Background()))

	log = nil
	g = new(Group)
	add("nats", nil, nil)
	add("worker", errors.New("bad mapping"), nil)
	add("http", nil, nil)
	require.EqualError(t, g.Start(context.Background()), "bad mapping")
	require.NoError(t, g.stop(context.Background()))
	require.Equal(t, []string{"start nats", "start worker", "stop nats"}, log)
}

// The first failure is delivered on Failed; later ones never block their part.
func TestGroupDeliversTheFirstFailure(t *testing.T) {
	t.Parallel()
	g := new(Group)
	g.Fail(errors.New("first"))
	g.Fail(errors.New("second"))
	require.EqualError(t, <-g.Failed(), "first")
	select {
	case err := <-g.Failed():
		t.Fatalf("a second failure was delivered: %v", err)
	default:
	}
}
