//go:build drills

package drills_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/saleassist-pipeline/pipeline/drills"
	"github.com/saleassist-pipeline/pipeline/internal/lab"
	"github.com/saleassist-pipeline/pipeline/pkg/queue"
	"github.com/saleassist-pipeline/pipeline/pkg/worker"
)

// people bounds how many people the scale-out drills' events are about (DRILL_PEOPLE, 100), so
// that each gets many events and the three workers apply the same person's events at once.
var people = envInt("DRILL_PEOPLE", 100)

// pgOutage is how long drill 9 keeps PostgreSQL down: a few seconds, far shorter than the
// worker's retry horizon (retryHorizon).
const pgOutage = 5 * time.Second

// scaleOut starts the scaled-out stack of drills 8, 9, 11 and 12–14, every process on a host of
// its own in the hosts lab (on loopback when the lab cannot run here and CI is not true): a
// PostgreSQL of the drill's own, three nats-servers in one cluster (streams with replicas 3), two
// ingests (-duplicate-window 1s, so that re-sends older than a second reach the store) and three
// workers sharing the database through DATABASE_URL, with workerFlags.
func scaleOut(t *testing.T, name string, workerFlags ...string) *pipeline {
	p := newPipeline(t, name)
	p.onLab()
	return p.scaleOut(nil, workerFlags)
}

// scaleOut starts the stack on p's hosts (or loopback), with extra flags for the ingests and the
// workers.
func (p *pipeline) scaleOut(ingestFlags, workerFlags []string) *pipeline {
	t := p.t
	p.gen.SetPopulation(people)
	// PostgreSQL first: without its binaries the drill skips (or fails, under CI=true) before
	// anything else starts.
	t0 := time.Now()
	var pgHost *lab.Host
	if p.lab != nil {
		pgHost, _ = p.place("pg", 0, "")
	}
	p.pg = drills.StartPostgresOn(t, p.ps, pgHost)
	p.db = p.pg.URL()
	t.Logf("PostgreSQL: new cluster at %s, answering %s after initdb", strings.TrimPrefix(p.pg.URL(), "postgres://"), time.Since(t0).Round(time.Millisecond))
	p.startNATS(3)
	for range 2 {
		p.startIngest(append([]string{"-stream-replicas", "3", "-duplicate-window", "1s"}, ingestFlags...)...)
	}
	for range 3 {
		p.startWorker(append([]string{"-stream-replicas", "3"}, workerFlags...)...)
	}
	return p
}

// blast is the scale-out load: 10% of requests re-send an earlier event byte for byte, half of
// them past the 1 s duplicate window.
func (p *pipeline) blast() *drills.Load {
	return p.load(func(o *drills.LoadOptions) { o.Resend, o.ResendAfter = 0.10, 1500*time.Millisecond })
}

// 8. Scale-out: two ingests and three workers on a 3-node JetStream cluster (R3) and one shared
// PostgreSQL, under a load with re-sends and many events per person. One worker is SIGKILLed
// inside a batch and left dead, so the other two take over what it held after AckWait; then the
// node leading the events stream is SIGKILLed and, once another leads, restarted.
func TestDrill8ScaleOut(t *testing.T) {
	p := scaleOut(t, "scale-out")
	load := p.blast()
	moreAccepted(t, load, 600, 30*time.Second)

	w := p.workers[0]
	mid := awaitMidBatch(w.Started(t, startTimeout), 3*time.Second)
	w.Kill(t)
	t.Logf("%s SIGKILLed %s; not restarted", w.Name, map[bool]string{true: "inside a batch", false: "(no batch seen in progress within 3s)"}[mid])
	moreAccepted(t, load, 600, 30*time.Second)

	leader := streamLeader(t, p, "")
	node := natsNode(t, p, leader)
	before := load.Totals()
	node.Kill(t)
	t0 := time.Now()
	next := streamLeader(t, p, leader)
	t.Logf("stream leader %s SIGKILLed; %s leads after %s", leader, next, time.Since(t0).Round(time.Millisecond))
	after := moreAccepted(t, load, 600, 60*time.Second)
	t.Logf("while the leader was lost: %d answered 503, %d connection errors",
		after.Unavailable-before.Unavailable, after.ConnErrors-before.ConnErrors)
	node.Restart(t)
	drills.AwaitJetStream(t, node, startTimeout)
	moreAccepted(t, load, 2400, 30*time.Second) // the restarted node catches up under load
	p.finish(load)
	requireRetryAfter(t, load)
	p.logScaleOut(load)
}

// 9. PostgreSQL outage: the same stack; under load, the PostgreSQL server is SIGKILLed (kill -9
// of the pid in postmaster.pid) and started again after pgOutage, and has to recover from its
// WAL. The ingests must keep answering 202 from JetStream; the workers pause on the unavailable
// store (they hand their batches back and stop fetching), probe it and resume on their own, and
// none may be dead-lettered.
func TestDrill9PostgresOutage(t *testing.T) {
	p := scaleOut(t, "postgres-outage")
	load := p.blast()
	moreAccepted(t, load, 1200, 30*time.Second)

	before := load.Totals()
	t0 := time.Now()
	procs := p.pg.Crash(t)
	load.Run(pgOutage) // the outage itself: a fixed time, nothing to await
	restart := time.Now()
	p.pg.Start(t)
	back := time.Now()
	during := load.Totals()
	t.Logf("PostgreSQL SIGKILLed (the postmaster, and the %d processes it had started gone after it); started again after %s, answering %s later (crash recovery); %d events accepted meanwhile",
		procs, restart.Sub(t0).Round(time.Millisecond), back.Sub(restart).Round(time.Millisecond), during.Accepted-before.Accepted)
	t.Logf("PostgreSQL on its recovery:\n  %s", strings.Join(p.pg.LastRun("was interrupted", "redo", "checkpoint complete", "ready to accept"), "\n  "))
	if during.Accepted == before.Accepted {
		t.Errorf("no 202 while PostgreSQL was down: the ingest must not depend on the store")
	}
	if horizon := retryHorizon(queue.DefaultMaxDeliver); back.Sub(t0) >= horizon {
		t.Fatalf("the outage (%s) was not shorter than the retry horizon (%s): the drill is miscalibrated", back.Sub(t0), horizon)
	}
	moreAccepted(t, load, 1200, 30*time.Second)
	p.finish(load)
	requireRetryAfter(t, load)

	paused := p.workerSum("saleassist_worker_paused_seconds_total")
	t.Logf("the workers were paused %.1f s in all; %s; %d log lines about the store",
		paused, p.deliveries(), p.storeLogLines())
	if paused == 0 {
		t.Errorf("no worker paused while PostgreSQL was down: the drill proved nothing")
	}
	for _, w := range p.workers {
		if !w.Running() {
			t.Errorf("%s exited during the PostgreSQL outage: a worker must ride out its store's outage\n%s", w.Name, w.Tail(20))
		}
	}
	p.logScaleOut(load)
}

// retryHorizon is how long an event that fails on every delivery is retried before it is
// dead-lettered: the worker's delays after deliveries 1 … maxDeliver-1 (worker.Backoff: 1 s,
// 2 s, 4 s … one minute), about 14 minutes at the default of 20.
func retryHorizon(maxDeliver int) time.Duration {
	var d time.Duration
	for n := 1; n < maxDeliver; n++ {
		d += worker.Backoff(uint64(n))
	}
	return d
}

// deliveriesOver3 sums saleassist_worker_event_deliveries over the workers still running: how
// many events the store took (stored, or found a duplicate) at their 1st, 2nd, 3rd and a later
// delivery; it returns that as text, and how many took more than 3.
func (p *pipeline) deliveriesOver3() (string, float64) {
	le := func(n string) float64 { return p.workerSum("saleassist_worker_event_deliveries_bucket", `le="`+n+`"`) }
	one, two, three, all := le("1"), le("2"), le("3"), p.workerSum("saleassist_worker_event_deliveries_count")
	return fmt.Sprintf("deliveries per event the store took (stored, or found a duplicate): 1: %.0f, 2: %.0f, 3: %.0f, more: %.0f", one, two-one, three-two, all-three), all - three
}

// deliveries is deliveriesOver3's text.
func (p *pipeline) deliveries() string { s, _ := p.deliveriesOver3(); return s }

// storeLogLines counts the workers' log lines about their store's state ("store unavailable …",
// "store back …"), all workers together.
func (p *pipeline) storeLogLines() int {
	n := 0
	for _, w := range p.workers {
		for line := range strings.SplitSeq(w.Log(), "\n") {
			if strings.Contains(line, `"msg":"store `) {
				n++
			}
		}
	}
	return n
}

// workerSum adds a metric over the workers still running.
func (p *pipeline) workerSum(name string, labels ...string) float64 {
	var s float64
	for _, w := range p.workers {
		if w.Running() {
			s += drills.Sum(drills.Scrape(w.Started(p.t, startTimeout)), name, labels...)
		}
	}
	return s
}

// logScaleOut logs what the scale-out load amounted to per person, and the workers' view of it.
func (p *pipeline) logScaleOut(load *drills.Load) {
	perPerson := map[*drills.Person]int{}
	for id := range load.Outcomes() {
		if e := p.gen.Event(id); e != nil {
			perPerson[e.Person]++
		}
	}
	most, sum := 0, 0
	for _, n := range perPerson {
		most, sum = max(most, n), sum+n
	}
	if len(perPerson) > 0 {
		p.t.Logf("%d people, %.1f events each on average, at most %d; the workers saw %.0f redeliveries and dropped %.0f copies by event id",
			len(perPerson), float64(sum)/float64(len(perPerson)), most,
			p.workerSum("saleassist_worker_redeliveries_total"), p.workerSum("saleassist_worker_events_total", `outcome="duplicate"`))
	}
}

// natsNode is the node named name.
func natsNode(t *testing.T, p *pipeline, name string) *drills.NATSNode {
	t.Helper()
	for _, n := range p.nats {
		if n.Name == name {
			return n
		}
	}
	t.Fatalf("stream leader %q is none of the nodes", name)
	return nil
}
