// Package workerbench measures how fast the real worker (pkg/app.Worker, what cmd/worker runs)
// drains a pre-filled JetStream backlog into SQLite, against a naive baseline
// (bench/naive/worker: one transaction per event) in the same run, and how the worker scales with
// payload size and with the number of worker instances sharing one SQLite file. It reports; it
// asserts nothing about speed. See README.md.
package workerbench

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"text/tabwriter"
	"time"
)

// Target is the goal: the real worker drains at least this many times faster than the
// naive one (medians of the rounds, ratio within each round).
const Target = 2.0

// Options configures a benchmark run; the zero value of each field means its default.
type Options struct {
	Events      int  // events per real/naive drain (default 50,000)
	ScaleEvents int  // events per scaling drain (default 5,000; payload-size drains capped at ~128 MB)
	Rounds      int  // real/naive rounds (default 3)
	SkipScaling bool // only the real vs naive comparison
	// Profile, when set, is where the CPU profile of the first real drain is written.
	Profile string
	// Synchronous, when set, is the real workers' SQLITE_SYNCHRONOUS (default: the worker's).
	Synchronous string
	// AlsoSynchronous, when set, adds a real drain with this SQLITE_SYNCHRONOUS to every round,
	// next to the real one, and reports its rate against the real one's.
	AlsoSynchronous string
	// Out receives the tables; Progress receives one line per drain.
	Out, Progress io.Writer
}

func (o *Options) defaults() {
	if o.Events <= 0 {
		o.Events = 50_000
	}
	if o.ScaleEvents <= 0 {
		o.ScaleEvents = 5_000
	}
	if o.Rounds <= 0 {
		o.Rounds = 3
	}
	if o.Out == nil {
		o.Out = os.Stdout
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
}

// Report holds every drain of a run.
type Report struct {
	Real, Naive []DrainResult // by round
	// Alt are the rounds' drains with Options.AlsoSynchronous, when asked for.
	Alt     []DrainResult
	AltSync string
	Sizes   []DrainResult // SizeSmall, SizeFixture, SizeLarge
	Scale   []DrainResult // 1, 2, 4 workers
}

// Ratio is the median over rounds of real/naive events per second within each round.
func (r *Report) Ratio() float64 {
	var ratios []float64
	for i := range min(len(r.Real), len(r.Naive)) {
		ratios = append(ratios, r.Real[i].PerSec()/r.Naive[i].PerSec())
	}
	return median(ratios)
}

// Run runs the benchmark and writes its tables to o.Out. Any drain that loses or duplicates an
// event fails the run.
func Run(ctx context.Context, o Options) (*Report, error) {
	o.defaults()
	root, err := FindModuleRoot()
	if err != nil {
		return nil, err
	}
	fixture, err := os.ReadFile(filepath.Join(root, FixturePath))
	if err != nil {
		return nil, err
	}
	tpls := map[string]*Template{}
	for _, s := range []string{SizeSmall, SizeFixture, SizeLarge} {
		if tpls[s], err = NewTemplate(fixture, s); err != nil {
			return nil, err
		}
	}
	rep := &Report{AltSync: o.AlsoSynchronous}
	drain := func(spec DrainSpec, label string) (DrainResult, error) {
		res, err := Drain(ctx, spec)
		if err != nil {
			return res, fmt.Errorf("%s: %w", label, err)
		}
		extra := ""
		if res.Batches > 0 {
			extra = fmt.Sprintf("; %.0f batches of %.1f events, batch handling %.2fs of which store %.2fs",
				res.Batches, res.MeanBatch(), res.BatchSeconds, res.StoreSeconds)
		}
		fmt.Fprintf(o.Progress, "workerbench: %-26s %6d events × %5d B  drain %7.2fs  %8.0f events/s  CPU %5.0f µs/event  (pre-fill %.1fs, untimed%s)\n",
			label, res.Events, res.BodyBytes, res.Drain.Seconds(), res.PerSec(), res.CPUMicrosPerEvent(), res.Prefill.Seconds(), extra)
		return res, nil
	}
	for round := range o.Rounds {
		const alt Kind = "alt" // the real worker with AlsoSynchronous
		kinds := []Kind{Real, Naive}
		if o.AlsoSynchronous != "" {
			kinds = []Kind{Real, alt, Naive}
		}
		if round%2 == 1 {
			slices.Reverse(kinds)
		}
		for _, k := range kinds {
			spec := DrainSpec{Kind: k, Events: o.Events, Template: tpls[SizeFixture], Synchronous: o.Synchronous}
			label := string(k)
			if k == alt {
				spec.Kind, spec.Synchronous = Real, o.AlsoSynchronous
				label = "real " + o.AlsoSynchronous
			}
			if k == Real && round == 0 && o.Profile != "" {
				spec.Profile = o.Profile
			}
			res, err := drain(spec, fmt.Sprintf("round %d/%d %s", round+1, o.Rounds, label))
			if err != nil {
				return rep, err
			}
			switch k {
			case Real:
				rep.Real = append(rep.Real, res)
			case alt:
				rep.Alt = append(rep.Alt, res)
			default:
				rep.Naive = append(rep.Naive, res)
			}
		}
	}
	if !o.SkipScaling {
		for _, s := range []string{SizeSmall, SizeFixture, SizeLarge} {
			n := min(o.ScaleEvents, max(1000, 128<<20/tpls[s].Size()))
			res, err := drain(DrainSpec{Kind: Real, Events: n, Template: tpls[s]}, "payload "+s+" real")
			if err != nil {
				return rep, err
			}
			rep.Sizes = append(rep.Sizes, res)
		}
		for _, w := range []int{1, 2, 4} {
			res, err := drain(DrainSpec{Kind: Real, Events: o.ScaleEvents, Workers: w, Template: tpls[SizeFixture]}, fmt.Sprintf("%d real worker(s)", w))
			if err != nil {
				return rep, err
			}
			rep.Scale = append(rep.Scale, res)
		}
	}
	rep.Write(o.Out)
	return rep, nil
}

// Write prints the report's tables.
func (r *Report) Write(out io.Writer) {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	perSec := func(rs []DrainResult) []float64 {
		v := make([]float64, len(rs))
		for i, x := range rs {
			v[i] = x.PerSec()
		}
		return v
	}
	if len(r.Real) > 0 {
		fmt.Fprintf(out, "\nWorker drain: %d pre-filled events of %d B each, %d rounds, loopback JetStream (file storage) → SQLite, GOMAXPROCS=%d, %s/%s\n",
			r.Real[0].Events, r.Real[0].BodyBytes, len(r.Real), runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH)
		fmt.Fprintln(tw, "worker\tmedian events/s\tmedian drain\tper round (events/s)\t")
		rows := []struct {
			name string
			rs   []DrainResult
		}{{"real (pkg/app.Worker)", r.Real}, {"naive (tx per event)", r.Naive}}
		if len(r.Alt) > 0 {
			rows = append(rows, struct {
				name string
				rs   []DrainResult
			}{"real, SQLITE_SYNCHRONOUS=" + r.AltSync, r.Alt})
		}
		for _, x := range rows {
			ps := perSec(x.rs)
			rounds := ""
			for i, p := range ps {
				if i > 0 {
					rounds += " "
				}
				rounds += fmt.Sprintf("%.0f", p)
			}
			fmt.Fprintf(tw, "%s\t%.0f\t%.2fs\t%s\t\n", x.name, median(ps), float64(x.rs[0].Events)/median(ps), rounds)
		}
		_ = tw.Flush()
		ratio := r.Ratio()
		holds := "holds"
		if ratio < Target {
			holds = "MISSED"
		}
		fmt.Fprintf(out, "ratio real/naive (median of per-round ratios): %.2f×   target ≥ %.0f×: %s\n", ratio, Target, holds)
		if len(r.Alt) > 0 {
			var alt, altNaive []float64
			for i := range min(len(r.Alt), len(r.Real), len(r.Naive)) {
				alt = append(alt, r.Alt[i].PerSec()/r.Real[i].PerSec())
				altNaive = append(altNaive, r.Alt[i].PerSec()/r.Naive[i].PerSec())
			}
			fmt.Fprintf(out, "ratio SQLITE_SYNCHRONOUS=%s/real: %.2f×, %s/naive: %.2f× (medians of per-round ratios)\n", r.AltSync, median(alt), r.AltSync, median(altNaive))
		}
	}
	if len(r.Sizes) > 0 {
		fmt.Fprintf(out, "\nPayload size (real worker, 1 instance, one run each)\n")
		fmt.Fprintln(tw, "payload\tbytes\tevents\tdrain\tµs/event\tevents/s\tMB/s\t")
		for i, x := range r.Sizes {
			name := []string{SizeSmall, SizeFixture, SizeLarge}[i]
			fmt.Fprintf(tw, "%s\t%d\t%d\t%.2fs\t%.1f\t%.0f\t%.1f\t\n", name, x.BodyBytes, x.Events, x.Drain.Seconds(), x.MicrosPerEvent(), x.PerSec(), x.MBPerSec())
		}
		_ = tw.Flush()
	}
	if len(r.Scale) > 0 {
		fmt.Fprintf(out, "\nWorker instances sharing one SQLite file (real worker, %d events of %d B, one run each)\n", r.Scale[0].Events, r.Scale[0].BodyBytes)
		fmt.Fprintln(tw, "workers\tevents/s\tdrain\tvs 1 worker\t")
		for _, x := range r.Scale {
			fmt.Fprintf(tw, "%d\t%.0f\t%.2fs\t%.2f×\t\n", x.Workers, x.PerSec(), x.Drain.Seconds(), x.PerSec()/r.Scale[0].PerSec())
		}
		_ = tw.Flush()
	}
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// Elapsed formats a duration for progress lines.
func Elapsed(d time.Duration) string { return d.Round(100 * time.Millisecond).String() }
