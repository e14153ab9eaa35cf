package scaleout

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/saleassist-pipeline/pipeline/bench/workerbench"
)

// BuildWorkerAt builds cmd/worker as it was at the git revision rev of the repository at root,
// from a copy of that revision's tree (git archive) in a new temporary directory, and returns the
// baseline and the directory to remove when done. The build needs that revision's modules, which
// the module proxy or cache provides.
func BuildWorkerAt(ctx context.Context, root, rev string) (Build, string, error) {
	dir, err := os.MkdirTemp("", "saleassist-baseline-")
	if err != nil {
		return Build{}, "", err
	}
	src := filepath.Join(dir, "src")
	if err := os.Mkdir(src, 0o755); err != nil {
		return Build{}, dir, err
	}
	tarball := filepath.Join(dir, "src.tar")
	if out, err := exec.CommandContext(ctx, "git", "-C", root, "archive", "-o", tarball, rev).CombinedOutput(); err != nil {
		return Build{}, dir, fmt.Errorf("git archive %s: %w\n%s", rev, err, out)
	}
	if out, err := exec.CommandContext(ctx, "tar", "-xf", tarball, "-C", src).CombinedOutput(); err != nil {
		return Build{}, dir, fmt.Errorf("unpack %s: %w\n%s", rev, err, out)
	}
	bin := filepath.Join(dir, "worker")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/worker")
	build.Dir = src
	if out, err := build.CombinedOutput(); err != nil {
		return Build{}, dir, fmt.Errorf("go build ./cmd/worker at %s: %w\n%s", rev, err, out)
	}
	return Build{Name: rev, Worker: bin}, dir, nil
}

// medianOf is the median of f over ds (0 for none).
func medianOf(ds []Drain, f func(*Drain) float64) float64 {
	vs := make([]float64, len(ds))
	for i := range ds {
		vs[i] = f(&ds[i])
	}
	return workerbench.Median(vs)
}

func storePerEvent(d *Drain) float64 { return float64(d.Host("store").PerEvent) }
func walPerEvent(d *Drain) float64   { return d.WALBytes }

// spread is "lo–hi" of f over ds, in f's unit (µs for durations).
func spread(ds []Drain, f func(*Drain) float64, unit func(float64) string) string {
	lo, hi := f(&ds[0]), f(&ds[0])
	for i := range ds[1:] {
		v := f(&ds[i+1])
		lo, hi = min(lo, v), max(hi, v)
	}
	return unit(lo) + "–" + unit(hi)
}

func micros(v float64) string  { return fmt.Sprintf("%.0f", time.Duration(v).Seconds()*1e6) }
func bytesOf(v float64) string { return fmt.Sprintf("%.0f", v) }

// WriteStoreCost prints the store's CPU and WAL per event of this build against each baseline,
// by worker count: medians over the rounds (with their range) and this build's ratio to the
// baseline's. It prints nothing without baselines.
func (r *Report) WriteStoreCost(out io.Writer) {
	if len(r.Options.Baselines) == 0 {
		return
	}
	fmt.Fprintf(out, "\nThe store's cost per event, this build against each baseline (drained in turn, %d round(s), medians and ranges):\n\n", r.Options.Rounds)
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "workers\tbuild\tstore CPU/event µs\trange\t× baseline\tWAL/event B\trange\t× baseline\tevents/s\t")
	for _, n := range r.Options.Workers {
		this := r.Drains[n]
		if len(this) == 0 {
			continue
		}
		for _, b := range r.Options.Baselines {
			base := r.Baselines[b.Name][n]
			if len(base) == 0 {
				continue
			}
			bc, bw := medianOf(base, storePerEvent), medianOf(base, walPerEvent)
			tc, tWAL := medianOf(this, storePerEvent), medianOf(this, walPerEvent)
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t\t%s\t%s\t\t%.0f\t\n", n, b.Name, micros(bc), spread(base, storePerEvent, micros),
				bytesOf(bw), spread(base, walPerEvent, bytesOf), medianOf(base, func(d *Drain) float64 { return d.Rate }))
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%.2f\t%s\t%s\t%.2f\t%.0f\t\n", n, "this build", micros(tc), spread(this, storePerEvent, micros), tc/bc,
				bytesOf(tWAL), spread(this, walPerEvent, bytesOf), tWAL/bw, medianOf(this, func(d *Drain) float64 { return d.Rate }))
		}
	}
	_ = tw.Flush()
}
