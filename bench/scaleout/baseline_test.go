package scaleout

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/bench/workerbench"
)

// drainWith is a drain whose store host used cpu per event and whose store wrote wal per event.
func drainWith(n int, cpu time.Duration, wal float64) Drain {
	return Drain{Workers: n, Rate: 1000, WALBytes: wal, Hosts: []HostUse{{Name: "store", PerEvent: cpu}}}
}

// The store-cost table takes, per worker count, the median of the rounds for each build and
// prints this build's ratio to each baseline's median, with the ranges.
func TestWriteStoreCostRatiosOfMedians(t *testing.T) {
	r := &Report{
		Options: Options{Workers: []int{2}, Rounds: 3, Baselines: []Build{{Name: "base"}}},
		Drains: map[int][]Drain{2: {
			drainWith(2, 90*time.Microsecond, 3000), drainWith(2, 100*time.Microsecond, 2500), drainWith(2, 300*time.Microsecond, 2600),
		}},
		Baselines: map[string]map[int][]Drain{"base": {2: {
			drainWith(2, 200*time.Microsecond, 5000), drainWith(2, 210*time.Microsecond, 5200), drainWith(2, 150*time.Microsecond, 4000),
		}}},
	}
	var out bytes.Buffer
	r.WriteStoreCost(&out)
	lines := strings.Split(out.String(), "\n")
	var base, this []string
	for _, l := range lines {
		f := strings.Fields(l)
		switch {
		case len(f) > 2 && f[1] == "base":
			base = f
		case len(f) > 3 && f[1] == "this":
			this = f
		}
	}
	require.NotNil(t, base, out.String())
	require.NotNil(t, this, out.String())
	// baseline: median CPU 200 µs (150–210), WAL 5000 B (4000–5200)
	require.Equal(t, []string{"2", "base", "200", "150–210", "5000", "4000–5200"}, base[:6], out.String())
	// this build: median CPU 100 µs (90–300): 0.50×; WAL 2600 B (2500–3000): 0.52×
	require.Equal(t, []string{"2", "this", "build", "100", "90–300", "0.50", "2600", "2500–3000", "0.52"}, this[:9], out.String())

	out.Reset()
	r.Options.Baselines = nil
	r.WriteStoreCost(&out)
	require.Empty(t, out.String(), "no baselines, no table")
}

// BuildWorkerAt builds a revision's worker from the repository (this checkout's HEAD here), and
// names a revision that does not exist.
func TestBuildWorkerAt(t *testing.T) {
	root, err := workerbench.FindModuleRoot()
	require.NoError(t, err)
	if err := exec.Command("git", "-C", root, "rev-parse", "--verify", "HEAD").Run(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true and the module root is not a git checkout with a commit: %v", err)
		}
		t.Skipf("not a git checkout with a commit (%v): BuildWorkerAt needs one; run from a clone", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	b, dir, err := BuildWorkerAt(ctx, root, "HEAD")
	if dir != "" {
		defer os.RemoveAll(dir)
	}
	require.NoError(t, err)
	require.Equal(t, "HEAD", b.Name)
	require.Equal(t, filepath.Join(dir, "worker"), b.Worker)
	out, _ := exec.Command(b.Worker, "-h").CombinedOutput()
	require.Contains(t, string(out), "-nats-url", "the baseline is a worker binary")

	_, dir2, err := BuildWorkerAt(ctx, root, "no-such-revision-0123")
	if dir2 != "" {
		defer os.RemoveAll(dir2)
	}
	require.ErrorContains(t, err, "git archive no-such-revision-0123")
}

// Without a drain of one worker, the scale-out targets are not judged against another count.
func TestWriteJudgesTargetsOnlyAgainstOneWorker(t *testing.T) {
	d := drainWith(2, 100*time.Microsecond, 5000)
	d.Hosts = append(d.Hosts, HostUse{Name: "nats"}, HostUse{Name: "worker1", Busy: 1})
	r := &Report{Options: Options{Workers: []int{2}, Rounds: 1}, Drains: map[int][]Drain{2: {d}}}
	var out bytes.Buffer
	r.Write(&out)
	require.NotContains(t, out.String(), "target:", out.String())
	require.Contains(t, out.String(), `"× one" is to 2 workers`)

	one := drainWith(1, 100*time.Microsecond, 5000)
	one.Workers = 1
	one.Hosts = d.Hosts
	r.Options.Workers, r.Drains = []int{1, 2}, map[int][]Drain{1: {one}, 2: {d}}
	out.Reset()
	r.Write(&out)
	require.Contains(t, out.String(), "target: 2 workers ≥ 1.9× one: 1.00× — MISSED", out.String())
}
