// Command ingestbench is the ingest half of `make bench`: it builds cmd/ingest and the naive
// baseline (bench/naive/ingest), loads each in turn on loopback with bench/loadgen, and prints
// req/s, latency, non-2xx and peak RSS for both and their ratio; then it finds the highest
// constant rate the standalone pipeline (ingest + in-process worker) sustains with bounded
// consumer lag. Everything is on 127.0.0.1 and bounded in time (~2.5 minutes by default).
// See bench/README.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/saleassist-pipeline/pipeline/bench/loadgen"
)

const (
	secret       = "bench-secret-not-for-production"
	secretHeader = "X-Webhook-Secret"
	webhookPath  = "/webhooks/saleassist"
	mib          = 1 << 20
	// streamMaxBytes lifts the events stream's backlog limit for the ingest-only runs: without a
	// worker nothing leaves the stream, and 12 s at ~25k req/s of 4.7 KB bodies exceeds the 1 GiB
	// default, which would turn into 503s that say nothing about the ingest's speed.
	streamMaxBytes = 16 << 30
)

type options struct {
	rounds      int
	warmup      time.Duration
	duration    time.Duration
	conns       int
	e2e         bool
	e2eStep     time.Duration
	e2eSteps    int
	e2eConns    int
	profile     bool
	out         string
	keep        bool
	skipIngest  bool
	load        string
	mem         bool
	memWindow   time.Duration
	memDuration time.Duration
	abRef       string
	abRates     []float64
}

func main() {
	var o options
	flag.IntVar(&o.rounds, "rounds", 3, "rounds of (real, naive); figures are medians over rounds")
	flag.DurationVar(&o.warmup, "warmup", 2*time.Second, "warm-up before each measurement")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "measurement per server per round")
	flag.IntVar(&o.conns, "conns", 64, "connections for the ingest comparison")
	flag.BoolVar(&o.e2e, "e2e", true, "run the end-to-end section")
	flag.DurationVar(&o.e2eStep, "e2e-step", 30*time.Second, "end to end: how long each offered rate is held")
	flag.IntVar(&o.e2eSteps, "e2e-steps", 3, "end to end: rates tried after the capacity probe (a search: more steps, finer answer)")
	flag.IntVar(&o.e2eConns, "e2e-conns", 256, "end to end: connections of the open-loop generator (enough that sends are not late)")
	flag.BoolVar(&o.profile, "profile", false, "run the first real ingest with PPROF_ADDR and save a CPU profile of its measurement to OUT/ingest.cpu.pprof")
	flag.StringVar(&o.out, "out", "bench/out", "where -profile writes (relative to the module root)")
	flag.BoolVar(&o.keep, "keep", false, "keep the temporary directory (binaries, data, server logs)")
	flag.BoolVar(&o.skipIngest, "skip-ingest", false, "skip the real-vs-naive comparison (end to end only)")
	flag.StringVar(&o.load, "load", "auto", "load generator for the ingest comparison: wrk (needs wrk on PATH; bench/wrk/unique.lua), go (bench/loadgen), or auto: wrk when it is on PATH, else go")
	flag.BoolVar(&o.mem, "memory", false, "run the memory section: the real ingest under load for several duplicate windows, RSS per window (make bench-memory)")
	flag.DurationVar(&o.memWindow, "memory-window", 15*time.Second, "memory: the events stream's STREAM_DUPLICATE_WINDOW")
	flag.DurationVar(&o.memDuration, "memory-duration", 120*time.Second, "memory: how long the load runs (at least 3 windows)")
	flag.StringVar(&o.abRef, "ab-ref", "", "A/B: also build cmd/ingest from this git ref (e.g. main) and measure it in the same run: a third server in the ingest comparison, its own end-to-end search, and -ab-rate")
	abRates := flag.String("ab-rate", "", "A/B (with -ab-ref): hold both builds' standalone pipelines at this constant rate (events/s; a comma-separated list for several) for -e2e-step, -rounds times in alternating order, and compare CPU per event; empty = skip")
	flag.Parse()
	for _, f := range strings.Split(*abRates, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		r, err := strconv.ParseFloat(f, 64)
		if err != nil || r <= 0 {
			fmt.Fprintf(os.Stderr, "ingestbench: -ab-rate %q: want positive numbers, comma-separated\n", *abRates)
			os.Exit(2)
		}
		o.abRates = append(o.abRates, r)
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "ingestbench:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	began := time.Now()
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	if o.load == "auto" {
		o.load = "go"
		if _, err := exec.LookPath("wrk"); err == nil {
			o.load = "wrk"
		}
	}
	switch o.load {
	case "go":
	case "wrk":
		if _, err := exec.LookPath("wrk"); err != nil {
			return fmt.Errorf("-load wrk: wrk is not on PATH (Debian: apt-get install wrk), or use -load go")
		}
	default:
		return fmt.Errorf("-load %q: want auto, wrk or go", o.load)
	}
	tmp, err := os.MkdirTemp("", "ingestbench-")
	if err != nil {
		return err
	}
	if o.keep {
		fmt.Println("keeping", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}
	fix, err := os.ReadFile(filepath.Join(root, "testdata/fixtures/widget_new_conversation.json"))
	if err != nil {
		return err
	}
	body, err := loadgen.NewBody(fix, loadgen.FixtureID, "")
	if err != nil {
		return err
	}
	fmt.Printf("ingestbench: building cmd/ingest and bench/naive/ingest …\n")
	realBin, err := build(ctx, root, tmp, "./cmd/ingest", "ingest")
	if err != nil {
		return err
	}
	naiveBin, err := build(ctx, root, tmp, "./bench/naive/ingest", "naive-ingest")
	if err != nil {
		return err
	}
	b := &bench{o: o, root: root, tmp: tmp, body: body, realBin: realBin, naiveBin: naiveBin}
	if o.abRef != "" {
		fmt.Printf("ingestbench: building cmd/ingest from %s …\n", o.abRef)
		if b.baseBin, err = buildRef(ctx, root, tmp, o.abRef); err != nil {
			return err
		}
	}
	if !o.skipIngest {
		if err := b.ingest(ctx); err != nil {
			return err
		}
	}
	if o.e2e {
		if err := b.endToEnd(ctx, b.realBin, "this build"); err != nil {
			return err
		}
		if b.baseBin != "" {
			if err := b.endToEnd(ctx, b.baseBin, o.abRef); err != nil {
				return err
			}
		}
	}
	for _, rate := range o.abRates {
		if b.baseBin == "" {
			return fmt.Errorf("-ab-rate needs -ab-ref")
		}
		if err := b.abFixedRate(ctx, rate); err != nil {
			return err
		}
	}
	if o.mem {
		if err := b.memory(ctx); err != nil {
			return err
		}
	}
	fmt.Printf("\ningestbench: done in %s\n", time.Since(began).Round(time.Second))
	return nil
}

type bench struct {
	o                 options
	root, tmp         string
	body              *loadgen.Body
	realBin, naiveBin string
	baseBin           string // cmd/ingest built from -ab-ref, when set
	runs              int
}

// measured is one server's figures in one round.
type measured struct {
	rps          float64
	p50, p99     time.Duration
	non2xx, errs int64
	peak         int64 // VmHWM, bytes
	rssFrom      int64 // VmRSS at the start of the measurement
	rssEnd       int64 // VmRSS at its end
	sample       string
	cpu          time.Duration // the server's CPU per answer in the measurement
	cores        float64       // the server's CPU seconds per second in it
}

// server starts the real ingest or the naive baseline on a fresh data dir and free port.
func (b *bench) server(kind string, worker bool, pprofAddr string, extraEnv ...string) (*proc, error) {
	return b.serverBin(b.realBin, kind, worker, pprofAddr, extraEnv...)
}

// serverBin is server with another build of cmd/ingest (the A/B comparison's baseline).
func (b *bench) serverBin(bin, kind string, worker bool, pprofAddr string, extraEnv ...string) (*proc, error) {
	b.runs++
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(b.tmp, fmt.Sprintf("data-%02d-%s", b.runs, kind))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	name := fmt.Sprintf("%02d-%s", b.runs, kind)
	if kind == "naive" {
		return start(name, b.naiveBin, []string{"-addr", addr, "-data-dir", dir}, cleanEnv(), port, "/healthz", b.tmp)
	}
	env := append([]string{"WEBHOOK_SECRETS=" + secret}, extraEnv...)
	if pprofAddr != "" {
		env = append(env, "PPROF_ADDR="+pprofAddr)
	}
	args := []string{"-addr", addr, "-data-dir", dir, "-embedded-nats-addr=", "-console-addr=", "-worker=" + strconv.FormatBool(worker),
		"-stream-max-bytes", strconv.FormatInt(streamMaxBytes, 10)}
	return start(name, bin, args, cleanEnv(env...), port, "/readyz", b.tmp)
}

func (b *bench) measure(ctx context.Context, kind string, profile bool) (measured, error) {
	var err error
	pprofAddr := ""
	if profile {
		port, err := freePort()
		if err != nil {
			return measured{}, err
		}
		pprofAddr = fmt.Sprintf("127.0.0.1:%d", port)
	}
	var p *proc
	if kind == "base" {
		p, err = b.serverBin(b.baseBin, kind, false, pprofAddr)
	} else {
		p, err = b.server(kind, false, pprofAddr)
	}
	if err != nil {
		return measured{}, err
	}
	profDone := make(chan error, 1)
	if profile {
		go func() { profDone <- b.saveProfile(ctx, pprofAddr) }()
	}
	measureFrom := time.Now().Add(b.o.warmup)
	var (
		m     measured
		cpu   cpuMeter
		began time.Time
	)
	measuring := func() { cpu, began = startCPU(p.cmd.Process.Pid), time.Now() }
	if b.o.load == "wrk" {
		var r wrkResult
		r, err = b.runWrk(ctx, p.base+webhookPath, measuring)
		m = measured{rps: r.rps, p50: r.p50, p99: r.p99, non2xx: r.non2xx, errs: r.errs}
	} else {
		lc := loadgen.Config{
			URL: p.base + webhookPath, Body: b.body, SecretHeader: secretHeader, Secret: secret,
			Conns: b.o.conns, Duration: b.o.warmup,
		}
		if b.o.warmup > 0 {
			_, err = loadgen.Run(ctx, lc)
		}
		var r loadgen.Result
		if err == nil {
			measuring()
			lc.Duration = b.o.duration
			r, err = loadgen.Run(ctx, lc)
		}
		m = measured{rps: r.RPS(), p50: r.Latency.Quantile(.5), p99: r.Latency.Quantile(.99),
			non2xx: r.Non2xx, errs: r.Errors, sample: r.Sample}
	}
	if err == nil {
		// The server's CPU per answer; the generator (wrk, or this process) is not counted.
		elapsed := time.Since(began)
		m.cpu, _, m.cores = cpu.perEvent(m.rps*elapsed.Seconds(), elapsed)
	}
	if profile {
		if perr := <-profDone; perr != nil {
			fmt.Println("  profile:", perr)
		}
	}
	m.peak, m.rssFrom, m.rssEnd = p.rss(measureFrom)
	if serr := p.stop(); serr != nil && err == nil {
		err = serr
	}
	if err != nil {
		return measured{}, err
	}
	return m, nil
}

// saveProfile takes a CPU profile of the measurement window (after the warm-up).
func (b *bench) saveProfile(ctx context.Context, addr string) error {
	return b.saveProfileAs(ctx, addr, b.o.warmup, b.o.duration, "ingest.cpu.pprof", "the real ingest")
}

// saveProfileAs waits delay, then saves a CPU profile of the next d as OUT/name.
func (b *bench) saveProfileAs(ctx context.Context, addr string, delay, d time.Duration, name, what string) error {
	select {
	case <-time.After(delay):
	case <-ctx.Done():
		return ctx.Err()
	}
	secs := int(d / time.Second)
	if secs < 1 {
		secs = 1
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", addr, secs), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("pprof: %s", resp.Status)
	}
	dir := b.o.out
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(b.root, dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	path := filepath.Join(dir, name)
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Printf("  CPU profile of %s: %s (go tool pprof -top %s)\n", what, path, path)
	return nil
}

func (b *bench) ingest(ctx context.Context) error {
	o := b.o
	fmt.Printf("\n== ingest: real cmd/ingest (auth + metrics on, embedded JetStream in-process, -worker=false) vs naive sync-Publish baseline\n")
	fmt.Printf("   %d rounds, %d connections, %s warm-up + %s measured each, loopback, fixture %d bytes with unique payload.id, load generator %s\n",
		o.rounds, o.conns, o.warmup, o.duration, b.body.Len(), o.load)
	var real, naive, base []measured
	var ratios, baseRatios, cpuRatios []float64
	kinds := []string{"real", "naive"}
	if b.baseBin != "" {
		kinds = append(kinds, "base")
		fmt.Printf("   base = cmd/ingest built from %s, in the same rounds\n", o.abRef)
	}
	for i := 0; i < o.rounds; i++ {
		// Rotate the order between rounds so that drift on a busy machine does not always favour
		// the same server.
		order := append(append([]string(nil), kinds[i%len(kinds):]...), kinds[:i%len(kinds)]...)
		got := map[string]measured{}
		for _, kind := range order {
			m, err := b.measure(ctx, kind, o.profile && kind == "real" && i == 0)
			if err != nil {
				return fmt.Errorf("round %d %s: %w", i+1, kind, err)
			}
			got[kind] = m
			fmt.Printf("   round %d %-5s %8.0f req/s  p50 %6s  p99 %6s  non-2xx %d  errors %d  peak RSS %3d MiB  RSS %d→%d MiB  CPU/req %s (%.2f cores)\n",
				i+1, kind, m.rps, ms(m.p50), ms(m.p99), m.non2xx, m.errs, m.peak/mib, m.rssFrom/mib, m.rssEnd/mib, us(m.cpu), m.cores)
			if m.sample != "" {
				fmt.Printf("     first non-2xx: %s\n", strings.TrimSpace(m.sample))
			}
		}
		real, naive = append(real, got["real"]), append(naive, got["naive"])
		ratios = append(ratios, got["real"].rps/got["naive"].rps)
		if g, ok := got["base"]; ok {
			base = append(base, g)
			baseRatios = append(baseRatios, g.rps/got["naive"].rps)
			cpuRatios = append(cpuRatios, float64(got["real"].cpu)/float64(g.cpu))
		}
	}
	rm, nm := summarize(real), summarize(naive)
	ratio := median(ratios)
	rows := []struct {
		name string
		s    summary
	}{{"real", rm}, {"naive", nm}}
	if len(base) > 0 {
		rows = append(rows, struct {
			name string
			s    summary
		}{"base", summarize(base)})
	}
	fmt.Printf("\n%-6s %10s %9s %9s %8s %7s %9s %14s %9s\n", "ingest", "req/s", "p50", "p99", "non-2xx", "errors", "peak RSS", "RSS measured", "CPU/req")
	for _, row := range rows {
		fmt.Printf("%-6s %10.0f %9s %9s %8d %7d %5d MiB %6d→%d MiB %9s\n", row.name, row.s.rps, ms(row.s.p50), ms(row.s.p99),
			row.s.non2xx, row.s.errs, row.s.peak/mib, row.s.rssFrom/mib, row.s.rssEnd/mib, us(row.s.cpu))
	}
	if len(base) > 0 {
		fmt.Printf("base/naive req/s: %.2f× (per round %s); real/base CPU per request: %.2f× (per round %s)\n",
			median(baseRatios), joinRatios(baseRatios), median(cpuRatios), joinRatios(cpuRatios))
	}
	fmt.Printf("ratio real/naive req/s: %.2f× (median of per-round ratios %s)\n", ratio, joinRatios(ratios))
	fmt.Printf("(req/s, p50, p99: medians over rounds; non-2xx, errors: totals; peak RSS: max VmHWM; RSS measured: VmRSS at start→end of the measurement, medians;\n CPU/req: the server process's user+system CPU in the measurement ÷ its answers, the load generator not counted, median)\n")
	fmt.Printf("targets: p99 ≤ 10 ms: %s (%s)   zero non-2xx: %s (%d)   ratio ≥ 1.5: %s (%.2f×)\n",
		yes(rm.p99 <= 10*time.Millisecond), ms(rm.p99), yes(rm.non2xx == 0 && rm.errs == 0), rm.non2xx+rm.errs, yes(ratio >= 1.5), ratio)
	return nil
}

// joinRatios formats per-round ratios for a report line.
func joinRatios(rs []float64) string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = fmt.Sprintf("%.2f", r)
	}
	return strings.Join(s, ", ")
}

type summary struct {
	cpu                   time.Duration
	rps                   float64
	p50, p99              time.Duration
	non2xx, errs          int64
	peak, rssFrom, rssEnd int64
}

func summarize(ms []measured) summary {
	var s summary
	var rps, p50, p99, from, end, cpu []float64
	for _, m := range ms {
		cpu = append(cpu, float64(m.cpu))
		rps, p50, p99 = append(rps, m.rps), append(p50, float64(m.p50)), append(p99, float64(m.p99))
		from, end = append(from, float64(m.rssFrom)), append(end, float64(m.rssEnd))
		s.non2xx += m.non2xx
		s.errs += m.errs
		s.peak = max(s.peak, m.peak)
	}
	s.rps, s.p50, s.p99 = median(rps), time.Duration(median(p50)), time.Duration(median(p99))
	s.rssFrom, s.rssEnd = int64(median(from)), int64(median(end))
	s.cpu = time.Duration(median(cpu))
	return s
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/1e6) }

func yes(ok bool) string {
	if ok {
		return "yes"
	}
	return "NO"
}
