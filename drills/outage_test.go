//go:build drills

package drills_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/saleassist-pipeline/pipeline/drills"
)

// longOutageMaxDeliver shortens drill 11's retry horizon to under a minute: deliveries 1 … 5
// wait 1 + 2 + 4 + 8 + 16 = 31 s before the sixth is the last.
const longOutageMaxDeliver = 6

// 11. A PostgreSQL outage three times the retry horizon: the scale-out stack with
// WORKER_MAX_DELIVER shortened to 6 (horizon 31 s), PostgreSQL SIGKILLed under load as in drill 9
// and kept down 3 × 31 s. Before the workers paused on an unavailable store, every event they
// touched meanwhile was retried to its last delivery and dead-lettered. Now each worker pauses
// (it hands its batch back and stops fetching), probes the store and resumes on its own: nothing
// may be dead-lettered, lost or duplicated, the backlog drains after the recovery, and no stored
// event may have taken more than 3 deliveries. The load runs at DRILL_OUTAGE_RATE (50/s) so
// that the backlog of the outage fits the stream.
func TestDrill11LongPostgresOutage(t *testing.T) {
	horizon := retryHorizon(longOutageMaxDeliver)
	outage := 3 * horizon
	p := scaleOut(t, "long-postgres-outage", "-max-deliver", strconv.Itoa(longOutageMaxDeliver))
	load := p.load(func(o *drills.LoadOptions) { o.Rate = envInt("DRILL_OUTAGE_RATE", 50) })
	moreAccepted(t, load, 300, 30*time.Second)

	before := load.Totals()
	t0 := time.Now()
	procs := p.pg.Crash(t)
	paused := func() float64 { return p.workerSum("saleassist_worker_paused") }
	awaitWorkers(t, "every worker paused", 30*time.Second, func() bool { return paused() == float64(len(p.workers)) })
	t.Logf("PostgreSQL SIGKILLed (%d processes gone); all %d workers paused %s later", procs, len(p.workers), time.Since(t0).Round(time.Millisecond))
	load.Run(outage - time.Since(t0)) // the outage itself: a fixed time, nothing to await
	restart := time.Now()
	p.pg.Start(t)
	back := time.Now()
	during := load.Totals()
	t.Logf("PostgreSQL started again after %s (%.1f × the retry horizon of %s), answering %s later; %d events accepted meanwhile",
		restart.Sub(t0).Round(time.Millisecond), restart.Sub(t0).Seconds()/horizon.Seconds(), horizon, back.Sub(restart).Round(time.Millisecond), during.Accepted-before.Accepted)
	if during.Accepted == before.Accepted {
		t.Errorf("no 202 while PostgreSQL was down: the ingest must not depend on the store")
	}
	awaitWorkers(t, "every worker resumed", 60*time.Second, func() bool { return paused() == 0 })
	t.Logf("all workers resumed %s after PostgreSQL answered", time.Since(back).Round(time.Millisecond))
	moreAccepted(t, load, 300, 30*time.Second)
	p.finish(load) // settles, and requires no dead letter, no loss, no duplicate

	text, over := p.deliveriesOver3()
	t.Logf("%s; paused %.1f s in all (3 workers); %d log lines about the store (all workers), %.0f attempts counted failed",
		text, p.workerSum("saleassist_worker_paused_seconds_total"), p.storeLogLines(), p.workerSum("saleassist_worker_events_total", `outcome="failed"`))
	if over > 0 {
		t.Errorf("%.0f events took more than 3 deliveries", over)
	}
	for _, w := range p.workers {
		if !w.Running() {
			t.Errorf("%s exited during the outage\n%s", w.Name, w.Tail(20))
		}
	}
}

// awaitWorkers polls cond every 100 ms until it holds, or fails the drill after timeout.
func awaitWorkers(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
