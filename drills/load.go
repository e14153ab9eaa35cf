package drills

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"sort"
	"sync"
	"testing"
	"time"
)

// LoadOptions shape the concurrent load a drill puts on the ingest.
type LoadOptions struct {
	// URLs are the ingests' base URLs (loopback); client c sends to URLs[c % len(URLs)], so
	// several ingests share the load.
	URLs []string
	// Clients is how many requests are in flight at most.
	Clients int
	// Rate is the most requests per second, over all clients.
	Rate int
	// Max bounds the number of distinct events.
	Max int
	// Attempts is how often one request is tried when it gets a 503 or a connection error, 200 ms
	// apart, as a sender that retries would (the retry carries the same event id).
	Attempts int
	// Resend is the share of requests that send an earlier event again, byte for byte. Half of
	// them pick one sent at least ResendAfter ago (past JetStream's duplicate window, so that only
	// the store's unique event id can drop it), half one of the last few sent.
	Resend      float64
	ResendAfter time.Duration
	// Dial, when set, makes the clients' connections (nil: an ordinary dial). A drill on the lab
	// dials a host from inside it, so that the host's link can go down between it and NATS while
	// its senders still reach it.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// Outcome is what the load saw for one event id, over all its requests.
type Outcome struct {
	Requests    int
	Accepted    int // 202
	Duplicate   int // 202 with "duplicate":true
	Unavailable int // 503
	ConnErrors  int // no answer: refused, reset, timed out
	Other       int // any other status: never expected
}

// Load posts events from a Generator until stopped. It is bounded in clients, rate and events.
type Load struct {
	opts   LoadOptions
	gen    *Generator
	client *http.Client

	mu       sync.Mutex
	outcomes map[string]*Outcome
	sent     []sentAt // every first send, in time order
	statuses map[int]int
	byURL    map[string]map[int]int   // statuses per ingest
	slowest  map[string]time.Duration // the longest answer (or wait for none) per ingest
	// noRetryAfter counts 503 answers without a Retry-After header.
	noRetryAfter int

	stop chan struct{}
	wg   sync.WaitGroup
}

type sentAt struct {
	e  *Event
	at time.Time
}

// StartLoad starts the clients.
func StartLoad(gen *Generator, o LoadOptions) *Load {
	if o.Attempts < 1 {
		o.Attempts = 1
	}
	l := &Load{
		opts: o, gen: gen,
		client: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
			MaxIdleConnsPerHost: o.Clients, IdleConnTimeout: 30 * time.Second, DialContext: o.Dial,
		}},
		outcomes: map[string]*Outcome{}, statuses: map[int]int{}, byURL: map[string]map[int]int{}, slowest: map[string]time.Duration{}, stop: make(chan struct{}),
	}
	interval := time.Duration(float64(time.Second) * float64(o.Clients) / float64(o.Rate))
	for c := range o.Clients {
		url := o.URLs[c%len(o.URLs)]
		l.wg.Go(func() { l.run(c, url, interval) })
	}
	return l
}

// Stop stops the clients and waits until every answer is counted.
func (l *Load) Stop() {
	select {
	case <-l.stop:
	default:
		close(l.stop)
	}
	l.wg.Wait()
	l.client.CloseIdleConnections()
}

func (l *Load) stopped() bool {
	select {
	case <-l.stop:
		return true
	default:
		return false
	}
}

func (l *Load) run(c int, url string, interval time.Duration) {
	rng := rand.New(rand.NewPCG(uint64(c), uint64(time.Now().UnixNano())))
	// Start the clients spread over one interval, not all at once.
	next := time.Now().Add(time.Duration(rng.Int64N(int64(interval) + 1)))
	for {
		if d := time.Until(next); d > 0 {
			select {
			case <-l.stop:
				return
			case <-time.After(d):
			}
		} else if l.stopped() {
			return
		}
		next = next.Add(interval)
		if time.Until(next) < -time.Second {
			next = time.Now() // far behind (an outage): do not burst to catch up
		}
		e := l.pick(rng)
		if e == nil {
			return // Max reached
		}
		for attempt := 1; ; attempt++ {
			retry := l.send(url, e)
			if !retry || attempt >= l.opts.Attempts {
				break
			}
			select {
			case <-l.stop:
				return
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
}

// pick returns a re-send or a new event; nil once Max events were made.
func (l *Load) pick(rng *rand.Rand) *Event {
	if l.opts.Resend > 0 && rng.Float64() < l.opts.Resend {
		l.mu.Lock()
		var e *Event
		if rng.IntN(2) == 0 {
			// One sent at least ResendAfter ago: past JetStream's duplicate window.
			cut := time.Now().Add(-l.opts.ResendAfter)
			n := sort.Search(len(l.sent), func(i int) bool { return l.sent[i].at.After(cut) })
			if n > 0 {
				e = l.sent[rng.IntN(n)].e
			}
		} else if n := len(l.sent); n > 0 {
			e = l.sent[n-1-rng.IntN(min(n, 50))].e
		}
		l.mu.Unlock()
		if e != nil {
			return e
		}
	}
	l.mu.Lock()
	full := len(l.outcomes) >= l.opts.Max
	l.mu.Unlock()
	if full {
		return nil
	}
	return l.gen.Next()
}

// send posts e once and counts the answer. It reports whether a sender would retry (503, no
// answer).
func (l *Load) send(url string, e *Event) (retry bool) {
	req, err := http.NewRequest(http.MethodPost, url+"/webhooks/saleassist", bytes.NewReader(e.Body))
	if err != nil {
		panic(err) // a constant method and a parsed URL
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Webhook-Secret", Secret)
	now := time.Now()
	resp, err := l.client.Do(req)
	var dup, noRetryAfter bool
	status := 0
	if err == nil {
		status = resp.StatusCode
		noRetryAfter = status == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") == ""
		body, rerr := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		_ = resp.Body.Close()
		if rerr != nil && status == http.StatusAccepted {
			status = 0 // the 202 did not arrive whole: the sender cannot count on it
		}
		if status == http.StatusAccepted {
			var a struct {
				Duplicate bool `json:"duplicate"`
			}
			_ = json.Unmarshal(body, &a)
			dup = a.Duplicate
		}
	}

	l.mu.Lock()
	defer l.mu.Unlock()
	o := l.outcomes[e.ID]
	if o == nil {
		o = &Outcome{}
		l.outcomes[e.ID] = o
		l.sent = append(l.sent, sentAt{e: e, at: now})
	}
	o.Requests++
	l.statuses[status]++
	l.slowest[url] = max(l.slowest[url], time.Since(now))
	if l.byURL[url] == nil {
		l.byURL[url] = map[int]int{}
	}
	l.byURL[url][status]++
	if noRetryAfter {
		l.noRetryAfter++
	}
	switch status {
	case 0:
		o.ConnErrors++
		return true
	case http.StatusAccepted:
		o.Accepted++
		if dup {
			o.Duplicate++
		}
		return false
	case http.StatusServiceUnavailable:
		o.Unavailable++
		return true
	default:
		o.Other++
		return false
	}
}

// Totals sums what the load saw so far.
type Totals struct {
	Sent        int // distinct event ids sent
	Accepted    int // distinct event ids answered 202 at least once
	Requests    int
	Answers202  int
	Duplicate   int // 202 answers saying duplicate:true
	Unavailable int // 503 answers
	ConnErrors  int
	Other       int // answers other than 202 and 503
	Resent      int // requests beyond the first per event id, retries after 503 included
}

// Totals returns the counts so far.
func (l *Load) Totals() Totals {
	l.mu.Lock()
	defer l.mu.Unlock()
	var s Totals
	for _, o := range l.outcomes {
		s.Sent++
		if o.Accepted > 0 {
			s.Accepted++
		}
		s.Requests += o.Requests
		s.Answers202 += o.Accepted
		s.Duplicate += o.Duplicate
		s.Unavailable += o.Unavailable
		s.ConnErrors += o.ConnErrors
		s.Other += o.Other
		s.Resent += o.Requests - 1
	}
	return s
}

// Outcomes returns a copy of every event id's outcome.
func (l *Load) Outcomes() map[string]Outcome {
	l.mu.Lock()
	defer l.mu.Unlock()
	m := make(map[string]Outcome, len(l.outcomes))
	for id, o := range l.outcomes {
		m[id] = *o
	}
	return m
}

// Statuses returns how many requests got each status (0: no answer).
func (l *Load) Statuses() map[int]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	m := make(map[int]int, len(l.statuses))
	for k, v := range l.statuses {
		m[k] = v
	}
	return m
}

// StatusesOf returns how many requests to the ingest at url got each status (0: no answer).
func (l *Load) StatusesOf(url string) map[int]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	m := make(map[int]int, len(l.byURL[url]))
	for k, v := range l.byURL[url] {
		m[k] = v
	}
	return m
}

// SlowestOf is the longest any request to the ingest at url waited for its answer (or for none)
// so far.
func (l *Load) SlowestOf(url string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.slowest[url]
}

// NoRetryAfter is how many 503 answers came without a Retry-After header (the contract says
// every 503 carries one).
func (l *Load) NoRetryAfter() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.noRetryAfter
}

// Await waits up to timeout for cond on the totals; it fails the drill if it never holds.
func (l *Load) Await(t testing.TB, what string, timeout time.Duration, cond func(Totals) bool) Totals {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		s := l.Totals()
		if cond(s) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s; load so far: %+v", timeout, what, s)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Run lets the load run for d, unless the drill's deadline comes first.
func (l *Load) Run(d time.Duration) {
	select {
	case <-time.After(d):
	case <-l.stop:
	}
}
