package testkit_test

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/internal/testkit"
	"github.com/saleassist-pipeline/pipeline/pkg/queue"
)

func TestMetricMatchesTheWholeLabelSet(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "c_total", Help: "c"}, []string{"a", "b"})
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "g", Help: "g"})
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "h_seconds", Help: "h"})
	reg.MustRegister(c, g, h)
	c.WithLabelValues("1", "2").Add(3)
	g.Set(7)
	h.Observe(0.1)
	h.Observe(0.2)

	v, ok := testkit.Metric(t, reg, "c_total", map[string]string{"a": "1", "b": "2"})
	require.True(t, ok)
	require.Equal(t, 3.0, v)
	_, ok = testkit.Metric(t, reg, "c_total", map[string]string{"a": "1"})
	require.False(t, ok, "a subset of the labels does not match")
	_, ok = testkit.Metric(t, reg, "c_total", map[string]string{"a": "1", "b": "3"})
	require.False(t, ok)
	_, ok = testkit.Metric(t, reg, "missing", nil)
	require.False(t, ok)
	require.Equal(t, 7.0, testkit.RequireMetric(t, reg, "g", nil))
	require.Equal(t, 2.0, testkit.RequireMetric(t, reg, "h_seconds", nil))
}

func TestFixtures(t *testing.T) {
	t.Parallel()
	fix := testkit.Fixture(t)
	require.True(t, json.Valid(fix))
	var doc struct {
		Payload struct {
			ID string `json:"id"`
		} `json:"payload"`
	}
	require.NoError(t, json.Unmarshal(testkit.WithID(fix, "other-id"), &doc))
	require.Equal(t, "other-id", doc.Payload.ID)
	require.False(t, json.Valid(testkit.SeedSample(t)), "the seed sample lacks a comma")
	require.FileExists(t, testkit.FixturePath(t))
}

func TestSyncBuffer(t *testing.T) {
	t.Parallel()
	var b testkit.SyncBuffer
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Go(func() { _, _ = fmt.Fprintf(&b, "%d\n", i) })
		_ = b.String()
	}
	wg.Wait()
	require.Len(t, b.String(), 20)
}

func TestStartJetStream(t *testing.T) {
	t.Parallel()
	k := testkit.StartJetStream(t)
	require.False(t, k.Server.Listening())
	require.Equal(t, int64(64<<20), k.Config.MaxBytes)
	_, err := queue.EnsureStream(t.Context(), k.JS, k.Config)
	require.NoError(t, err)

	l := testkit.StartJetStream(t, testkit.WithListen("127.0.0.1:0"))
	require.True(t, l.Server.Listening())
	require.NotEmpty(t, l.Server.ClientURL())
}
