package worker

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/saleassist-pipeline/pipeline/internal/ratelog"
	"github.com/saleassist-pipeline/pipeline/pkg/store"
)

// Defaults for the pause (Options).
const (
	// DefaultProbeMax caps the wait between two probes of an unavailable store.
	DefaultProbeMax = 15 * time.Second
	// DefaultPauseLogEvery is the shortest gap between two summary lines while paused.
	DefaultPauseLogEvery = time.Minute
	// probeMin is the first wait before probing; each failed probe doubles it up to ProbeMax.
	probeMin = 500 * time.Millisecond
	// putBackDelay is the delay of the NakWithDelay that hands back the messages held when the
	// worker pauses: short, as nothing fetches them while every worker is paused, and they are
	// ready again when the store is back.
	putBackDelay = time.Second
)

// A store that cannot be reached (store.UnavailableReason) is the world's failure, not the
// events': retrying each event until MaxDeliver would dead-letter every one of them during an
// outage longer than the retry horizon, as JetStream counts every delivery, a NakWithDelay's
// included. So the worker pauses instead:
//
//   - the batch in flight, and whatever was already fetched, is handed back (NakWithDelay), and
//     fetching stops (Consumer.RunGated waits on waitAvailable): no event is delivered again
//     while the store is down, so an outage of any length adds one or two deliveries to an
//     event, never MaxDeliver;
//   - a probe (store.Pinger) runs with a growing interval up to ProbeMax, and the first one that
//     passes resumes fetching on its own;
//   - the log holds one line when the pause begins, a summary at most every PauseLogEvery while
//     it lasts, and one line when it ends (internal/ratelog); saleassist_worker_paused{reason}
//     and saleassist_worker_paused_seconds_total show it, and Paused answers /readyz.

// pauseState is the worker's pause: zero value healthy.
type pauseState struct {
	mu      sync.Mutex
	paused  bool
	reason  string
	since   time.Time
	lastErr string
	resumed chan struct{} // closed when the pause ends
	putBack int64         // messages handed back during this pause
	tick    time.Time     // when paused_seconds_total was last brought up to date
	log     ratelog.Failing
	// wait is the probe's last wait, and resumedAt when the last pause ended: a pause that
	// begins soon after another ended (a probe that passes while writes still fail: a full data
	// disk) goes on from that wait instead of starting over, so each such round costs a batch
	// one delivery at most every ProbeMax.
	wait      time.Duration
	resumedAt time.Time
}

// Pause describes a pause in progress.
type Pause struct {
	// Since is when the store was found unavailable.
	Since time.Time
	// Reason is one of store.UnavailableReasons.
	Reason string
	// Err is the store's latest error.
	Err string
}

// Paused returns the pause in progress, and false when the worker is not paused.
func (w *Worker) Paused() (Pause, bool) {
	ps := &w.pause
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if !ps.paused {
		return Pause{}, false
	}
	return Pause{Since: ps.since, Reason: ps.reason, Err: ps.lastErr}, true
}

// isPaused reports whether the worker is paused.
func (w *Worker) isPaused() bool {
	w.pause.mu.Lock()
	defer w.pause.mu.Unlock()
	return w.pause.paused
}

// pauseOn records that the store is unavailable for reason (err says how). The first time it
// starts the pause and its probe, which ends it; while paused it updates the reason and counts.
func (w *Worker) pauseOn(reason string, err error) {
	ps := &w.pause
	ps.mu.Lock()
	start := !ps.paused
	if start {
		now := time.Now()
		ps.paused, ps.since, ps.tick, ps.putBack = true, now, now, 0
		ps.resumed = make(chan struct{})
	}
	if ps.reason != reason {
		if ps.reason != "" {
			w.metrics.paused.WithLabelValues(ps.reason).Set(0)
		}
		ps.reason = reason
		w.metrics.paused.WithLabelValues(reason).Set(1)
	}
	ps.lastErr = err.Error()
	putBack := ps.putBack
	ps.mu.Unlock()

	msg := fmt.Sprintf("store unavailable (%s), paused", reason)
	if start {
		msg = fmt.Sprintf("store unavailable (%s), pausing", reason)
	}
	ps.log.Fail(msg, err, "events_handed_back", putBack)
	if start {
		go w.probe()
	}
}

// handBack returns msgs to JetStream for later (NakWithDelay) while the worker is paused. They
// are not counted as failed: nothing was wrong with them.
func (w *Worker) handBack(msgs ...jetstream.Msg) {
	for _, m := range msgs {
		if err := m.NakWithDelay(putBackDelay); err != nil {
			w.log.Debug("nak while paused", "err", err)
		}
		w.forget(m)
	}
	w.pause.mu.Lock()
	w.pause.putBack += int64(len(msgs))
	w.pause.mu.Unlock()
}

// waitAvailable is the fetch gate: it returns at once when the worker is not paused, else when
// the pause ends or ctx does.
func (w *Worker) waitAvailable(ctx context.Context) {
	w.pause.mu.Lock()
	paused, resumed := w.pause.paused, w.pause.resumed
	w.pause.mu.Unlock()
	if !paused {
		return
	}
	select {
	case <-ctx.Done():
	case <-resumed:
	}
}

// probe pings the store with a growing interval until it answers, then ends the pause. It stops
// early when Run ends (the pause is then left as it is: nothing fetches any more).
func (w *Worker) probe() {
	wait := probeMin
	w.pause.mu.Lock()
	if !w.pause.resumedAt.IsZero() && time.Since(w.pause.resumedAt) < 2*w.opts.ProbeMax {
		wait = min(2*w.pause.wait, w.opts.ProbeMax)
	}
	w.pause.mu.Unlock()
	pinger, _ := w.store.(store.Pinger)
	for {
		select {
		case <-w.done:
			return
		case <-time.After(wait):
		}
		w.countPaused()
		if pinger == nil {
			break // nothing to ask: try a batch again after the wait
		}
		ctx, cancel := context.WithTimeout(context.Background(), w.opts.BatchTimeout)
		err := pinger.Ping(ctx)
		cancel()
		if err == nil {
			break
		}
		reason, ok := store.UnavailableReason(err)
		if !ok {
			w.pause.mu.Lock()
			reason = w.pause.reason // another failure while the store is down: keep the reason
			w.pause.mu.Unlock()
		}
		w.pauseOn(reason, err)
		wait = min(wait*2, w.opts.ProbeMax)
	}
	w.pause.mu.Lock()
	w.pause.wait = wait
	w.pause.mu.Unlock()
	w.resume()
}

// countPaused brings saleassist_worker_paused_seconds_total up to date.
func (w *Worker) countPaused() {
	ps := &w.pause
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if !ps.paused {
		return
	}
	now := time.Now()
	w.metrics.pausedSeconds.Add(now.Sub(ps.tick).Seconds())
	ps.tick = now
}

// resume ends the pause: fetching goes on.
func (w *Worker) resume() {
	w.countPaused()
	ps := &w.pause
	ps.mu.Lock()
	lasted := time.Since(ps.since).Round(time.Second)
	reason, putBack := ps.reason, ps.putBack
	w.metrics.paused.WithLabelValues(reason).Set(0)
	ps.paused, ps.reason, ps.lastErr, ps.resumedAt = false, "", "", time.Now()
	close(ps.resumed)
	ps.mu.Unlock()
	ps.log.OK(fmt.Sprintf("store back after %s, resuming", lasted), "reason", reason, "events_handed_back", putBack)
}
