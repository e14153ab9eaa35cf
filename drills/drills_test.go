//go:build drills

package drills_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/saleassist-pipeline/pipeline/drills"
	"github.com/saleassist-pipeline/pipeline/internal/lab"
)

// bins are the binaries every drill runs, built once by TestMain.
var bins *drills.Bins

// runLimit bounds the whole run, the build included (go test's -timeout only starts with the
// tests). Exiting kills every child process too: they die with the thread that started them.
const runLimit = 14 * time.Minute

func TestMain(m *testing.M) {
	start := time.Now()
	time.AfterFunc(runLimit, func() {
		fmt.Fprintf(os.Stderr, "drills: still running after %s: giving up\n", runLimit)
		removeLab() // no test cleanup runs after os.Exit
		os.Exit(2)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	b, err := drills.Build(ctx)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "drills:", err)
		os.Exit(1)
	}
	bins = b
	fmt.Printf("drills: built cmd/ingest, cmd/worker and nats-server in %s\n", time.Since(start).Round(100*time.Millisecond))
	code := m.Run()
	_ = os.RemoveAll(b.Dir)
	fmt.Printf("drills: done in %s\n", time.Since(start).Round(100*time.Millisecond))
	os.Exit(code)
}

// removeLab removes the drills' hosts lab (namespaces, links, cgroups and their processes) when a
// drill could not: the run gave up in the middle of one.
func removeLab() {
	if lab.Available() == nil {
		if err := lab.Cleanup(drills.LabPrefix); err != nil {
			fmt.Fprintln(os.Stderr, "drills: remove the hosts lab:", err)
		}
	}
}

// envInt reads a positive integer knob, or def.
func envInt(key string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(key)); err == nil && v > 0 {
		return v
	}
	return def
}

// Load shape: DRILL_CLIENTS concurrent clients (16) at DRILL_RATE requests per second in all
// (400), at most DRILL_MAX_EVENTS distinct events per drill (30000).
var (
	clients   = envInt("DRILL_CLIENTS", 16)
	rate      = envInt("DRILL_RATE", 400)
	maxEvents = envInt("DRILL_MAX_EVENTS", 30000)
)

const (
	streamMaxBytes = "67108864" // 64 MiB of backlog: plenty, and fits any CI disk
	ackWait        = "3s"       // what a killed or stopped worker held comes back within seconds
	settleTimeout  = 90 * time.Second
	startTimeout   = 30 * time.Second
)

// pipeline is one drill's running system and its view of it.
type pipeline struct {
	t       *testing.T
	name    string
	dir     string
	ps      *drills.Procs
	nats    []*drills.NATSNode
	ingest  *drills.Proc // the ingest started last
	urls    []string     // every ingest's base URL; the load spreads over them
	workers []*drills.Proc
	db      string // a SQLite path, or a PostgreSQL URL when pg runs
	pg      *drills.Postgres
	js      jetstream.JetStream
	gen     *drills.Generator
	lab     *lab.Lab // the hosts every process runs on, one each (labhosts_test.go); nil: loopback
}

func newPipeline(t *testing.T, name string) *pipeline {
	dir := t.TempDir()
	gen, err := drills.NewGenerator(name)
	if err != nil {
		t.Fatal(err)
	}
	return &pipeline{t: t, name: name, dir: dir, ps: drills.NewProcs(t, dir), db: filepath.Join(dir, "leads.db"), gen: gen}
}

// startNATS starts n nats-server processes (a cluster when n > 1).
func (p *pipeline) startNATS(n int) {
	if p.lab != nil {
		p.nats = drills.PlanNATSOn(p.hostsFor("nats", n))
		drills.StartPlannedNATS(p.t, p.ps, bins.NATS, p.dir, p.nats)
	} else {
		p.nats = drills.StartNATS(p.t, p.ps, bins.NATS, p.dir, n)
	}
	p.js = drills.Connect(p.t, drills.URLs(p.nats))
}

// startIngest starts one more cmd/ingest against the NATS processes, on a fixed port (it may be
// restarted), with extra flags.
func (p *pipeline) startIngest(extra ...string) {
	name := "ingest"
	if n := len(p.urls); n > 0 {
		name = fmt.Sprintf("ingest%d", n+1)
	}
	h, addr := p.place(name, drills.IngestPort, fmt.Sprintf("127.0.0.1:%d", drills.FreePort(p.t)))
	args := append([]string{"-addr", addr, "-nats-url", drills.URLs(p.nats), "-data-dir", filepath.Join(p.dir, name),
		"-stream-max-bytes", streamMaxBytes}, extra...)
	p.ingest = p.ps.StartOn(h, name, nil, bins.Ingest, drills.IngestEnv(), args...)
	p.ingest.Started(p.t, startTimeout)
	p.urls = append(p.urls, "http://"+addr)
}

// startWorker starts one more cmd/worker process: on the SQLite file (-db), or with
// DATABASE_URL naming the drill's PostgreSQL, as an operator scaling out sets it.
func (p *pipeline) startWorker(extra ...string) *drills.Proc {
	name := fmt.Sprintf("worker%d", len(p.workers)+1)
	h, addr := p.place(name, drills.WorkerPort, "127.0.0.1:0")
	args := []string{"-nats-url", drills.URLs(p.nats), "-addr", addr, "-ack-wait", ackWait}
	var env []string
	if p.pg != nil {
		env = []string{"DATABASE_URL=" + p.db}
	} else {
		args = append(args, "-db", p.db)
	}
	w := p.ps.StartOn(h, name, nil, bins.Worker, env, append(args, extra...)...)
	w.Started(p.t, startTimeout)
	p.workers = append(p.workers, w)
	return w
}

// load starts the drill's client load on the ingest.
func (p *pipeline) load(change func(*drills.LoadOptions)) *drills.Load {
	o := drills.LoadOptions{URLs: p.urls, Clients: clients, Rate: rate, Max: maxEvents, Attempts: 3}
	if change != nil {
		change(&o)
	}
	return drills.StartLoad(p.gen, o)
}

// finish stops the load, waits for the pipeline to settle, checks the store and prints the line.
func (p *pipeline) finish(load *drills.Load) drills.Result {
	load.Stop()
	drills.AwaitSettled(p.t, p.js, p.db, load, settleTimeout)
	if n := drills.DeadLetters(context.Background(), p.js); n > 0 {
		p.t.Errorf("%d events were dead-lettered", n)
	}
	r := drills.Check(p.t, p.name, p.db, load, p.gen)
	drills.Report(p.t, r)
	return r
}

// moreAccepted waits until n more events than now were answered 202.
func moreAccepted(t *testing.T, load *drills.Load, n int, timeout time.Duration) drills.Totals {
	t.Helper()
	base := load.Totals().Accepted
	return load.Await(t, fmt.Sprintf("%d more 202s", n), timeout, func(s drills.Totals) bool { return s.Accepted >= base+n })
}
