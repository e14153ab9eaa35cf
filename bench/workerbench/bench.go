// Package workerbench measures how fast the real worker (workerapp.Program, what cmd/worker runs)
// drains a pre-filled JetStream backlog into SQLite, against a naive baseline
// (bench/naive/worker: one transaction per event) in the same run, and how the worker scales with
// payload size and with the number of worker instances sharing one SQLite file. It reports; it
// asserts nothing about speed. See README.md.
package workerbench

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
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
	// PostgresURL is the PostgreSQL server the PostgreSQL section creates (and drops) one fresh
	// database per drain on. Empty, the section is skipped with one line saying how to enable it:
	// the harness never touches a server it was not given. Unreachable, it is skipped too.
	// SkipPostgres skips it outright.
	PostgresURL  string
	SkipPostgres bool
	// PGEvents is the events per PostgreSQL worker-count drain (default 20,000); PGPerPerson,
	// above 1, adds one round of 1, 2, 4 workers where that many events share each person.
	PGEvents    int
	PGPerPerson int
	// PGProfile, when set, is where the CPU profile of an extra in-process drain of one unlimited
	// PostgreSQL worker (PGEvents events) is written.
	PGProfile string
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
	if o.PGEvents <= 0 {
		o.PGEvents = 20_000
	}
	if o.Out == nil {
		o.Out = os.Stdout
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
}

// postgresSection decides whether the PostgreSQL section runs: it returns why not, or the
// server's version. It connects only to a server it was given (-pg-url / TEST_DATABASE_URL).
func postgresSection(ctx context.Context, o Options) (skipped, version string) {
	switch {
	case o.SkipPostgres:
		return "-skip-postgres", ""
	case o.PostgresURL == "":
		return "no server given; it creates and drops one database per drain, so it runs only on a server named with -pg-url postgres://… or TEST_DATABASE_URL (make bench-scaleout measures PostgreSQL on the hosts lab's own server)", ""
	}
	v, err := PostgresReachable(ctx, o.PostgresURL)
	if err != nil {
		return fmt.Sprintf("PostgreSQL unreachable at %s (%v)", redactURL(o.PostgresURL), err), ""
	}
	return "", v
}

// Report holds every drain of a run.
type Report struct {
	Real, Naive []DrainResult // by round
	// Alt are the rounds' drains with Options.AlsoSynchronous, when asked for.
	Alt     []DrainResult
	AltSync string
	// NoFields are the rounds' real drains without the kept schema's upkeep (issue 23 item 8),
	// next to Real, to show what keeping it costs per event.
	NoFields []DrainResult
	Sizes    []DrainResult // SizeSmall, SizeFixture, SizeLarge
	Scale    []DrainResult // 1, 2, 4 workers

	// PostgreSQL section: PGSkipped says why it did not run; PG are the rounds' unlimited worker
	// process drains (next to Real and Naive); PGScale the one-core worker process drains by
	// worker count (1, 2, 4), one per round; PGPerPerson one of each with several events per person.
	PGSkipped   string
	PGVersion   string
	PG          []DrainResult
	PGScale     map[int][]DrainResult
	PGPerPerson []DrainResult
	// PGSharedMeeting is one drain of two one-core workers where every event names the fixture's
	// one meeting.
	PGSharedMeeting DrainResult
}

// PGWorkers are the worker counts of the PostgreSQL section.
var PGWorkers = []int{1, 2, 4}

// PGRatio is the median over rounds of unlimited PostgreSQL worker / naive events per second.
func (r *Report) PGRatio() float64 {
	var ratios []float64
	for i := range min(len(r.PG), len(r.Naive)) {
		ratios = append(ratios, r.PG[i].PerSec()/r.Naive[i].PerSec())
	}
	return Median(ratios)
}

// PGScaleRatio is the median over rounds of the events/s of a workers over b workers.
func (r *Report) PGScaleRatio(a, b int) float64 {
	var ratios []float64
	for i := range min(len(r.PGScale[a]), len(r.PGScale[b])) {
		ratios = append(ratios, r.PGScale[a][i].PerSec()/r.PGScale[b][i].PerSec())
	}
	return Median(ratios)
}

// PGCPU is the median CPU µs per event (workers + server) of the n-worker drains.
func (r *Report) PGCPU(n int) float64 {
	var v []float64
	for _, x := range r.PGScale[n] {
		v = append(v, x.CPUMicrosPerEvent())
	}
	return Median(v)
}

// Ratio is the median over rounds of real/naive events per second within each round.
func (r *Report) Ratio() float64 {
	var ratios []float64
	for i := range min(len(r.Real), len(r.Naive)) {
		ratios = append(ratios, r.Real[i].PerSec()/r.Naive[i].PerSec())
	}
	return Median(ratios)
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
	rep := &Report{AltSync: o.AlsoSynchronous, PGScale: map[int][]DrainResult{}}
	var workerBin string
	var postmaster int // the local PostgreSQL server's, for its CPU time
	if rep.PGSkipped, rep.PGVersion = postgresSection(ctx, o); rep.PGSkipped == "" {
		if postmaster = Postmaster(ctx, o.PostgresURL); postmaster == 0 {
			fmt.Fprintln(o.Progress, "workerbench: the PostgreSQL server is not a local process: its CPU time reads 0")
		}
		dir, err := os.MkdirTemp("", "workerbench-bin-*")
		if err != nil {
			return nil, err
		}
		defer func() { _ = os.RemoveAll(dir) }()
		// Built once: every PostgreSQL drain runs this binary, what operators deploy.
		if workerBin, err = BuildWorker(ctx, root, dir); err != nil {
			return nil, err
		}
	}
	if rep.PGSkipped != "" {
		fmt.Fprintf(o.Progress, "workerbench: PostgreSQL section skipped: %s\n", rep.PGSkipped)
	}
	drain := func(spec DrainSpec, label string) (DrainResult, error) {
		res, err := Drain(ctx, spec)
		if err != nil {
			return res, fmt.Errorf("%s: %w", label, err)
		}
		extra := ""
		if spec.WorkerBin != "" {
			extra += fmt.Sprintf("; CPU workers %.0f + server %.0f µs/event", us(res.WorkerCPU, res.Events), us(res.ServerCPU, res.Events))
		} else if spec.Postgres != "" {
			extra += fmt.Sprintf("; of which server %.0f µs/event", us(res.ServerCPU, res.Events))
		}
		if res.Batches > 0 {
			extra += fmt.Sprintf("; %.0f batches of %.1f events, batch handling %.2fs of which store %.2fs",
				res.Batches, res.MeanBatch(), res.BatchSeconds, res.StoreSeconds)
		}
		extra += "; " + res.Waits.String()
		fmt.Fprintf(o.Progress, "workerbench: %-26s %6d events × %5d B  drain %7.2fs  %8.0f events/s  CPU %5.0f µs/event  (pre-fill %.1fs, untimed%s)\n",
			label, res.Events, res.BodyBytes, res.Drain.Seconds(), res.PerSec(), res.CPUMicrosPerEvent(), res.Prefill.Seconds(), extra)
		return res, nil
	}
	for round := range o.Rounds {
		const alt Kind = "alt"            // the real worker with AlsoSynchronous
		const pg Kind = "pg"              // one unlimited cmd/worker process on PostgreSQL
		const noFields Kind = "no-fields" // the real worker without the kept schema's upkeep
		kinds := []Kind{Real, noFields, Naive}
		if o.AlsoSynchronous != "" {
			kinds = []Kind{Real, noFields, alt, Naive}
		}
		if workerBin != "" {
			kinds = append(kinds, pg)
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
			if k == noFields {
				spec.Kind, spec.SkipFields = Real, true
				label = "real, no kept schema"
			}
			if k == pg {
				spec = DrainSpec{Kind: Real, Events: o.Events, Template: tpls[SizeFixture], Postgres: o.PostgresURL, Postmaster: postmaster, WorkerBin: workerBin, MeetingPerPerson: true}
				label = "postgres 1 process"
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
			case noFields:
				rep.NoFields = append(rep.NoFields, res)
			case pg:
				rep.PG = append(rep.PG, res)
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
	if workerBin != "" {
		if err := runPostgres(ctx, o, rep, workerBin, postmaster, tpls[SizeFixture], drain); err != nil {
			return rep, err
		}
	}
	rep.Write(o.Out)
	return rep, nil
}

// runPostgres runs the PostgreSQL worker-count drains: o.Rounds rounds of 1, 2 and 4 one-core
// cmd/worker processes (the order alternating), then, if asked, one round with several events
// per person and the profiled in-process drain.
func runPostgres(ctx context.Context, o Options, rep *Report, bin string, postmaster int, tpl *Template, drain func(DrainSpec, string) (DrainResult, error)) error {
	for round := range o.Rounds {
		ws := slices.Clone(PGWorkers)
		if round%2 == 1 {
			slices.Reverse(ws)
		}
		for _, w := range ws {
			spec := DrainSpec{Kind: Real, Events: o.PGEvents, Workers: w, Template: tpl, Postgres: o.PostgresURL, Postmaster: postmaster, WorkerBin: bin, MaxProcs: 1, MeetingPerPerson: true}
			res, err := drain(spec, fmt.Sprintf("pg round %d/%d %d×1-core", round+1, o.Rounds, w))
			if err != nil {
				return err
			}
			rep.PGScale[w] = append(rep.PGScale[w], res)
		}
	}
	if o.PGPerPerson > 1 {
		for _, w := range PGWorkers {
			spec := DrainSpec{Kind: Real, Events: o.PGEvents, Workers: w, Template: tpl, Postgres: o.PostgresURL, Postmaster: postmaster, WorkerBin: bin, MaxProcs: 1, PerPerson: o.PGPerPerson, MeetingPerPerson: true}
			res, err := drain(spec, fmt.Sprintf("pg %d/person %d×1-core", o.PGPerPerson, w))
			if err != nil {
				return err
			}
			rep.PGPerPerson = append(rep.PGPerPerson, res)
		}
	}
	// Two workers on the fixture as it is: every event names the same meeting (see
	// DrainSpec.MeetingPerPerson), what a backlog of one webinar's registrations looks like.
	spec := DrainSpec{Kind: Real, Events: o.PGEvents, Workers: 2, Template: tpl, Postgres: o.PostgresURL, Postmaster: postmaster, WorkerBin: bin, MaxProcs: 1}
	res, err := drain(spec, "pg one meeting 2×1-core")
	if err != nil {
		return err
	}
	rep.PGSharedMeeting = res
	if o.PGProfile != "" {
		spec := DrainSpec{Kind: Real, Events: o.PGEvents, Template: tpl, Postgres: o.PostgresURL, Postmaster: postmaster, Profile: o.PGProfile, MeetingPerPerson: true}
		if _, err := drain(spec, "pg in-process, profiled"); err != nil {
			return err
		}
	}
	return nil
}

// us is d in microseconds per event.
func us(d time.Duration, events int) float64 { return float64(d.Microseconds()) / float64(events) }

// redactURL hides a password in a PostgreSQL URL for messages.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
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
		}{{"real (workerapp.Program)", r.Real}, {"naive (tx per event)", r.Naive}}
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
			fmt.Fprintf(tw, "%s\t%.0f\t%.2fs\t%s\t\n", x.name, Median(ps), float64(x.rs[0].Events)/Median(ps), rounds)
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
			fmt.Fprintf(out, "ratio SQLITE_SYNCHRONOUS=%s/real: %.2f×, %s/naive: %.2f× (medians of per-round ratios)\n", r.AltSync, Median(alt), r.AltSync, Median(altNaive))
		}
		r.writeFields(out)
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
	r.writePostgres(out, tw)
	if len(r.Scale) > 0 {
		fmt.Fprintf(out, "\nWorker instances sharing one SQLite file (real worker, %d events of %d B, one run each)\n", r.Scale[0].Events, r.Scale[0].BodyBytes)
		fmt.Fprintln(tw, "workers\tevents/s\tdrain\tvs 1 worker\t")
		for _, x := range r.Scale {
			fmt.Fprintf(tw, "%d\t%.0f\t%.2fs\t%.2f×\t\n", x.Workers, x.PerSec(), x.Drain.Seconds(), x.PerSec()/r.Scale[0].PerSec())
		}
		_ = tw.Flush()
	}
}

// Median is the median of v (the mean of the middle two for an even count; 0 for none).
func Median(v []float64) float64 {
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

// writePostgres prints the PostgreSQL section: one line when it was skipped.
func (r *Report) writePostgres(out io.Writer, tw *tabwriter.Writer) {
	if r.PGSkipped != "" {
		fmt.Fprintf(out, "\nPostgreSQL: skipped: %s\n", r.PGSkipped)
		return
	}
	if len(r.PGScale[1]) == 0 {
		return
	}
	holds := func(ok bool) string {
		if ok {
			return "holds"
		}
		return "MISSED"
	}
	perRound := func(rs []DrainResult) string {
		var b []string
		for _, x := range rs {
			b = append(b, fmt.Sprintf("%.0f", x.PerSec()))
		}
		return strings.Join(b, " ")
	}
	med := func(rs []DrainResult, f func(DrainResult) float64) float64 {
		var v []float64
		for _, x := range rs {
			v = append(v, f(x))
		}
		return Median(v)
	}
	perSec := func(x DrainResult) float64 { return x.PerSec() }
	wcpu := func(x DrainResult) float64 { return us(x.WorkerCPU, x.Events) }
	scpu := func(x DrainResult) float64 { return us(x.ServerCPU, x.Events) }
	cpu := func(x DrainResult) float64 { return x.CPUMicrosPerEvent() }
	fmt.Fprintf(out, "\nWorker drain on PostgreSQL %s: cmd/worker processes, a fresh database per drain, %d events of %d B each (one lead and one meeting per event), %d rounds; CPU = worker processes + local postgres processes, from /proc\n",
		r.PGVersion, r.PGScale[1][0].Events, r.PGScale[1][0].BodyBytes, len(r.PGScale[1]))
	fmt.Fprintln(tw, "workers\tGOMAXPROCS\tmedian events/s\tvs 1\tper round (events/s)\tworker CPU µs/event\tserver CPU µs/event\tCPU µs/event\tvs 1\t")
	for _, w := range PGWorkers {
		rs := r.PGScale[w]
		fmt.Fprintf(tw, "%d\t1 each\t%.0f\t%.2f×\t%s\t%.0f\t%.0f\t%.0f\t%+.0f%%\t\n", w, med(rs, perSec), r.PGScaleRatio(w, 1), perRound(rs),
			med(rs, wcpu), med(rs, scpu), med(rs, cpu), 100*(r.PGCPU(w)/r.PGCPU(1)-1))
	}
	if len(r.PG) > 0 {
		fmt.Fprintf(tw, "1\tunlimited (%d events)\t%.0f\t\t%s\t%.0f\t%.0f\t%.0f\t\t\n", r.PG[0].Events, med(r.PG, perSec), perRound(r.PG),
			med(r.PG, wcpu), med(r.PG, scpu), med(r.PG, cpu))
	}
	_ = tw.Flush()
	two, four := r.PGScaleRatio(2, 1), r.PGScaleRatio(4, 2)
	fmt.Fprintf(out, "2 one-core workers / 1 (median of per-round ratios): %.2f×   target ≥ %.1f×: %s\n", two, TargetTwoOverOne, holds(two >= TargetTwoOverOne))
	fmt.Fprintf(out, "4 one-core workers / 2: %.2f×   target ≥ 1× (no slower): %s\n", four, holds(four >= 1))
	worst := 0.0
	for _, w := range PGWorkers[1:] {
		if d := r.PGCPU(w)/r.PGCPU(1) - 1; math.Abs(d) > math.Abs(worst) {
			worst = d
		}
	}
	fmt.Fprintf(out, "CPU per event, 2 and 4 workers vs 1: at most %+.0f%%   target within ±%.0f%%: %s\n", 100*worst, 100*TargetCPUFlat, holds(math.Abs(worst) <= TargetCPUFlat))
	if len(r.PG) > 0 && len(r.Naive) > 0 {
		ratio := r.PGRatio()
		fmt.Fprintf(out, "1 unlimited PostgreSQL worker / naive (same rounds, median of per-round ratios): %.2f×   target ≥ %.1f×: %s\n", ratio, TargetPGOverNaive, holds(ratio >= TargetPGOverNaive))
	}
	if x := r.PGSharedMeeting; x.Events > 0 {
		fmt.Fprintf(out, "2 one-core workers, every event naming the fixture's one meeting (one run): %.0f events/s, %.2f× the 2-worker median above; CPU %.0f µs/event\n",
			x.PerSec(), x.PerSec()/med(r.PGScale[2], perSec), cpu(x))
	}
	if len(r.PGPerPerson) > 0 {
		x := r.PGPerPerson[0]
		fmt.Fprintf(out, "\nPostgreSQL, %d events per person (%d events, %d leads; one-core workers, one run each)\n", x.Events/x.Leads, x.Events, x.Leads)
		fmt.Fprintln(tw, "workers\tevents/s\tvs 1\tworker CPU µs/event\tserver CPU µs/event\tCPU µs/event\t")
		for _, x := range r.PGPerPerson {
			fmt.Fprintf(tw, "%d\t%.0f\t%.2f×\t%.0f\t%.0f\t%.0f\t\n", x.Workers, x.PerSec(), x.PerSec()/r.PGPerPerson[0].PerSec(), wcpu(x), scpu(x), cpu(x))
		}
		_ = tw.Flush()
	}
}

// writeFields reports what the kept schema's upkeep costs: the real drains against the same
// worker without it, in the same rounds (CPU of the whole process per event, and rate).
func (r *Report) writeFields(out io.Writer) {
	n := min(len(r.NoFields), len(r.Real))
	if n == 0 {
		return
	}
	var with, without, dCPU, rate []float64
	for i := range n {
		with = append(with, r.Real[i].CPUMicrosPerEvent())
		without = append(without, r.NoFields[i].CPUMicrosPerEvent())
		dCPU = append(dCPU, r.Real[i].CPUMicrosPerEvent()-r.NoFields[i].CPUMicrosPerEvent())
		rate = append(rate, r.Real[i].PerSec()/r.NoFields[i].PerSec())
	}
	fmt.Fprintf(out, "kept schema upkeep (issue 23 item 8): CPU %.1f µs/event with, %.1f without (medians); difference %+.1f µs/event (median of per-round differences, %+.1f%%); rate with/without %.3f×\n",
		Median(with), Median(without), Median(dCPU), 100*Median(dCPU)/Median(without), Median(rate))
}
