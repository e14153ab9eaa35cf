package loadgen

import (
	"context"
	"encoding/json"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/saleassist-pipeline/pipeline/internal/testkit"
)

func TestHistogramQuantiles(t *testing.T) {
	t.Parallel()
	h := NewHistogram()
	var vals []time.Duration
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 100000; i++ {
		// log-uniform between 10 µs and 1 s
		d := time.Duration(float64(10*time.Microsecond) * pow(1e5, r.Float64()))
		vals = append(vals, d)
		h.Record(d)
	}
	sort.Slice(vals, func(i, j int) bool { return vals[i] < vals[j] })
	for _, q := range []float64{0.01, 0.5, 0.9, 0.99, 0.999, 1} {
		idx := int(q*float64(len(vals))+0.999999) - 1
		want, got := vals[idx], h.Quantile(q)
		if rel := abs(float64(got-want)) / float64(want); rel > 1.0/subCount {
			t.Errorf("q%.3f: got %s, want %s (±%.1f%%)", q, got, want, 100.0/subCount)
		}
	}
	if h.Count() != uint64(len(vals)) || h.Max() != vals[len(vals)-1] {
		t.Errorf("count %d max %s", h.Count(), h.Max())
	}
	o := NewHistogram()
	o.Record(2 * time.Second)
	h.Merge(o)
	if h.Quantile(1) != 2*time.Second || h.Count() != uint64(len(vals))+1 {
		t.Errorf("merge: max %s count %d", h.Quantile(1), h.Count())
	}
}

func TestHistogramBuckets(t *testing.T) {
	t.Parallel()
	for _, v := range []uint64{0, 1, 127, 128, 129, 1000, 1 << 20, 1<<40 + 12345, 1<<63 + 1} {
		i := bucketOf(v)
		if i < 0 || i >= nBuckets || bucketHigh(i) < v || (i > 0 && bucketHigh(i-1) >= v) {
			t.Errorf("value %d: bucket %d covers (%d, %d]", v, i, bucketHigh(i-1), bucketHigh(i))
		}
	}
	if NewHistogram().Quantile(0.5) != 0 {
		t.Error("empty histogram")
	}
}

func TestBodyUniqueIDs(t *testing.T) {
	t.Parallel()
	fix := testkit.Fixture(t)
	b, err := NewBody(fix, FixtureID, "t")
	if err != nil {
		t.Fatal(err)
	}
	buf := b.NewBuffer()
	seen := map[string]bool{}
	for _, n := range []uint64{0, 1, 42, 1<<64 - 1} {
		b.Fill(buf, n)
		if len(buf) != b.Len() {
			t.Fatalf("length %d, want %d", len(buf), b.Len())
		}
		var env struct {
			EventType string `json:"event_type"`
			Payload   struct {
				ID string `json:"id"`
			} `json:"payload"`
		}
		if err := json.Unmarshal(buf, &env); err != nil {
			t.Fatalf("body %d is not JSON: %v", n, err)
		}
		if env.Payload.ID != b.ID(n) || !strings.HasPrefix(env.Payload.ID, "t-") || len(env.Payload.ID) != 2+counterWidth || seen[env.Payload.ID] {
			t.Errorf("n=%d: payload.id %q (want %q, unique)", n, env.Payload.ID, b.ID(n))
		}
		seen[env.Payload.ID] = true
		if env.EventType != "widget_new_conversation" {
			t.Errorf("event_type %q", env.EventType)
		}
	}
	if got := b.Next(buf); got != 1 || b.Next(buf) != 2 {
		t.Errorf("Next: %d", got)
	}
	if _, err := NewBody(fix, "not-there", ""); err == nil {
		t.Error("NewBody accepted a fixture without the id")
	}
}

func TestLoopbackOnly(t *testing.T) {
	t.Parallel()
	for _, u := range []string{"http://127.0.0.1:8080/x", "http://localhost:1/", "http://[::1]:80/", "http://127.1.2.3/"} {
		if err := CheckLoopback(u); err != nil {
			t.Errorf("%s: %v", u, err)
		}
	}
	for _, u := range []string{"http://10.0.0.1/", "http://example.com/", "https://127.0.0.1/", "http://0.0.0.0:80/", "http://[::]:80/"} {
		if err := CheckLoopback(u); err == nil {
			t.Errorf("%s accepted", u)
		}
	}
	if _, err := Run(context.Background(), Config{URL: "http://192.0.2.1/", Body: &Body{}, Duration: time.Second}); err == nil {
		t.Error("Run accepted a non-loopback target")
	}
	if _, err := Run(context.Background(), Config{URL: "http://127.0.0.1:1/", Body: &Body{}}); err == nil {
		t.Error("Run accepted an unbounded run")
	}
}

func pow(b, e float64) float64 { return math.Pow(b, e) }

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}
