//go:build drills

package drills_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/saleassist-pipeline/pipeline/drills"
)

// 10. An ingest started before its NATS cluster: the ingest is pointed at three nats-server ports
// where nothing listens yet (-stream-replicas 3) and must not exit. Under load it answers /healthz
// 200, /readyz and every webhook 503 with Retry-After; then the three nodes start and form their
// cluster while the ingest keeps trying (a forming cluster refuses R3 streams with "no suitable
// peers for placement" until its meta leader has heard from every node), and it accepts webhooks
// once it has made its streams. Everything answered 202 must reach the store.
func TestDrill10IngestBeforeCluster(t *testing.T) {
	p := newPipeline(t, "ingest-before-cluster")
	p.onLab() // each node a host of its own where the lab runs; loopback otherwise
	if p.lab != nil {
		p.nats = drills.PlanNATSOn(p.hostsFor("nats", 3))
	} else {
		p.nats = drills.PlanNATS(t, 3)
	}
	t0 := time.Now()
	p.startIngest("-stream-replicas", "3")
	t.Logf("ingest started with no NATS in %s", time.Since(t0).Round(time.Millisecond))
	base := p.urls[0]

	requireAnswer(t, http.MethodGet, base+"/healthz", http.StatusOK, "")
	requireAnswer(t, http.MethodGet, base+"/readyz", http.StatusServiceUnavailable, "is not reachable yet")
	// The body is not read before the ingest can store it: any body gets the 503.
	requireAnswer(t, http.MethodPost, base+"/webhooks/saleassist", http.StatusServiceUnavailable, "cannot store events yet")

	load := p.load(nil)
	before := load.Await(t, "503s while no NATS runs", 30*time.Second, func(s drills.Totals) bool { return s.Unavailable >= 100 })
	if before.Accepted > 0 || before.Other > 0 {
		t.Fatalf("with no NATS: %+v; want 503s only", before)
	}

	t1 := time.Now()
	drills.StartPlannedNATS(t, p.ps, bins.NATS, p.dir, p.nats)
	formed := time.Since(t1)
	p.js = drills.Connect(t, drills.URLs(p.nats))
	first := moreAccepted(t, load, 1, 60*time.Second)
	accepting := time.Since(t1)
	requireAnswer(t, http.MethodGet, base+"/readyz", http.StatusOK, "")
	p.startWorker("-stream-replicas", "3")
	moreAccepted(t, load, 600, 60*time.Second)
	r := p.finish(load)

	log := p.ingest.Log()
	waitLines := strings.Count(log, `"msg":"events stream not ready`)
	t.Logf("before NATS: %d requests answered 503 (%d events); the cluster answered %s after its nodes were started, the ingest accepted %s after, %d 503s in all, %d events accepted, %d stored",
		before.Unavailable, before.Sent, formed.Round(time.Millisecond), accepting.Round(time.Millisecond), load.Totals().Unavailable, r.Accepted, r.Stored)
	t.Logf("ingest log: %d lines in all, %d about the stream not being ready; first 202 when %d had been answered 503", strings.Count(log, "\n"), waitLines, first.Unavailable)
	if waitLines == 0 || waitLines > 4 {
		t.Errorf("the ingest logged %d lines about the stream not being ready: want one when it began and at most a summary per 30 s", waitLines)
	}
	if !strings.Contains(log, `"msg":"events stream ready: accepting webhooks"`) {
		t.Errorf("the ingest did not log that it accepts webhooks:\n%s", p.ingest.Tail(20))
	}
	if tot := load.Totals(); tot.Other > 0 || tot.ConnErrors > 0 {
		t.Errorf("answers other than 202 and 503 (%d), or no answer (%d): the ingest must serve throughout", tot.Other, tot.ConnErrors)
	}
}

// requireAnswer sends one request and requires its status, Retry-After with every 503, and a
// message holding want.
func requireAnswer(t *testing.T, method, url string, status int, want string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Webhook-Secret", drills.Secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var a struct{ Message string }
	_ = json.Unmarshal(raw, &a)
	if resp.StatusCode != status || !strings.Contains(a.Message, want) {
		t.Fatalf("%s %s: %d %s; want %d with a message holding %q", method, url, resp.StatusCode, raw, status, want)
	}
	if status == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") == "" {
		t.Fatalf("%s %s: 503 without Retry-After", method, url)
	}
	t.Logf("%s %s: %d %s", method, strings.TrimPrefix(url, "http://"), resp.StatusCode, strings.TrimSpace(string(raw)))
}
