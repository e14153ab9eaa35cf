package main

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/saleassist-pipeline/pipeline/bench/loadgen"
)

// pipelineMetrics is what the end-to-end section reads from the ingest's /metrics.
type pipelineMetrics struct {
	lag       float64 // saleassist_worker_consumer_lag (refreshed by the worker every 5 s)
	processed float64 // sum of saleassist_worker_events_total: events the worker finished
	heapGoal  float64 // go_memstats_next_gc_bytes: twice the heap live after the last collection
}

func scrape(ctx context.Context, url string) (pipelineMetrics, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return pipelineMetrics{}, err
	}
	defer resp.Body.Close()
	var m pipelineMetrics
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		name, rest, ok := strings.Cut(line, " ")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		if i := strings.IndexByte(name, '{'); i >= 0 {
			// labels may hold spaces: take the value after the closing brace
			j := strings.LastIndexByte(line, '}')
			name, rest = name[:i], strings.TrimSpace(line[j+1:])
		}
		v, err := strconv.ParseFloat(strings.Fields(rest)[0], 64)
		if err != nil {
			continue
		}
		switch name {
		case "saleassist_worker_consumer_lag":
			m.lag += v // one series per account
		case "saleassist_worker_events_total":
			m.processed += v
		case "go_memstats_next_gc_bytes":
			m.heapGoal = v
		}
	}
	return m, sc.Err()
}

type stepResult struct {
	rate, achieved        float64
	p99                   time.Duration
	non2xx, errs, behind  int64
	lagEarly, lagEnd, max float64
	drained               float64 // events/s the worker finished during the step
	bounded               bool
	why                   string
	// CPU per finished event: the pipeline process (ingest + embedded JetStream + worker) and
	// the harness (the Go load generator and the /metrics reader), and the pipeline's cores.
	cpu, genCPU time.Duration
	cores       float64
}

// line is the step's report line.
func (r stepResult) line(step time.Duration) string {
	mark := "bounded"
	if !r.bounded {
		mark = "NOT bounded: " + r.why
	}
	return fmt.Sprintf("offered %6.0f/s  achieved %6.0f/s  p99 %8s  non-2xx %d  late sends %d  worker %6.0f ev/s  lag @%s %6.0f  end %6.0f  max %6.0f  CPU/event pipeline %s (%.2f cores) generator %s  %s",
		r.rate, r.achieved, ms(r.p99), r.non2xx+r.errs, r.behind, r.drained, earlyAt(step), r.lagEarly, r.lagEnd, r.max, us(r.cpu), r.cores, us(r.genCPU), mark)
}

func (b *bench) endToEnd(ctx context.Context, bin, label string) error {
	o := b.o
	fmt.Printf("\n== end to end (%s): standalone cmd/ingest (embedded JetStream + in-process worker + SQLite), constant offered rate, %s per step\n", label, o.e2eStep)
	pprofAddr, err := b.pprofAddr()
	if err != nil {
		return err
	}
	p, err := b.serverBin(bin, "e2e-"+label, true, pprofAddr)
	if err != nil {
		return err
	}
	defer func() {
		if err := p.stop(); err != nil {
			fmt.Println("  ", err)
		}
	}()
	metricsURL := p.base + "/metrics"
	var accepted int64 // 2xx answers so far: events the worker owes
	cfg := loadgen.Config{URL: p.base + webhookPath, Body: b.body, SecretHeader: secretHeader, Secret: secret}

	// Probe: overload for a few seconds and watch how fast the worker finishes events. That
	// drain rate is where the search for the sustainable rate starts.
	probe := cfg
	probe.Conns, probe.Duration = 32, 6*time.Second
	var (
		pr     loadgen.Result
		perr   error
		probed sync.WaitGroup
	)
	probed.Add(1)
	go func() { defer probed.Done(); pr, perr = loadgen.Run(ctx, probe) }()
	time.Sleep(2 * time.Second)
	m1, err1 := scrape(ctx, metricsURL)
	t1 := time.Now()
	probed.Wait()
	m2, err2 := scrape(ctx, metricsURL)
	t2 := time.Now()
	if perr != nil {
		return perr
	}
	if err1 != nil || err2 != nil {
		return fmt.Errorf("read %s: %v %v", metricsURL, err1, err2)
	}
	accepted += pr.OK
	drain := (m2.processed - m1.processed) / t2.Sub(t1).Seconds()
	fmt.Printf("   probe (closed loop, 32 conns, %s): ingest accepted %.0f req/s; worker finished %.0f events/s\n", probe.Duration, pr.RPS(), drain)
	capacity := math.Min(drain, pr.RPS())
	if capacity < 100 {
		return fmt.Errorf("end to end: the worker finished only %.0f events/s in the probe; see %s", drain, p.logPath)
	}

	lo, hi := 0.0, math.Inf(1)
	rate := roundRate(0.9 * capacity)
	var best *stepResult
	for i := 0; i < o.e2eSteps; i++ {
		if err := waitDrained(ctx, metricsURL, accepted, 20*time.Second); err != nil {
			fmt.Println("   ", err)
		}
		profile := ""
		if i == 0 && pprofAddr != "" {
			profile = "pipeline-" + strings.Map(func(r rune) rune {
				if r == ' ' || r == '/' {
					return '_'
				}
				return r
			}, label) + ".cpu.pprof"
		}
		r, ok, err := b.step(ctx, p, cfg, rate, pprofAddr, profile)
		if err != nil {
			return err
		}
		accepted += ok
		fmt.Println("  ", r.line(o.e2eStep))
		if r.bounded {
			lo, best = rate, &r
		} else {
			hi = rate
		}
		var next float64
		switch {
		case math.IsInf(hi, 1):
			next = roundRate(lo * 1.2)
		case lo == 0:
			next = roundRate(hi * 0.7)
		default:
			next = roundRate((lo + hi) / 2)
		}
		if next == lo || next == hi {
			break
		}
		rate = next
	}
	if best == nil {
		fmt.Printf("end to end: no offered rate tried was sustained with bounded lag (lowest tried %.0f/s); rerun with -e2e-steps 3 or more\n", hi)
		return nil
	}
	// Latency without coordinated omission, at half the highest bounded rate: where a box sized
	// with 2× headroom runs.
	if err := waitDrained(ctx, metricsURL, accepted, 20*time.Second); err != nil {
		fmt.Println("   ", err)
	}
	half, ok, err := b.step(ctx, p, cfg, roundRate(best.rate/2), "", "")
	if err != nil {
		return err
	}
	accepted += ok
	fmt.Println("  ", half.line(o.e2eStep), " (half of the highest bounded rate)")
	fmt.Printf("end to end (%s): highest rate sustained with bounded consumer lag for %s: %.0f req/s", label, o.e2eStep, best.rate)
	if !math.IsInf(hi, 1) {
		fmt.Printf(" (%.0f/s was not)", hi)
	} else {
		fmt.Printf(" (no higher rate tried; -e2e-steps for more)")
	}
	fmt.Printf("; ingest p99 there %s\n", ms(best.p99))
	fmt.Printf("   CPU per event there: pipeline process %s (ingest + embedded JetStream + worker, %.2f of %d cores); load generator %s, apart\n",
		us(best.cpu), best.cores, runtime.NumCPU(), us(best.genCPU))
	fmt.Printf("   at half that rate (%.0f/s, open loop): p99 %s from the intended send time (no coordinated omission), %s; CPU per event: pipeline %s, load generator %s\n",
		half.rate, ms(half.p99), boundedWord(half), us(half.cpu), us(half.genCPU))
	fmt.Printf("(bounded = every request 2xx, the generator kept up, the worker finished ≥ 95 %% of the offered rate, lag at the end ≤ lag at %s + max(¼ s of events, 500), lag never above max(2 s of events, 1000);\n the worker refreshes saleassist_worker_consumer_lag every 5 s, so each reading may be up to 5 s old)\n", earlyAt(o.e2eStep))
	return nil
}

func boundedWord(r stepResult) string {
	if r.bounded {
		return "bounded"
	}
	return "NOT bounded: " + r.why
}

// pprofAddr is a free loopback address for the server's PPROF_ADDR when -profile is set, else "".
func (b *bench) pprofAddr() (string, error) {
	if !b.o.profile {
		return "", nil
	}
	port, err := freePort()
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("127.0.0.1:%d", port), nil
}

// earlyAt is when the reference lag is read: 10 s into a 30 s step, a third of shorter ones.
func earlyAt(step time.Duration) time.Duration {
	if step >= 30*time.Second {
		return 10 * time.Second
	}
	return (step / 3).Round(time.Second)
}

// drainedLag is the lag gauge reading that counts as drained (the worker's batches in flight).
const drainedLag = 300

func roundRate(r float64) float64 { return math.Max(100, math.Round(r/100)*100) }

// waitDrained waits until the worker has finished every accepted event and the lag gauge, which
// the worker refreshes only every 5 s, says so too (so that a stale reading from the previous
// step does not count against the next), or until timeout.
func waitDrained(ctx context.Context, url string, accepted int64, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		m, err := scrape(ctx, url)
		if err == nil && m.processed >= float64(accepted) && m.lag <= drainedLag {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("backlog not drained within %s (finished %.0f of %d accepted, lag gauge %.0f)", timeout, m.processed, accepted, m.lag)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// step offers rate for the step duration, reading the consumer lag every second, and measures the
// CPU the pipeline process (p) and the harness used per finished event.
// With profile set, it saves a CPU profile of the step's middle from pprofAddr under that name.
func (b *bench) step(ctx context.Context, p *proc, cfg loadgen.Config, rate float64, pprofAddr, profile string) (stepResult, int64, error) {
	metricsURL := p.base + "/metrics"
	step := b.o.e2eStep
	cfg.Conns, cfg.Duration, cfg.Rate = b.o.e2eConns, step, rate
	type sample struct {
		at time.Duration
		m  pipelineMetrics
	}
	var samples []sample
	stop := make(chan struct{})
	done := make(chan struct{})
	profDone := make(chan error, 1)
	if profile != "" {
		go func() {
			profDone <- b.saveProfileAs(ctx, pprofAddr, step/6, step*2/3, profile, "the standalone pipeline at "+strconv.FormatFloat(rate, 'f', 0, 64)+"/s")
		}()
	} else {
		profDone <- nil
	}
	m0, err := scrape(ctx, metricsURL)
	if err != nil {
		return stepResult{}, 0, err
	}
	cpu := startCPU(p.cmd.Process.Pid)
	begin := time.Now()
	go func() {
		defer close(done)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			if m, err := scrape(ctx, metricsURL); err == nil {
				samples = append(samples, sample{time.Since(begin), m})
			}
			select {
			case <-t.C:
			case <-stop:
				return
			}
		}
	}()
	r, err := loadgen.Run(ctx, cfg)
	close(stop)
	<-done
	if err != nil {
		return stepResult{}, 0, err
	}
	m1, err := scrape(ctx, metricsURL)
	if err != nil {
		return stepResult{}, 0, err
	}
	elapsed := time.Since(begin)
	pipeCPU, genCPU, cores := cpu.perEvent(m1.processed-m0.processed, elapsed)
	if perr := <-profDone; perr != nil {
		fmt.Println("   profile:", perr)
	}
	if len(samples) < 2 {
		return stepResult{}, 0, fmt.Errorf("end to end: could not read %s", metricsURL)
	}
	res := stepResult{rate: rate, achieved: r.RPS(), p99: r.Latency.Quantile(.99), non2xx: r.Non2xx, errs: r.Errors, behind: r.Behind,
		cpu: pipeCPU, genCPU: genCPU, cores: cores}
	early := earlyAt(step)
	for _, s := range samples {
		if s.at <= early+500*time.Millisecond {
			res.lagEarly = s.m.lag
		}
		res.max = math.Max(res.max, s.m.lag)
	}
	first, last := samples[0], samples[len(samples)-1]
	res.lagEnd = last.m.lag
	res.drained = (last.m.processed - first.m.processed) / (last.at - first.at).Seconds()
	slack := math.Max(0.25*rate, 500)
	limit := math.Max(2*rate, 1000)
	switch {
	case r.Non2xx+r.Errors > 0:
		res.why = fmt.Sprintf("%d non-2xx/errors", r.Non2xx+r.Errors)
	case r.RPS() < 0.97*rate:
		res.why = fmt.Sprintf("only %.0f/s answered", r.RPS())
	case res.drained < 0.95*rate:
		res.why = fmt.Sprintf("worker finished only %.0f/s", res.drained)
	case res.lagEnd > res.lagEarly+slack:
		res.why = fmt.Sprintf("lag grew %.0f→%.0f", res.lagEarly, res.lagEnd)
	case res.max > limit:
		res.why = fmt.Sprintf("lag reached %.0f > 2 s of events", res.max)
	default:
		res.bounded = true
	}
	return res, r.OK, nil
}
