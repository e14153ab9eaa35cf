package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/saleassist-pipeline/pipeline/bench/loadgen"
)

// memory checks that the ingest's memory is bounded: the real ingest (ingest only, as in the
// comparison) under closed-loop load for several duplicate windows, its heap goal and RSS read at
// the end of each window. JetStream keeps every message id of the window (memory ∝ rate × window), so RSS
// climbs during the first window and must then stay flat however long the run goes on. The
// window is short here (-memory-window) so that the plateau shows within a minute or two; with
// the default of 2 minutes it is the same curve, stretched.
func (b *bench) memory(ctx context.Context) error {
	o := b.o
	windows := max(3, int(o.memDuration/o.memWindow))
	fmt.Printf("\n== memory: real cmd/ingest (-worker=false), STREAM_DUPLICATE_WINDOW=%s, %d connections closed loop for %s (%d windows)\n",
		o.memWindow, o.conns, o.memWindow*time.Duration(windows), windows)
	p, err := b.server("real", false, "", "STREAM_DUPLICATE_WINDOW="+o.memWindow.String())
	if err != nil {
		return err
	}
	began := time.Now()
	// The heap goal at the end of each window, from the ingest's /metrics: twice the heap that was
	// live after the last collection. RSS also holds memory the runtime has freed but not yet
	// returned to the system, so it moves by tens of MiB without anything being retained.
	goals := make(chan []float64, 1)
	go func() {
		var g []float64
		t := time.NewTicker(o.memWindow)
		defer t.Stop()
		for range windows {
			select {
			case <-t.C:
			case <-ctx.Done():
				goals <- g
				return
			}
			m, _ := scrape(ctx, p.base+"/metrics")
			g = append(g, m.heapGoal)
		}
		goals <- g
	}()
	r, err := loadgen.Run(ctx, loadgen.Config{
		URL: p.base + webhookPath, Body: b.body, SecretHeader: secretHeader, Secret: secret,
		Conns: o.conns, Duration: o.memWindow * time.Duration(windows),
	})
	heap := <-goals
	// RSS at the end of each window, from the 200 ms samples.
	var at []int64
	p.mu.Lock()
	for k := 1; k <= windows; k++ {
		edge := began.Add(o.memWindow * time.Duration(k))
		var rss int64
		for _, s := range p.samples {
			if s.at.After(edge) {
				break
			}
			rss = s.rss
		}
		at = append(at, rss)
	}
	p.mu.Unlock()
	peak, _, _ := p.rss(began)
	if serr := p.stop(); serr != nil && err == nil {
		err = serr
	}
	if err != nil {
		return err
	}
	parts := make([]string, len(at))
	for i, v := range at {
		parts[i] = strconv.FormatInt(v/mib, 10)
	}
	hparts := make([]string, len(heap))
	for i, v := range heap {
		hparts[i] = strconv.FormatInt(int64(v)/mib, 10)
	}
	fmt.Printf("   %.0f req/s, non-2xx %d, errors %d, %d events kept in the stream\n", r.RPS(), r.Non2xx, r.Errors, r.OK)
	fmt.Printf("   heap goal (2 × live heap) at the end of each window: %s MiB\n", strings.Join(hparts, " → "))
	fmt.Printf("   RSS at the end of each window:                       %s MiB (peak %d MiB)\n", strings.Join(parts, " → "), peak/mib)
	if len(heap) < 3 {
		return fmt.Errorf("memory: %d heap readings, want one per window", len(heap))
	}
	// After the first window the set of remembered ids only turns over. Bounded: the largest heap
	// goal of the second half of the run is within 15% of the largest of windows 2 up to the half.
	half := len(heap) / 2
	early, late := maxOf(heap[1:half]), maxOf(heap[half:])
	growth := (late - early) / early
	fmt.Printf("memory: largest heap goal in the second half %+.1f%% against windows 2–%d; bounded (within 15%%): %s\n", growth*100, half, yes(growth <= 0.15))
	return nil
}

func maxOf(xs []float64) float64 {
	m := 0.0
	for _, x := range xs {
		m = max(m, x)
	}
	return m
}
