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
// comparison) under closed-loop load for several duplicate windows, its RSS read at the end of
// each window. JetStream keeps every message id of the window (memory ∝ rate × window), so RSS
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
	r, err := loadgen.Run(ctx, loadgen.Config{
		URL: p.base + webhookPath, Body: b.body, SecretHeader: secretHeader, Secret: secret,
		Conns: o.conns, Duration: o.memWindow * time.Duration(windows),
	})
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
	fmt.Printf("   %.0f req/s, non-2xx %d, errors %d, %d events kept in the stream\n", r.RPS(), r.Non2xx, r.Errors, r.OK)
	fmt.Printf("   RSS at the end of each window: %s MiB (peak %d MiB)\n", strings.Join(parts, " → "), peak/mib)
	// After the first window the set of remembered ids only turns over. Flat: the last reading is
	// within 10% of the one at the end of the second window.
	second, last := at[1], at[len(at)-1]
	growth := float64(last-second) / float64(second)
	fmt.Printf("memory: growth from the end of window 2 to the end of the run %+.1f%%; bounded (within 10%%): %s\n", growth*100, yes(growth <= 0.10))
	return nil
}
