package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/saleassist-pipeline/pipeline/internal/redact"
	"github.com/saleassist-pipeline/pipeline/pkg/account"
	"github.com/saleassist-pipeline/pipeline/pkg/console"
	"github.com/saleassist-pipeline/pipeline/pkg/store/storeurl"
)

const token = "consolebench-admin-token-0123456789"

// timed records the handler's own time per request: server time, without the client or the
// loopback network.
type timed struct {
	h    http.Handler
	mu   sync.Mutex
	last time.Duration
}

func (t *timed) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	t.h.ServeHTTP(w, r)
	d := time.Since(start)
	t.mu.Lock()
	t.last = d
	t.mu.Unlock()
}

func (t *timed) lastTime() time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.last
}

// runMeasure serves the console over the store db names (through storeurl, as cmd/console
// opens it) and measures it.
func runMeasure(ctx context.Context, db string, n int) error {
	opened, err := storeurl.Open(ctx, db, storeurl.Options{})
	if err != nil {
		return err
	}
	defer opened.Close()
	st, ok := opened.(console.Store)
	if !ok {
		return fmt.Errorf("the store at %s has no console reads", redact.URL(db))
	}
	c, err := st.Counts(ctx, account.Default)
	if err != nil {
		return err
	}
	srv, err := console.New(console.Config{Token: token, Store: st, DefaultRegion: "IN", Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	tm := &timed{h: srv}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: tm}
	go hs.Serve(ln)
	defer hs.Close()
	base := "http://" + ln.Addr().String()
	client := &http.Client{Timeout: 10 * time.Minute}
	get := func(path string) ([]byte, time.Duration, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if err != nil {
			return nil, 0, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err == nil && resp.StatusCode != http.StatusOK {
			err = fmt.Errorf("GET %s: %d %s", path, resp.StatusCode, b)
		}
		return b, tm.lastTime(), err
	}
	fmt.Printf("\nconsole over %s: %d leads, %d events; server time of %d requests each (after 5 not counted)\n\n",
		redact.URL(db), c.Leads, c.Events, n)
	fmt.Printf("%-30s %10s %10s %10s %6s\n", "request", "p50", "p99", "max", "leads")

	leads := int(c.Leads)
	rng := rand.New(rand.NewPCG(3, 4))
	var cursor string
	kinds := []struct {
		name string
		path func(i int) string
		// after reads the answer (the next page's cursor); it also checks that the search found.
		after func(b []byte) error
	}{
		{"first page /api/leads", func(int) string { return "/api/leads" }, nil},
		{"next page (cursor)", func(int) string { return "/api/leads?cursor=" + url.QueryEscape(cursor) }, func(b []byte) error {
			var a struct {
				NextCursor string `json:"next_cursor"`
			}
			if err := json.Unmarshal(b, &a); err != nil || a.NextCursor == "" {
				return fmt.Errorf("no next cursor: %v", err)
			}
			cursor = a.NextCursor
			return nil
		}},
		{"search by email", func(int) string {
			return "/api/leads?q=" + url.QueryEscape("  "+strings.ToUpper(leadEmail(1+rng.IntN(leads)))+" ")
		}, found},
		{"search by phone", func(int) string {
			p := leadPhone(1 + rng.IntN(leads))[3:] // 10 digits, written as people type them
			return "/api/leads?q=" + url.QueryEscape("0"+p[:5]+" "+p[5:])
		}, found},
		// Fragments (the leads column: how many the first page held, median): a rare surname's
		// middle, six letters, in the case people type; an email's surname and number up to the
		// @; a rare town's middle; a common surname (one lead in twelve).
		{"name fragment (rare)", func(int) string {
			w := rareWord(rng.IntN(max(leads/1000, 1)), "")
			return "/api/leads?q=" + url.QueryEscape(w[1:7])
		}, hits},
		{"email fragment", func(int) string {
			i := 1 + rng.IntN(leads)
			return "/api/leads?q=" + url.QueryEscape(fmt.Sprintf("%s%d@", strings.ToLower(last(i)), i))
		}, hits},
		{"city fragment (rare)", func(int) string {
			w := rareWord(rng.IntN(max(leads/1000, 1))+5000, "pur")
			return "/api/leads?q=" + url.QueryEscape(w[2:9])
		}, hits},
		{"common fragment (kumar)", func(int) string { return "/api/leads?q=kumar" }, hits},
	}
	for _, k := range kinds {
		if k.name == "next page (cursor)" {
			b, _, err := get("/api/leads")
			if err != nil {
				return err
			}
			if err := k.after(b); err != nil {
				return err
			}
		}
		var ds []time.Duration
		got = got[:0]
		for i := range n + 5 {
			b, d, err := get(k.path(i))
			if err != nil {
				return err
			}
			if k.after != nil {
				if err := k.after(b); err != nil {
					return fmt.Errorf("%s: %w", k.name, err)
				}
			}
			if i >= 5 {
				ds = append(ds, d)
			}
		}
		slices.Sort(ds)
		count := "1"
		if len(got) > 0 {
			slices.Sort(got)
			count = fmt.Sprint(got[len(got)/2])
		} else if k.after == nil || k.name == "next page (cursor)" {
			count = "50"
		}
		fmt.Printf("%-30s %10s %10s %10s %6s\n", k.name, ms(ds[len(ds)/2]), ms(ds[(len(ds)*99+99)/100-1]), ms(ds[len(ds)-1]), count)
	}
	return measureCSV(ctx, client, base, tm, c.Leads)
}

// got holds how many leads each answer of the current measurement held (hits).
var got []int

// hits records how many leads a fragment search's first page held; a search that found none
// is an error only on a store that searches fragments (the landed code before issue 23 did
// not search emails or cities by fragment, and its figures are kept for comparison).
func hits(b []byte) error {
	var a struct {
		Leads []json.RawMessage `json:"leads"`
	}
	if err := json.Unmarshal(b, &a); err != nil {
		return err
	}
	got = append(got, len(a.Leads))
	return nil
}

// found checks that a search found exactly one lead.
func found(b []byte) error {
	var a struct {
		Leads []json.RawMessage `json:"leads"`
	}
	if err := json.Unmarshal(b, &a); err != nil {
		return err
	}
	if len(a.Leads) != 1 {
		return fmt.Errorf("found %d leads, want 1", len(a.Leads))
	}
	return nil
}

// lineCounter counts the bytes and lines streamed through it, keeping none.
type lineCounter struct{ bytes, lines int64 }

func (l *lineCounter) Write(p []byte) (int, error) {
	l.bytes += int64(len(p))
	for _, c := range p {
		if c == '\n' {
			l.lines++
		}
	}
	return len(p), nil
}

// measureCSV streams leads.csv of every lead into a counter, sampling the process's resident
// memory all along.
func measureCSV(ctx context.Context, client *http.Client, base string, tm *timed, leads int64) error {
	var peak atomic.Int64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			if r := rss("VmRSS"); r > peak.Load() {
				peak.Store(r)
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	start := time.Now()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/leads.csv", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	var lc lineCounter
	resp, err := client.Do(req)
	if err == nil {
		_, err = io.Copy(&lc, resp.Body)
		resp.Body.Close()
	}
	close(stop)
	<-done
	if err != nil {
		return err
	}
	fmt.Printf("\nleads.csv of everything: %d rows for %d leads, %.0f MiB, in %s server time (%s wall)\n",
		lc.lines-1, leads, float64(lc.bytes)/(1<<20), tm.lastTime().Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	fmt.Printf("resident memory (VmRSS) during the export: peak %.0f MiB; the process's high-water mark (VmHWM) %.0f MiB\n",
		float64(peak.Load())/(1<<10), float64(rss("VmHWM"))/(1<<10))
	return nil
}

// rss reads a memory figure of this process from /proc/self/status, in KiB.
func rss(field string) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n
		}
	}
	return 0
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }
