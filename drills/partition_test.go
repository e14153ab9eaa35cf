//go:build drills

package drills_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/saleassist-pipeline/pipeline/drills"
	"github.com/saleassist-pipeline/pipeline/internal/lab"
	"github.com/saleassist-pipeline/pipeline/pkg/queue"
)

// The partition drills (12–14) run the scaled-out stack of drill 8 on the hosts lab and take one
// host's link down (lab.Host.SetLink: the machine has no tc netem and no iptables), then up again.
// Nothing is shortened beyond what every drill uses; the values are printed with each drill.
const (
	// publishTimeout is the ingest's default PUBLISH_TIMEOUT, which the drills keep.
	publishTimeout = queue.DefaultPublishTimeout
	// workerCut is how long drill 12 keeps a worker's link down: longer than AckWait (3 s), so
	// JetStream redelivers what it held to the other workers meanwhile.
	workerCut = 8 * time.Second
	// natsCut is how long drill 13 keeps the stream leader's host cut off: longer than a raft
	// election (6–10 s after a node is lost).
	natsCut = 15 * time.Second
	// ingestCut is how long drill 14 keeps an ingest cut off from NATS.
	ingestCut = 10 * time.Second
)

// logTimings prints the timings a partition drill runs with.
func logTimings(t *testing.T, cut string, d time.Duration) {
	aw, _ := time.ParseDuration(ackWait)
	t.Logf("timings: worker -ack-wait %s (its batch timeout two thirds of it, %s), MaxDeliver %d (retry horizon %s); ingest publish timeout %s; %s cut off for %s",
		aw, aw*2/3, queue.DefaultMaxDeliver, retryHorizon(queue.DefaultMaxDeliver), publishTimeout, cut, d)
}

// requireRetryAfter fails the drill if any 503 came without Retry-After.
func requireRetryAfter(t *testing.T, load *drills.Load) {
	t.Helper()
	if n := load.NoRetryAfter(); n > 0 {
		t.Errorf("%d answers 503 without Retry-After: every 503 must say when to retry", n)
	}
}

// 12. A worker host cut off mid-batch: one of three workers has its link taken down while its
// metrics show a batch started and not finished, for longer than AckWait, then up again. JetStream
// redelivers what it held to the other two, which store it; the cut worker's commit, if it lands
// after all, finds the events stored and changes nothing. Nothing is lost or stored twice.
func TestDrill12WorkerCutOff(t *testing.T) {
	p := newPipeline(t, "worker-cut")
	p.requireLab()
	p.scaleOut(nil, nil)
	logTimings(t, "worker1's host", workerCut)
	load := p.blast()
	moreAccepted(t, load, 600, 30*time.Second)

	w := p.workers[0]
	addr := w.Started(t, startTimeout)
	h := p.hostOf(addr)
	others := p.workers[1:]
	redeliveredBefore := sumOver(t, others, "saleassist_worker_redeliveries_total")
	dupBefore := drills.Sum(drills.Scrape(addr), "saleassist_worker_events_total", `outcome="duplicate"`)
	mid := awaitMidBatch(addr, 3*time.Second)
	storedBefore := stored(t, p.db)
	mustSetLink(t, h, false)
	t0 := time.Now()
	t.Logf("%s's host cut off %s", w.Name, map[bool]string{true: "inside a batch", false: "(no batch seen in progress within 3s)"}[mid])
	load.Run(workerCut)
	redelivered := sumOver(t, others, "saleassist_worker_redeliveries_total") - redeliveredBefore
	storedDuring := stored(t, p.db) - storedBefore
	mustSetLink(t, h, true)
	t.Logf("link up after %s: meanwhile the other workers got %.0f redeliveries and the store took %d events",
		time.Since(t0).Round(time.Millisecond), redelivered, storedDuring)
	if redelivered == 0 {
		t.Errorf("the other workers got no redelivery while %s was cut off: nobody took its events", w.Name)
	}
	if storedDuring == 0 {
		t.Errorf("nothing was stored while %s was cut off: the other workers must go on", w.Name)
	}

	// The cut worker comes back on its own and works again.
	before := drills.Sum(drills.Scrape(addr), "saleassist_worker_events_total")
	t1 := time.Now()
	for drills.Sum(drills.Scrape(addr), "saleassist_worker_events_total") <= before {
		if !w.Running() {
			t.Fatalf("%s exited after its link came back:\n%s", w.Name, w.Tail(20))
		}
		if time.Since(t1) > 60*time.Second {
			t.Fatalf("%s stored nothing within 60s of its link coming back:\n%s", w.Name, w.Tail(20))
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("%s answered and stored again %s after its link came back (no restart)", w.Name, time.Since(t1).Round(time.Millisecond))
	moreAccepted(t, load, 600, 30*time.Second)
	p.finish(load)
	requireRetryAfter(t, load)
	m := drills.Scrape(addr)
	t.Logf("%s in all: %.0f events stored, %.0f found already stored (outcome=duplicate; %.0f since the cut: re-sends past the 1 s window, and copies of what it held that the others had stored), %.0f attempts failed and retried; log lines about its cut: %s",
		w.Name, drills.Sum(m, "saleassist_worker_events_total", `outcome="stored"`), drills.Sum(m, "saleassist_worker_events_total", `outcome="duplicate"`),
		drills.Sum(m, "saleassist_worker_events_total", `outcome="duplicate"`)-dupBefore,
		drills.Sum(m, "saleassist_worker_events_total", `outcome="failed"`), logSummary(w, "store batch", "disconnected", "reconnected"))
	p.logScaleOut(load)
}

// 13. The stream leader's host cut off: the node leading the events stream's raft group has its
// link taken down for natsCut under load. The two other nodes elect a new leader; an ingest whose
// NATS connection is on the majority side answers 503 with Retry-After until then and 202 after,
// each 202 with a stored copy (an ingest connected to the cut node answers 503 only). The link
// comes up, the cut node catches up on what it missed, and nothing acknowledged is lost.
func TestDrill13LeaderCutOff(t *testing.T) {
	p := newPipeline(t, "leader-cut")
	p.requireLab()
	p.scaleOut(nil, nil)
	logTimings(t, "the stream leader's host", natsCut)
	load := p.blast()
	moreAccepted(t, load, 600, 30*time.Second)

	// The node to cut: the stream leader, handed on until at least one ingest is connected to
	// another node (else no ingest is on the majority side and the drill proves less).
	var leader string
	var sides map[string]string // ingest URL → the node it is connected to
	for try := 0; ; try++ {
		leader = streamLeader(t, p, "")
		sides = ingestNodes(t, p)
		majority := 0
		for _, n := range sides {
			if n != leader {
				majority++
			}
		}
		if majority > 0 {
			break
		}
		if try == 5 {
			t.Fatalf("every ingest stays connected to the stream leader %s", leader)
		}
		if err := drills.StepDown(context.Background(), p.js); err != nil {
			t.Fatalf("ask leader %s to step down: %v", leader, err)
		}
		streamLeader(t, p, leader)
	}
	node := natsNode(t, p, leader)
	var rest []*drills.NATSNode
	for _, n := range p.nats {
		if n != node {
			rest = append(rest, n)
		}
	}
	// The drill's own view goes through the majority side, as an operator's would.
	p.js = drills.Connect(t, drills.URLs(rest))
	for url, n := range sides {
		t.Logf("%s is connected to %s%s", strings.TrimPrefix(url, "http://"), n, map[bool]string{true: " (the node cut off)", false: ""}[n == leader])
	}
	t.Logf("workers: %s", workerNodes(t, p))

	snap := func() map[string]map[int]int {
		m := map[string]map[int]int{}
		for _, u := range p.urls {
			m[u] = load.StatusesOf(u)
		}
		return m
	}
	before := load.Totals()
	atCut := snap()
	mustSetLink(t, node.Host, false)
	t0 := time.Now()
	next := streamLeader(t, p, leader)
	elected := time.Since(t0)
	t.Logf("stream leader %s cut off; %s leads after %s", leader, next, elected.Round(time.Millisecond))
	atElection := snap()
	// Majority-side ingests accept again while the node is still cut off.
	for url, n := range sides {
		if n == leader {
			continue
		}
		base := atElection[url][http.StatusAccepted]
		load.Await(t, "202s from "+url+" with a new leader", natsCut, func(drills.Totals) bool {
			return load.StatusesOf(url)[http.StatusAccepted] >= base+100
		})
	}
	// Requests sent before the cut may still be answered within the publish timeout; none after.
	if d := publishTimeout + 500*time.Millisecond; time.Since(t0) < d {
		load.Run(d - time.Since(t0))
	}
	settled := snap()
	if rest := natsCut - time.Since(t0); rest > 0 {
		load.Run(rest)
	}
	atHeal := snap()
	during := load.Totals()
	// Where the ingests are now, as the majority's nodes see them (the cut node does not answer):
	// an ingest whose link to the cut node went silent leaves it for a live node (natsconn's
	// FlusherTimeout and PingInterval), and may then answer 202 with the majority's PubAck.
	now := map[string]string{}
	for _, n := range rest {
		cs, err := n.Clients()
		if err != nil {
			t.Fatalf("%s: %v", n.Name, err)
		}
		for _, c := range cs {
			if c.Name == "saleassist-ingest" {
				now[c.IP] = n.Name
			}
		}
	}
	mustSetLink(t, node.Host, true)
	t1 := time.Now()
	for url, n := range sides {
		d := func(m map[string]map[int]int, s int) int { return m[url][s] }
		t.Logf("%s (on %s) while %s was cut off: %d answered 202 (%d of them after the new leader), %d answered 503, %d no answer",
			strings.TrimPrefix(url, "http://"), n, leader, d(atHeal, 202)-d(atCut, 202), d(atHeal, 202)-d(atElection, 202),
			d(atHeal, 503)-d(atCut, 503), d(atHeal, 0)-d(atCut, 0))
		if n != leader || d(atHeal, 202) <= d(settled, 202) {
			continue
		}
		if moved := now[p.hostOf(strings.TrimPrefix(url, "http://")).Addr.String()]; moved != "" {
			t.Logf("%s left the cut-off node for %s, and answered %d requests 202 from the majority side", url, moved, d(atHeal, 202)-d(settled, 202))
			continue
		}
		t.Errorf("%s, connected to the cut-off node, answered %d requests 202 while cut off: a 202 needs a PubAck from a majority",
			url, d(atHeal, 202)-d(settled, 202))
	}
	if during.Accepted == before.Accepted {
		t.Errorf("no 202 while the leader was cut off: the majority side must go on")
	}

	// The cut node catches up: the leader sees its copy current, nothing behind.
	var caught time.Duration
	deadline := time.Now().Add(60 * time.Second)
	for {
		rs, err := drills.Replicas(context.Background(), p.js)
		if err == nil && caughtUp(rs, leader) {
			caught = time.Since(t1)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not catch up within 60s of its link coming back: %+v (%v)", leader, rs, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("link up; %s's copy of the stream current and 0 behind %s later", leader, caught.Round(time.Millisecond))
	for _, u := range p.urls {
		t.Logf("%s: slowest answer so far %s", strings.TrimPrefix(u, "http://"), load.SlowestOf(u).Round(time.Millisecond))
	}
	for url, n := range sides {
		if n == leader {
			base := load.StatusesOf(url)[http.StatusAccepted]
			load.Await(t, "202s again from "+url, 60*time.Second, func(drills.Totals) bool {
				return load.StatusesOf(url)[http.StatusAccepted] > base
			})
			t.Logf("%s answered 202 again %s after the link came back", strings.TrimPrefix(url, "http://"), time.Since(t1).Round(time.Millisecond))
		}
	}
	moreAccepted(t, load, 1200, 60*time.Second)
	p.finish(load)
	requireRetryAfter(t, load)
	p.logScaleOut(load)
}

// caughtUp reports whether node's copy of the stream is current and not behind the leader.
func caughtUp(rs []drills.Replica, node string) bool {
	for _, r := range rs {
		if r.Name == node {
			return r.Leader || (r.Current && !r.Offline && r.Lag == 0)
		}
	}
	return false
}

// ingestNodes names the node each ingest's NATS connection is on, from the nodes' connz.
func ingestNodes(t *testing.T, p *pipeline) map[string]string {
	t.Helper()
	byIP := clientNodes(t, p, "saleassist-ingest")
	out := map[string]string{}
	for _, u := range p.urls {
		ip := p.hostOf(strings.TrimPrefix(u, "http://")).Addr.String()
		if byIP[ip] == "" {
			t.Fatalf("no node has a connection from the ingest at %s", u)
		}
		out[u] = byIP[ip]
	}
	return out
}

// workerNodes says which node each worker's NATS connection is on, in one line.
func workerNodes(t *testing.T, p *pipeline) string {
	t.Helper()
	byIP := clientNodes(t, p, "saleassist-worker")
	var parts []string
	for _, w := range p.workers {
		parts = append(parts, w.Name+" on "+byIP[p.hostOf(w.Started(t, startTimeout)).Addr.String()])
	}
	return strings.Join(parts, ", ")
}

// clientNodes maps the address of each client connection named name to the node it is on.
func clientNodes(t *testing.T, p *pipeline, name string) map[string]string {
	t.Helper()
	byIP := map[string]string{}
	for _, n := range p.nats {
		cs, err := n.Clients()
		if err != nil {
			t.Fatalf("%s: %v", n.Name, err)
		}
		for _, c := range cs {
			if c.Name == name {
				byIP[c.IP] = n.Name
			}
		}
	}
	return byIP
}

// 14. An ingest cut off from NATS: the first ingest's link is taken down for ingestCut while its
// senders still reach it (the load dials it from inside its host, as senders on its side of the
// cut would: a host has one link, and the lab has no firewall to cut only NATS). It must answer
// 503 with Retry-After, never 202 without a PubAck, while the other ingest goes on accepting;
// once the link is back it accepts again, the same process, not restarted.
func TestDrill14IngestCutOff(t *testing.T) {
	p := newPipeline(t, "ingest-cut")
	p.requireLab()
	p.scaleOut(nil, nil)
	logTimings(t, "the first ingest's host (its senders reach it from inside)", ingestCut)
	url, other := p.urls[0], p.urls[1]
	cutAddr := strings.TrimPrefix(url, "http://")
	h := p.hostOf(cutAddr)
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		if addr == cutAddr {
			return h.DialContext(ctx, network, addr)
		}
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
	load := p.load(func(o *drills.LoadOptions) {
		o.Resend, o.ResendAfter = 0.10, 1500*time.Millisecond
		o.Dial = dial
	})
	moreAccepted(t, load, 600, 30*time.Second)
	ingest := p.ingestAt(cutAddr)
	pid := ingest.Pid()

	atCut := load.StatusesOf(url)
	otherAtCut := load.StatusesOf(other)
	mustSetLink(t, h, false)
	t0 := time.Now()
	load.Run(publishTimeout + 500*time.Millisecond) // requests whose PubAck came before the cut may still be answered 202
	settled := load.StatusesOf(url)
	readyz := probe(dial, "http://"+cutAddr+"/readyz")
	load.Run(ingestCut - time.Since(t0))
	atHeal := load.StatusesOf(url)
	otherAtHeal := load.StatusesOf(other)
	mustSetLink(t, h, true)
	t1 := time.Now()
	t.Logf("%s cut off from NATS for %s: %d answered 202 (all within %s of the cut), %d answered 503, %d no answer; /readyz meanwhile: %s; the other ingest answered %d 202s",
		cutAddr, t1.Sub(t0).Round(time.Millisecond), atHeal[202]-atCut[202], publishTimeout+500*time.Millisecond, atHeal[503]-atCut[503], atHeal[0]-atCut[0],
		readyz, otherAtHeal[202]-otherAtCut[202])
	if n := atHeal[202] - settled[202]; n > 0 {
		t.Errorf("%s answered %d requests 202 while cut off from NATS: a 202 needs a PubAck", cutAddr, n)
	}
	if atHeal[503]-atCut[503] < 10 {
		t.Errorf("%s answered only %d requests 503 while cut off: the cut did not bite", cutAddr, atHeal[503]-atCut[503])
	}
	if n := atHeal[0] - atCut[0]; n > 0 {
		t.Errorf("%s left %d requests unanswered while cut off: it must answer 503 within its publish timeout", cutAddr, n)
	}
	if otherAtHeal[202] == otherAtCut[202] {
		t.Errorf("the other ingest answered no 202 meanwhile")
	}

	base := load.StatusesOf(url)[http.StatusAccepted]
	load.Await(t, "202s again from "+url, 60*time.Second, func(drills.Totals) bool {
		return load.StatusesOf(url)[http.StatusAccepted] >= base+100
	})
	t.Logf("%s accepted again %s after its link came back; its slowest answer in the drill took %s", cutAddr,
		time.Since(t1).Round(time.Millisecond), load.SlowestOf(url).Round(time.Millisecond))
	if !ingest.Running() || ingest.Pid() != pid {
		t.Errorf("%s is not the process that was cut off: it must recover without a restart", cutAddr)
	}
	moreAccepted(t, load, 600, 30*time.Second)
	p.finish(load)
	requireRetryAfter(t, load)
	t.Logf("%s's log: %s", ingest.Name, logSummary(ingest, "publish failed", "disconnected", "reconnected"))
	p.logScaleOut(load)
}

// ingestAt is the ingest listening at addr.
func (p *pipeline) ingestAt(addr string) *drills.Proc {
	p.t.Helper()
	for i, u := range p.urls {
		if strings.TrimPrefix(u, "http://") == addr {
			name := "ingest"
			if i > 0 {
				name = fmt.Sprintf("ingest%d", i+1)
			}
			if pr := p.ps.Named(name); pr != nil {
				return pr
			}
		}
	}
	p.t.Fatalf("no ingest at %s", addr)
	return nil
}

// probe GETs url through dial and says what came back, in one line.
func probe(dial func(context.Context, string, string) (net.Conn, error), url string) string {
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DialContext: dial}}
	resp, err := c.Get(url)
	if err != nil {
		return "no answer: " + err.Error()
	}
	defer resp.Body.Close()
	return fmt.Sprintf("%d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
}

// sumOver adds a metric over some workers (those that answer).
func sumOver(t *testing.T, ws []*drills.Proc, name string, labels ...string) float64 {
	var s float64
	for _, w := range ws {
		s += drills.Sum(drills.Scrape(w.Started(t, startTimeout)), name, labels...)
	}
	return s
}

// stored counts the events table's rows.
func stored(t *testing.T, db string) int {
	t.Helper()
	n, err := drills.Stored(db)
	if err != nil {
		t.Fatalf("count stored events: %v", err)
	}
	return n
}

// mustSetLink takes a host's link down or up.
func mustSetLink(t *testing.T, h *lab.Host, up bool) {
	t.Helper()
	if err := h.SetLink(up); err != nil {
		t.Fatalf("host %s: %v", h.Name, err)
	}
}

// logSummary counts a process's log lines holding each of msgs.
func logSummary(pr *drills.Proc, msgs ...string) string {
	log := pr.Log()
	var parts []string
	for _, m := range msgs {
		parts = append(parts, fmt.Sprintf("%d × %q", strings.Count(log, `"msg":"`+m), m))
	}
	return strings.Join(parts, ", ")
}
