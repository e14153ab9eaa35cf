package scaleout

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// Targets of the scale-out (issue "Hosts, not processes").
const (
	Target2 = 1.9 // 2 workers ≥ 1.9× one
	Target4 = 3.6 // 4 workers ≥ 3.6× one
	// TargetFlat is how far the workers' CPU per event may drift from 1 to 4 workers.
	TargetFlat = 0.10
)

func us(d time.Duration) string { return micros(float64(d)) + " µs" }

// Write prints the quotas, one table row per worker count (medians over the rounds), each host's
// CPU per event and busy share, which host is full first, and the targets.
func (r *Report) Write(out io.Writer) {
	o := r.Options
	who := "distinct people"
	if o.Returning {
		who = fmt.Sprintf("%d people sending two each (the second half of the stream updates their leads)", max(1, o.Events/2))
	}
	fmt.Fprintf(out, "Scale-out on the hosts lab: %d events of %s per drain, %d round(s), medians.\n", o.Events, who, o.Rounds)
	fmt.Fprintf(out, "Quotas: worker %.2g core each, store (PostgreSQL) %.2g, NATS %.2g; at %d workers %.2g of the machine's 2 cores (CFS period %s).\n\n",
		o.WorkerCores, o.StoreCores, o.NATSCores, o.Workers[len(o.Workers)-1], o.Budget(), "10ms")
	one := r.Median(o.Workers[0])
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "workers\tevents/s\t× one\tworker CPU/event\tworkers busy\tstore CPU/event\tstore busy\tNATS CPU/event\tNATS busy\tWAL/event\tfullest host\t")
	for _, n := range o.Workers {
		d := r.Median(n)
		if d == nil {
			continue
		}
		store, nh := d.Host("store"), d.Host("nats")
		f := d.Fullest()
		fmt.Fprintf(tw, "%d\t%.0f\t%.2f\t%s\t%s\t%s\t%.0f%%\t%s\t%.0f%%\t%.0f B\t%s %.0f%%\t\n", n, d.Rate, d.Rate/one.Rate,
			us(d.WorkerPerEvent()), workersBusy(d), us(store.PerEvent), 100*store.Busy, us(nh.PerEvent), 100*nh.Busy, d.WALBytes, f.Name, 100*f.Busy)
	}
	if r.Hot != nil {
		d := r.Hot
		store, nh := d.Host("store"), d.Host("nats")
		f := d.Fullest()
		fmt.Fprintf(tw, "%d, one person\t%.0f\t%.2f\t%s\t%s\t%s\t%.0f%%\t%s\t%.0f%%\t%.0f B\t%s %.0f%%\t\n", d.Workers, d.Rate, d.Rate/one.Rate,
			us(d.WorkerPerEvent()), workersBusy(d), us(store.PerEvent), 100*store.Busy, us(nh.PerEvent), 100*nh.Busy, d.WALBytes, f.Name, 100*f.Busy)
	}
	_ = tw.Flush()
	fmt.Fprintln(out)
	if o.Workers[0] != 1 {
		// The targets compare with one worker; without that drain "× one" is to the first count.
		fmt.Fprintf(out, "(no drain with one worker: \"× one\" is to %d workers, and the scale-out targets are not judged)\n", o.Workers[0])
		return
	}
	for _, t := range []struct {
		n    int
		want float64
	}{{2, Target2}, {4, Target4}} {
		if d := r.Median(t.n); d != nil {
			fmt.Fprintf(out, "target: %d workers ≥ %.1f× one: %.2f× — %s\n", t.n, t.want, d.Rate/one.Rate, verdict(d.Rate/one.Rate >= t.want))
		}
	}
	if d := r.Median(4); d != nil && one.WorkerPerEvent() > 0 {
		drift := float64(d.WorkerPerEvent())/float64(one.WorkerPerEvent()) - 1
		fmt.Fprintf(out, "target: worker CPU per event flat within ±%.0f%% from 1 to 4 workers: %s → %s (%+.0f%%) — %s\n",
			100*TargetFlat, us(one.WorkerPerEvent()), us(d.WorkerPerEvent()), 100*drift, verdict(drift <= TargetFlat && drift >= -TargetFlat))
	}
	// Workers at their quota are what a scale-out wants: the question is which other host fills.
	for _, n := range o.Workers {
		d := r.Median(n)
		if d == nil {
			continue
		}
		for _, name := range []string{"store", "nats"} {
			if h := d.Host(name); h != nil && h.Busy >= 0.9 {
				fmt.Fprintf(out, "first full: at %d workers, the %s host used %.0f%% of its %.2g core: it sets the ceiling from there on.\n", n, name, 100*h.Busy, h.Cores)
				return
			}
		}
	}
	last := r.Median(o.Workers[len(o.Workers)-1])
	fmt.Fprintf(out, "no shared host reached 90%% of its quota (at %d workers: store %.0f%%, NATS %.0f%%; workers %s): the workers' own quotas set the rate.\n",
		last.Workers, 100*last.Host("store").Busy, 100*last.Host("nats").Busy, workersBusy(last))
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}

// workersBusy is the range of the worker hosts' busy shares.
func workersBusy(d *Drain) string {
	lo, hi := 2.0, 0.0
	for _, h := range d.Hosts {
		if strings.HasPrefix(h.Name, "worker") {
			lo, hi = min(lo, h.Busy), max(hi, h.Busy)
		}
	}
	if hi == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f–%.0f%%", 100*lo, 100*hi)
}

// Plot draws events/s against worker hosts (medians), with the linear ideal from one worker and
// the store host's busy share, and writes it to path (.svg or .png, by its extension).
func (r *Report) Plot(path string) error {
	one := r.Median(r.Options.Workers[0])
	if one == nil {
		return fmt.Errorf("no drains to plot")
	}
	p := plot.New()
	p.Title.Text = fmt.Sprintf("Worker scale-out on the hosts lab (worker %.2g core, store %.2g, NATS %.2g)",
		r.Options.WorkerCores, r.Options.StoreCores, r.Options.NATSCores)
	p.X.Label.Text = "worker hosts"
	p.Y.Label.Text = "events stored per second"
	p.Legend.Top, p.Legend.Left = true, true
	var measured, ideal plotter.XYs
	for _, n := range r.Options.Workers {
		if d := r.Median(n); d != nil {
			measured = append(measured, plotter.XY{X: float64(n), Y: d.Rate})
			ideal = append(ideal, plotter.XY{X: float64(n), Y: one.Rate * float64(n)})
		}
	}
	lm, pm, err := plotter.NewLinePoints(measured)
	if err != nil {
		return err
	}
	li, err := plotter.NewLine(ideal)
	if err != nil {
		return err
	}
	li.Dashes = []vg.Length{vg.Points(4), vg.Points(4)}
	p.Add(lm, pm, li, plotter.NewGrid())
	p.Legend.Add("measured (median)", lm, pm)
	p.Legend.Add("linear from one worker", li)
	for _, xy := range measured {
		if d := r.Median(int(xy.X)); d != nil {
			labels, err := plotter.NewLabels(plotter.XYLabels{XYs: plotter.XYs{xy},
				Labels: []string{fmt.Sprintf("  store %.0f%%", 100*d.Host("store").Busy)}})
			if err == nil {
				p.Add(labels)
			}
		}
	}
	return p.Save(8*vg.Inch, 5*vg.Inch, path)
}
