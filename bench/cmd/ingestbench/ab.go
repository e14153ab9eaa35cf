package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/saleassist-pipeline/pipeline/bench/loadgen"
)

// buildRef builds cmd/ingest as it is at the git ref (a branch, tag or commit of this
// repository) into the temporary directory: the "before" of an A/B comparison, built and measured
// in the same run as the working tree's "after".
func buildRef(ctx context.Context, root, tmp, ref string) (string, error) {
	src := filepath.Join(tmp, "src-"+strings.NewReplacer("/", "_", ":", "_").Replace(ref))
	if err := os.MkdirAll(src, 0o755); err != nil {
		return "", err
	}
	// git archive writes a clean copy of the ref's tree; nothing in the repository changes.
	cmd := exec.CommandContext(ctx, "sh", "-c", `git -C "$1" archive "$2" | tar -x -C "$3"`, "sh", root, ref, src)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("git archive %s: %w\n%s", ref, err, out)
	}
	return build(ctx, src, tmp, "./cmd/ingest", "ingest-base")
}

// abFixedRate holds the standalone pipeline of each build at the same constant offered rate, in
// alternating order over the rounds, and compares CPU per event and latency within each round.
// CPU per event is the figure to read on a shared machine: a neighbour's load slows both builds'
// throughput, but changes little what an event costs.
func (b *bench) abFixedRate(ctx context.Context, rate float64) error {
	o := b.o
	fmt.Printf("\n== A/B at a fixed rate: standalone pipeline, this build vs %s, %.0f events/s offered (open loop), %s each, %d rounds\n",
		o.abRef, rate, o.e2eStep, o.rounds)
	cfg := loadgen.Config{Body: b.body, SecretHeader: secretHeader, Secret: secret}
	builds := []struct{ name, bin string }{{"new", b.realBin}, {"base", b.baseBin}}
	got := map[string][]stepResult{}
	var cpuRatios, p99Ratios []float64
	for i := 0; i < o.rounds; i++ {
		order := builds
		if i%2 == 1 {
			order = []struct{ name, bin string }{builds[1], builds[0]}
		}
		round := map[string]stepResult{}
		for _, bld := range order {
			r, err := b.abOnce(ctx, cfg, bld.bin, bld.name, rate)
			if err != nil {
				return fmt.Errorf("round %d %s: %w", i+1, bld.name, err)
			}
			round[bld.name] = r
			got[bld.name] = append(got[bld.name], r)
			fmt.Printf("   round %d %-4s %s\n", i+1, bld.name, r.line(o.e2eStep))
		}
		cpuRatios = append(cpuRatios, float64(round["new"].cpu)/float64(round["base"].cpu))
		p99Ratios = append(p99Ratios, float64(round["new"].p99)/float64(round["base"].p99))
	}
	med := func(rs []stepResult, f func(stepResult) float64) float64 {
		xs := make([]float64, len(rs))
		for i, r := range rs {
			xs[i] = f(r)
		}
		return median(xs)
	}
	for _, bld := range builds {
		rs := got[bld.name]
		fmt.Printf("%-4s CPU/event pipeline %s (%.2f cores), load generator %s; p99 %s (medians)\n", bld.name,
			us(time.Duration(med(rs, func(r stepResult) float64 { return float64(r.cpu) }))),
			med(rs, func(r stepResult) float64 { return r.cores }),
			us(time.Duration(med(rs, func(r stepResult) float64 { return float64(r.genCPU) }))),
			ms(time.Duration(med(rs, func(r stepResult) float64 { return float64(r.p99) }))))
	}
	fmt.Printf("at %.0f/s: new/base pipeline CPU per event: %.2f× (per round %s); p99: %.2f× (per round %s)\n",
		rate, median(cpuRatios), joinRatios(cpuRatios), median(p99Ratios), joinRatios(p99Ratios))
	return nil
}

// abOnce starts one build's standalone pipeline, warms it up at the rate, and measures one step.
func (b *bench) abOnce(ctx context.Context, cfg loadgen.Config, bin, name string, rate float64) (stepResult, error) {
	p, err := b.serverBin(bin, "ab-"+name, true, "")
	if err != nil {
		return stepResult{}, err
	}
	defer func() {
		if err := p.stop(); err != nil {
			fmt.Println("  ", err)
		}
	}()
	cfg.URL = p.base + webhookPath
	warm := cfg
	warm.Conns, warm.Duration, warm.Rate = b.o.e2eConns, 5*time.Second, rate
	w, err := loadgen.Run(ctx, warm)
	if err != nil {
		return stepResult{}, err
	}
	if err := waitDrained(ctx, p.base+"/metrics", w.OK, 20*time.Second); err != nil {
		fmt.Println("   ", err)
	}
	r, _, err := b.step(ctx, p, cfg, rate, "", "")
	return r, err
}
