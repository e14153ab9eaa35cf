// Package loadgen is the benchmark's HTTP load generator: it posts the webhook fixture, each time
// with a unique payload.id, over C keep-alive connections to a loopback server, either as fast as
// the server answers (closed loop) or at a constant offered rate (open loop, latency measured from
// the intended send time so that a stalled server cannot hide its queue: no coordinated omission).
// It only talks to loopback addresses and always stops after a duration or a request count.
package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// Config describes one load run.
type Config struct {
	// URL is the webhook endpoint; its host must be a loopback address or "localhost".
	URL string
	// Body supplies the request bodies.
	Body *Body
	// SecretHeader and Secret authenticate each request (skipped when SecretHeader is empty).
	SecretHeader, Secret string
	// Conns is the number of connections (and concurrent requests).
	Conns int
	// Warmup runs before the measurement; its requests are not counted.
	Warmup time.Duration
	// Duration bounds the measurement; Requests, when > 0, bounds it too (whichever comes first).
	Duration time.Duration
	Requests int64
	// Rate, when > 0, is the offered rate in requests per second (open loop); 0 = closed loop.
	Rate float64
	// Timeout bounds each request (default 10 s).
	Timeout time.Duration
	// Progress, when set, is called about once a second during the measurement with the
	// number of 2xx answers so far (counting from the measurement's start).
	Progress func(elapsed time.Duration, ok int64)
}

// Result is what a run measured (warm-up excluded).
type Result struct {
	Requests int64         // answers received (any status)
	OK       int64         // 2xx answers
	Non2xx   int64         // other statuses
	Errors   int64         // transport errors and timeouts
	Status   map[int]int64 // answers by status code
	Elapsed  time.Duration // measurement window
	Latency  *Histogram    // every answer's latency, and errors'
	Offered  float64       // open loop: the offered rate
	Behind   int64         // open loop: sends that started more than 5 ms after their time
	Sample   string        // the body of the first non-2xx answer, for diagnosis
}

// RPS is answers per second over the measurement window.
func (r Result) RPS() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Requests) / r.Elapsed.Seconds()
}

// CheckLoopback refuses any target whose host is not a loopback address: the harness must never
// load someone else's server.
func CheckLoopback(target string) error {
	u, err := url.Parse(target)
	if err != nil {
		return fmt.Errorf("target %q: %w", target, err)
	}
	if u.Scheme != "http" {
		return fmt.Errorf("target %q: only http:// on loopback is supported", target)
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("target %q: host %q is not a loopback address (127.0.0.0/8, ::1, localhost); the load generator only loads this machine", target, host)
	}
	return nil
}

type worker struct {
	hist     *Histogram
	status   map[int]int64
	requests int64
	errors   int64
	behind   int64
	sample   string
}

// Run performs the load described by c.
func Run(ctx context.Context, c Config) (Result, error) {
	if err := CheckLoopback(c.URL); err != nil {
		return Result{}, err
	}
	if c.Body == nil {
		return Result{}, errors.New("loadgen: no body")
	}
	if c.Conns <= 0 {
		c.Conns = 1
	}
	if c.Duration <= 0 && c.Requests <= 0 {
		return Result{}, errors.New("loadgen: set a duration or a request count: runs are bounded")
	}
	if c.Duration <= 0 {
		c.Duration = time.Hour
	}
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxConnsPerHost:     c.Conns,
		MaxIdleConns:        c.Conns,
		MaxIdleConnsPerHost: c.Conns,
		IdleConnTimeout:     time.Minute,
		DisableCompression:  true,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: c.Timeout}
	hdr := http.Header{}
	hdr.Set("Content-Type", "application/json")
	if c.SecretHeader != "" {
		hdr.Set(c.SecretHeader, c.Secret)
	}

	begin := time.Now()
	start := begin.Add(c.Warmup) // measurement window [start, end)
	end := start.Add(c.Duration)
	ctx, cancel := context.WithDeadline(ctx, end.Add(c.Timeout))
	defer cancel()

	var (
		ticket  atomic.Int64 // open loop: next send slot
		counted atomic.Int64 // measured answers, for the Requests bound
		okSoFar atomic.Int64
		stop    atomic.Bool
	)
	var interval time.Duration
	if c.Rate > 0 {
		interval = time.Duration(float64(time.Second) / c.Rate)
	}
	workers := make([]*worker, c.Conns)
	var wg sync.WaitGroup
	for i := range workers {
		w := &worker{hist: NewHistogram(), status: map[int]int64{}}
		workers[i] = w
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := c.Body.NewBuffer()
			for !stop.Load() {
				var intended time.Time
				if interval > 0 {
					intended = begin.Add(time.Duration(ticket.Add(1)-1) * interval)
					if !intended.Before(end) {
						return
					}
					if d := time.Until(intended); d > 0 {
						select {
						case <-time.After(d):
						case <-ctx.Done():
							return
						}
					}
				} else {
					intended = time.Now()
					if !intended.Before(end) {
						return
					}
				}
				c.Body.Next(buf)
				sent := time.Now()
				req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL, bytesReader(buf))
				if err != nil {
					panic(err) // the URL was checked above
				}
				req.Header = hdr // read-only, shared
				resp, err := client.Do(req)
				code := 0
				if err == nil {
					if resp.StatusCode/100 != 2 && w.sample == "" {
						b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
						w.sample = fmt.Sprintf("%d %s", resp.StatusCode, b)
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					code = resp.StatusCode
				}
				done := time.Now()
				if intended.Before(start) || !done.Before(end) {
					continue // warm-up, or after the window
				}
				if ctx.Err() != nil {
					return
				}
				if interval > 0 && sent.Sub(intended) > 5*time.Millisecond {
					w.behind++
				}
				w.hist.Record(done.Sub(intended))
				if err != nil {
					w.errors++
				} else {
					w.requests++
					w.status[code]++
					if code/100 == 2 {
						okSoFar.Add(1)
					}
				}
				if c.Requests > 0 && counted.Add(1) >= c.Requests {
					stop.Store(true)
				}
			}
		}()
	}
	progressDone := make(chan struct{})
	if c.Progress != nil {
		go func() {
			defer close(progressDone)
			time.Sleep(time.Until(start))
			t := time.NewTicker(time.Second)
			defer t.Stop()
			for {
				select {
				case now := <-t.C:
					if !now.Before(end) || stop.Load() {
						return
					}
					c.Progress(now.Sub(start), okSoFar.Load())
				case <-ctx.Done():
					return
				}
			}
		}()
	} else {
		close(progressDone)
	}
	wg.Wait()
	finished := time.Now()
	stop.Store(true)
	cancel()
	<-progressDone

	r := Result{Status: map[int]int64{}, Latency: NewHistogram(), Offered: c.Rate}
	for _, w := range workers {
		r.Latency.Merge(w.hist)
		r.Errors += w.errors
		r.Behind += w.behind
		for code, n := range w.status {
			r.Status[code] += n
			r.Requests += n
			if code/100 == 2 {
				r.OK += n
			} else {
				r.Non2xx += n
			}
		}
		if r.Sample == "" {
			r.Sample = w.sample
		}
	}
	r.Elapsed = c.Duration
	if finished.Before(end) { // stopped by the request count
		r.Elapsed = finished.Sub(start)
	}
	return r, nil
}
