// Package ratelog turns a failure that repeats, once per event or once per retry, into a few log
// lines per state change: the first failure is logged at once, then at most one summary per
// interval while it lasts (with a count), and one line when it recovers (with how long it lasted).
// The count of every failure still goes to a metric where the caller has one; the log stays
// readable during an outage of any length.
package ratelog

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultEvery is the summary interval used when Failing.Every is zero.
const DefaultEvery = 30 * time.Second

// Failing tracks one kind of repeated failure. The zero value (with Log set) is ready to use, and
// its methods are safe for concurrent use.
type Failing struct {
	// Log receives the lines; nil means slog.Default().
	Log *slog.Logger
	// Every is the shortest gap between two summaries while failing; zero means DefaultEvery.
	Every time.Duration
	// Idle, when not zero, ends a run silently after that long without a failure, so that the
	// next failure is logged as a first one: for failures that have no "recovered" moment to
	// call OK at (refused requests, say).
	Idle time.Duration

	failing atomic.Bool // a run is under way: lets OK return at once in the common case

	mu        sync.Mutex
	since     time.Time // first failure of the current run; zero when healthy
	lastLine  time.Time // last line logged for this run
	lastFail  time.Time // the latest failure
	failures  int64     // failures in the current run
	unlogged  int64     // failures since the last line
	lastError string
	now       func() time.Time // for tests; nil means time.Now
}

func (f *Failing) logger() *slog.Logger {
	if f.Log != nil {
		return f.Log
	}
	return slog.Default()
}

func (f *Failing) clock() time.Time {
	if f.now != nil {
		return f.now()
	}
	return time.Now()
}

// Fail records one failure. The first failure of a run is logged at once as msg (at Warn) with
// err and args; later ones are counted and summarised at most once per Every, with the number of
// failures since the last line and since the run began. It reports whether it logged a line.
func (f *Failing) Fail(msg string, err error, args ...any) bool {
	f.mu.Lock()
	now := f.clock()
	every := f.Every
	if every <= 0 {
		every = DefaultEvery
	}
	f.failures++
	f.unlogged++
	if err != nil {
		f.lastError = err.Error()
	}
	if !f.since.IsZero() && f.Idle > 0 && now.Sub(f.lastFail) > f.Idle {
		f.since, f.failures, f.unlogged = time.Time{}, 1, 1 // a new run: this failure is its first
	}
	f.lastFail = now
	first := f.since.IsZero()
	if first {
		f.since = now
		f.failing.Store(true)
	} else if now.Sub(f.lastLine) < every {
		f.mu.Unlock()
		return false
	}
	f.lastLine = now
	failures, unlogged, since := f.failures, f.unlogged, f.since
	f.unlogged = 0
	f.mu.Unlock()

	attrs := make([]any, 0, len(args)+8)
	if err != nil {
		attrs = append(attrs, "err", err)
	}
	attrs = append(attrs, args...)
	if first {
		f.logger().Warn(msg, attrs...)
		return true
	}
	attrs = append(attrs, "failing_for", now.Sub(since).Round(time.Second).String(),
		"failures", failures, "since_last_line", unlogged)
	f.logger().Warn(msg+" (still failing)", attrs...)
	return true
}

// OK records a success. If a run of failures was under way it logs msg once (at Info) with how
// long the run lasted and how many failures it held, and reports true; otherwise it does nothing.
func (f *Failing) OK(msg string, args ...any) bool {
	if !f.failing.Load() {
		return false // healthy: no lock on a path that runs once per request
	}
	f.mu.Lock()
	if f.since.IsZero() {
		f.mu.Unlock()
		return false
	}
	lasted := f.clock().Sub(f.since)
	failures := f.failures
	f.since, f.lastLine, f.failures, f.unlogged, f.lastError = time.Time{}, time.Time{}, 0, 0, ""
	f.failing.Store(false)
	f.mu.Unlock()
	attrs := append([]any{"after", lasted.Round(time.Millisecond).String(), "failures", failures}, args...)
	f.logger().Info(msg, attrs...)
	return true
}

// Since returns when the current run of failures began, and false when there is none.
func (f *Failing) Since() (time.Time, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.since, !f.since.IsZero()
}

// LastError returns the text of the latest failure of the current run, or "" when healthy.
func (f *Failing) LastError() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lastError
}
