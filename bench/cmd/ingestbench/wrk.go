package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/saleassist-pipeline/pipeline/bench/loadgen"
)

// wrkResult is what bench/wrk/unique.lua prints on its BENCH line.
type wrkResult struct {
	rps          float64
	p50, p99     time.Duration
	non2xx, errs int64
}

// runWrk runs wrk (warm-up run discarded, then the measured run) with bench/wrk/unique.lua;
// measuring is called just before the measured run starts.
func (b *bench) runWrk(ctx context.Context, url string, measuring func()) (wrkResult, error) {
	if err := loadgen.CheckLoopback(url); err != nil {
		return wrkResult{}, err
	}
	if b.o.warmup > 0 {
		if _, err := b.wrkOnce(ctx, url, b.o.warmup); err != nil {
			return wrkResult{}, err
		}
	}
	measuring()
	return b.wrkOnce(ctx, url, b.o.duration)
}

func (b *bench) wrkOnce(ctx context.Context, url string, d time.Duration) (wrkResult, error) {
	var tag [4]byte
	_, _ = rand.Read(tag[:])
	secs := max(1, int(d.Round(time.Second)/time.Second))
	cmd := exec.CommandContext(ctx, "wrk", "-t2", "-c"+strconv.Itoa(b.o.conns), "-d"+strconv.Itoa(secs)+"s", "--timeout", "10s",
		"-s", filepath.Join(b.root, "bench/wrk/unique.lua"), url, "--",
		filepath.Join(b.root, "testdata/fixtures/widget_new_conversation.json"), secret, "wrk"+hex.EncodeToString(tag[:]))
	out, err := cmd.CombinedOutput()
	if err != nil {
		return wrkResult{}, fmt.Errorf("wrk: %w\n%s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if !strings.HasPrefix(line, "BENCH ") {
			continue
		}
		kv := map[string]int64{}
		for _, f := range strings.Fields(line)[1:] {
			k, v, _ := strings.Cut(f, "=")
			n, _ := strconv.ParseInt(v, 10, 64)
			kv[k] = n
		}
		if kv["duration_us"] <= 0 {
			break
		}
		return wrkResult{
			rps: float64(kv["requests"]) / (float64(kv["duration_us"]) / 1e6),
			p50: time.Duration(kv["p50_us"]) * time.Microsecond, p99: time.Duration(kv["p99_us"]) * time.Microsecond,
			non2xx: kv["non2xx"], errs: kv["errors"],
		}, nil
	}
	return wrkResult{}, fmt.Errorf("wrk: no BENCH line in its output:\n%s", out)
}
