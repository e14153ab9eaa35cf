//go:build drills

package drills_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/saleassist-pipeline/pipeline/drills"
)

// 1. NATS server restart under load: nats-server, cmd/ingest and cmd/worker are three processes.
// NATS is stopped twice while requests keep coming — once with SIGTERM, once with SIGKILL — and
// started again on the same port and store directory.
func TestDrill1NATSRestart(t *testing.T) {
	p := newPipeline(t, "nats-restart")
	p.startNATS(1)
	p.startIngest()
	p.startWorker()
	load := p.load(nil)
	moreAccepted(t, load, 300, 30*time.Second)

	node := p.nats[0]
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL} {
		before := load.Totals()
		if sig == syscall.SIGTERM {
			node.Term(t, 30*time.Second)
		} else {
			node.Kill(t)
		}
		// While NATS is down, requests must fail (503 or no answer), never get a 202.
		load.Await(t, "503s while NATS is down", 20*time.Second, func(s drills.Totals) bool {
			return s.Unavailable >= before.Unavailable+20
		})
		down := load.Totals()
		node.Restart(t)
		drills.AwaitJetStream(t, node, startTimeout)
		after := moreAccepted(t, load, 300, 30*time.Second)
		t.Logf("NATS %v: %d answered 503 while it was down; accepting again after the restart (%d accepted so far)",
			sig, down.Unavailable-before.Unavailable, after.Accepted)
	}
	load.Run(2 * time.Second)
	p.finish(load)
}

// 2. Worker SIGKILL mid-batch, restarted: the worker is killed three times while it is inside a
// batch (its metrics show a batch started and not finished), and started again a second later.
// What it held unacknowledged is redelivered after AckWait; what it had committed but not yet
// acknowledged comes back as a duplicate, which the store's unique event id turns into a no-op.
func TestDrill2WorkerKill(t *testing.T) {
	p := newPipeline(t, "worker-kill")
	p.startNATS(1)
	p.startIngest()
	w := p.startWorker()
	load := p.load(nil)
	moreAccepted(t, load, 300, 30*time.Second)

	var redelivered, dups float64
	for round := range 3 {
		addr := w.Started(t, startTimeout)
		mid := awaitMidBatch(addr, 3*time.Second)
		w.Kill(t)
		t.Logf("kill %d: worker SIGKILLed %s", round+1, map[bool]string{true: "inside a batch", false: "(no batch seen in progress within 3s)"}[mid])
		time.Sleep(time.Second)
		w.Restart(t)
		moreAccepted(t, load, 300, 30*time.Second)
		time.Sleep(4 * time.Second) // past AckWait: what the dead worker held is redelivered
		m := drills.Scrape(w.Started(t, startTimeout))
		redelivered += drills.Sum(m, "saleassist_worker_redeliveries_total")
		dups += drills.Sum(m, "saleassist_worker_events_total", `outcome="duplicate"`)
	}
	p.finish(load)
	t.Logf("the restarted workers got %.0f redeliveries of what the killed ones held; %.0f of them had been committed before the kill (outcome=duplicate)",
		redelivered, dups)
}

// awaitMidBatch polls the worker's metrics until a batch has started and not finished.
func awaitMidBatch(addr string, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		m := drills.Scrape(addr)
		if m != nil && m["saleassist_worker_batch_size_count"] > m["saleassist_worker_batch_duration_seconds_count"] {
			return true
		}
		time.Sleep(time.Millisecond)
	}
	return false
}

// 3. JetStream leader loss in a 3-node cluster (three nats-server processes, streams with
// replicas 3) under load: the node leading the events stream is SIGKILLed; the others elect a
// new leader and the ingest, which lists all three in NATS_URL, reconnects and republishes what
// was in flight. The dead node is then restarted and catches up.
func TestDrill3LeaderLoss(t *testing.T) {
	p := newPipeline(t, "leader-loss")
	p.startNATS(3)
	p.startIngest("-stream-replicas", "3")
	p.startWorker("-stream-replicas", "3")
	load := p.load(nil)
	moreAccepted(t, load, 300, 30*time.Second)

	leader := streamLeader(t, p, "")
	var node *drills.NATSNode
	for _, n := range p.nats {
		if n.Name == leader {
			node = n
		}
	}
	if node == nil {
		t.Fatalf("stream leader %q is none of the nodes", leader)
	}
	before := load.Totals()
	node.Kill(t)
	t0 := time.Now()
	next := streamLeader(t, p, leader)
	t.Logf("stream leader %s SIGKILLed; %s leads after %s", leader, next, time.Since(t0).Round(time.Millisecond))
	after := moreAccepted(t, load, 300, 60*time.Second)
	t.Logf("while the leader was lost: %d answered 503, %d connection errors",
		after.Unavailable-before.Unavailable, after.ConnErrors-before.ConnErrors)
	node.Restart(t)
	drills.AwaitJetStream(t, node, startTimeout)
	moreAccepted(t, load, 300, 30*time.Second)
	p.finish(load)
}

// streamLeader waits for the events stream to have a leader other than not, and names it.
func streamLeader(t *testing.T, p *pipeline, not string) string {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second) // a raft election takes 6-10 s after a crash
	for time.Now().Before(deadline) {
		if l, err := drills.StreamLeader(context.Background(), p.js); err == nil && l != "" && l != not {
			return l
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no stream leader other than %q within 60s", not)
	return ""
}

// 4. SQLite write lock held by another connection for 8 seconds (longer than the store's 5 s
// busy timeout) under load: the worker's transaction times out, the store is unavailable (busy),
// so the worker pauses (its batch handed back, fetching stopped) and probes the lock; the ingest
// keeps answering 202 from JetStream; once the lock goes, the worker resumes and everything is
// stored.
func TestDrill4SQLiteLock(t *testing.T) {
	p := newPipeline(t, "sqlite-lock")
	p.startNATS(1)
	p.startIngest()
	w := p.startWorker()
	load := p.load(nil)
	moreAccepted(t, load, 300, 30*time.Second)

	db, err := sql.Open("sqlite3", "file:"+p.db+"?_busy_timeout=10000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(context.Background(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatalf("take the write lock: %v", err)
	}
	held := time.Now()
	before := load.Totals()
	load.Run(8 * time.Second)
	if _, err := conn.ExecContext(context.Background(), "ROLLBACK"); err != nil {
		t.Fatalf("release the write lock: %v", err)
	}
	during := load.Totals()
	paused := drills.Sum(drills.Scrape(w.Started(t, startTimeout)), "saleassist_worker_paused_seconds_total")
	t.Logf("write lock held %s: %d events accepted meanwhile; the worker paused on the busy store for %.1f s",
		time.Since(held).Round(time.Millisecond), during.Accepted-before.Accepted, paused)
	if during.Accepted == before.Accepted {
		t.Errorf("no 202 while the database was locked: the ingest must not depend on the store")
	}
	if paused == 0 {
		t.Errorf("the worker never paused on the lock: the drill proved nothing")
	}
	moreAccepted(t, load, 300, 30*time.Second)
	p.finish(load)
}

// 5. Ingest SIGTERM under load, restarted: a standalone cmd/ingest (embedded JetStream and the
// in-process worker, the README's default) gets SIGTERM twice under load; each time it must
// answer what is in flight, finish its batch and exit 0, and it is started again on the same
// port and data directory while the clients keep sending.
func TestDrill5IngestSIGTERM(t *testing.T) {
	p := newPipeline(t, "ingest-sigterm")
	addr := fmt.Sprintf("127.0.0.1:%d", drills.FreePort(t))
	natsAddr := fmt.Sprintf("127.0.0.1:%d", drills.FreePort(t))
	dataDir := filepath.Join(p.dir, "data")
	p.db = filepath.Join(dataDir, "leads.db")
	p.ingest = p.ps.Start("ingest", bins.Ingest, drills.IngestEnv(), "-addr", addr, "-data-dir", dataDir,
		"-embedded-nats-addr", natsAddr, "-console-addr=", "-stream-max-bytes", streamMaxBytes, "-ack-wait", ackWait)
	p.ingest.Started(t, startTimeout)
	p.urls = []string{"http://" + addr}
	p.js = drills.Connect(t, "nats://"+natsAddr)
	load := p.load(nil)
	moreAccepted(t, load, 300, 30*time.Second)

	for round := range 2 {
		before := load.Totals()
		t0 := time.Now()
		p.ingest.Term(t, 40*time.Second)
		stopped := time.Since(t0)
		p.ingest.Restart(t)
		p.ingest.Started(t, startTimeout)
		t.Logf("SIGTERM %d: exited 0 after %s, listening again %s after the signal", round+1,
			stopped.Round(time.Millisecond), time.Since(t0).Round(time.Millisecond))
		after := moreAccepted(t, load, 300, 30*time.Second)
		t.Logf("meanwhile: %d connection errors, %d answered 503", after.ConnErrors-before.ConnErrors, after.Unavailable-before.Unavailable)
	}
	p.finish(load)
}

// 6. Duplicate storm: 10% of requests re-send an earlier event byte for byte, half of them past
// JetStream's duplicate window (set to 1 s here, so that only the store's unique event id can drop
// them); and acknowledgements are withheld past AckWait (2 s) by SIGSTOPping one of two workers
// for 4 s, four times, so JetStream redelivers what it held to the other worker, and the stopped
// one, when continued, commits and acknowledges copies the other has already stored.
func TestDrill6DuplicateStorm(t *testing.T) {
	p := newPipeline(t, "duplicate-storm")
	p.startNATS(1)
	p.startIngest("-duplicate-window", "1s")
	w1 := p.startWorker("-ack-wait", "2s")
	w2 := p.startWorker("-ack-wait", "2s")
	load := p.load(func(o *drills.LoadOptions) { o.Resend, o.ResendAfter = 0.10, 1500*time.Millisecond })
	moreAccepted(t, load, 300, 30*time.Second)

	for round, w := range []*drills.Proc{w1, w2, w1, w2} {
		w.Signal(t, syscall.SIGSTOP)
		load.Run(4 * time.Second)
		w.Signal(t, syscall.SIGCONT)
		t.Logf("stop %d: %s SIGSTOPped for 4s, then continued", round+1, w.Name)
		load.Run(2 * time.Second)
	}
	p.finish(load)

	var redelivered, dups float64
	for _, w := range []*drills.Proc{w1, w2} {
		m := drills.Scrape(w.Started(t, startTimeout))
		redelivered += drills.Sum(m, "saleassist_worker_redeliveries_total")
		dups += drills.Sum(m, "saleassist_worker_events_total", `outcome="duplicate"`)
	}
	tot := load.Totals()
	t.Logf("storm: %d re-sends and retries, %d answered duplicate:true by JetStream's window; workers saw %.0f redeliveries and dropped %.0f duplicates by event id",
		tot.Resent, tot.Duplicate, redelivered, dups)
	if redelivered == 0 || dups == 0 {
		t.Errorf("the storm did not force redeliveries (%.0f) and store-level duplicates (%.0f): the drill proved nothing", redelivered, dups)
	}
}

// 7. Stream full: the events stream is limited to 1 MiB and no worker runs, so it fills; the
// ingest must answer 503 (DiscardNew), never drop or overwrite. A worker then starts and drains
// it, and the same ingest accepts again.
func TestDrill7StreamFull(t *testing.T) {
	p := newPipeline(t, "stream-full")
	p.startNATS(1)
	p.startIngest("-stream-max-bytes", "1048576") // the last -stream-max-bytes wins
	load := p.load(nil)
	full := load.Await(t, "503s from a full stream", 30*time.Second, func(s drills.Totals) bool { return s.Unavailable >= 100 })
	load.Run(2 * time.Second)
	t.Logf("stream full after %d events accepted; %d answered 503 so far", full.Accepted, load.Totals().Unavailable)
	p.startWorker()
	moreAccepted(t, load, 600, 30*time.Second)
	p.finish(load)
	st := load.Statuses()
	var codes []string
	for c, n := range st {
		codes = append(codes, fmt.Sprintf("%d×%d", n, c))
	}
	t.Logf("answers: %s", strings.Join(codes, " "))
}
