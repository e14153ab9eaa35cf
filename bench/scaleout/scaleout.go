// Package scaleout measures how the workers scale out when each part runs as its own host: NATS,
// PostgreSQL and every worker in a network namespace of its own with its own CPU quota (the hosts
// lab, internal/lab), so that the machine's two cores are never the limit and each host's CPU is
// accounted for. It drains a pre-filled stream of distinct people with 1, 2, 4 and 8 worker hosts
// and reports events/s, each host's CPU per event and busy share of its quota, and which host is
// full first. See bench/README.md.
package scaleout

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/saleassist-pipeline/pipeline"
	"github.com/saleassist-pipeline/pipeline/bench/workerbench"
	"github.com/saleassist-pipeline/pipeline/drills"
	"github.com/saleassist-pipeline/pipeline/internal/lab"
	"github.com/saleassist-pipeline/pipeline/pkg/queue"
)

// Options say what to measure.
type Options struct {
	// Events is how many events each drain stores.
	Events int
	// Workers are the worker host counts to drain with, in order.
	Workers []int
	// Rounds is how many times each count is drained; medians are reported.
	Rounds int
	// WorkerCores, StoreCores and NATSCores are the hosts' CPU quotas.
	WorkerCores, StoreCores, NATSCores float64
	// Returning makes every person send two events: the stream holds Events/2 people, each once in
	// its first half and again in its second, so that half the events update a stored lead (and
	// its meeting) instead of creating one.
	Returning bool
	// HotKey adds a drain in which every event is about the same person, with HotWorkers workers.
	HotKey     bool
	HotWorkers int
	// PGSettings are extra PostgreSQL settings (name=value) for the store host.
	PGSettings []string
	// LabPrefix names the lab's namespaces, links and cgroups (default "sabnch"): two runs at
	// once need two prefixes, since a lab removes whatever carries its prefix when it starts.
	LabPrefix string
	// Subnet is the lab's own /24 (default 10.211.7.0/24); concurrent runs need their own.
	Subnet netip.Prefix
	// Profile, when set, gets the store's statement, WAL and size profile after each drain
	// (profile.go); the store host then also loads pg_stat_statements (ProfileSettings).
	Profile io.Writer
	// Baselines are other builds of the worker (BuildWorkerAt) to measure the store's cost per
	// event against: every round drains each worker count with this build's worker and then with
	// each baseline's, in turn, so that a change in the machine's load falls on both alike.
	Baselines []Build
	// Out gets the report, Progress one line per drain.
	Out, Progress io.Writer
}

// Build is a worker binary of another revision, which migrates its store to its own schema.
type Build struct {
	Name, Worker string
}

func (o *Options) defaults() {
	if o.Events <= 0 {
		o.Events = 20_000
	}
	if len(o.Workers) == 0 {
		o.Workers = []int{1, 2, 4, 8}
	}
	if o.Rounds <= 0 {
		o.Rounds = 3
	}
	if o.WorkerCores <= 0 {
		o.WorkerCores = 0.1
	}
	if o.StoreCores <= 0 {
		o.StoreCores = 0.8
	}
	if o.NATSCores <= 0 {
		o.NATSCores = 0.3
	}
	if o.HotWorkers <= 0 {
		o.HotWorkers = 4
	}
	if o.LabPrefix == "" {
		o.LabPrefix = "sabnch"
	}
	if !o.Subnet.IsValid() {
		o.Subnet = defaultSubnet
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
}

// Budget is the sum of every host's quota at the largest worker count: it must stay below the
// machine's cores, so that the box itself is never the limit.
func (o Options) Budget() float64 {
	o.defaults()
	return o.StoreCores + o.NATSCores + float64(slices.Max(o.Workers))*o.WorkerCores
}

// HostUse is one host's CPU over a drain's measured window.
type HostUse struct {
	Name  string
	Cores float64
	// CPU is what the host used in the window; PerEvent that divided by the events stored in it.
	CPU      time.Duration
	PerEvent time.Duration
	// Busy is CPU as a share of the quota over the window (1 = the host used all of it).
	Busy float64
	// Throttled is how many CFS periods the host was held back in the window.
	Throttled int64
}

// Drain is one measured drain.
type Drain struct {
	Workers int
	Hot     bool
	Events  int
	// Window is the time from 10% to 90% of the events stored, and Rate the events stored per
	// second in it: start-up and the tail are left out.
	Window time.Duration
	Rate   float64
	Hosts  []HostUse
	// WALBytes is the WAL the store wrote per stored event over the whole drain.
	WALBytes float64
}

// Host returns the use of the host named name (nil if none).
func (d *Drain) Host(name string) *HostUse {
	for i := range d.Hosts {
		if d.Hosts[i].Name == name {
			return &d.Hosts[i]
		}
	}
	return nil
}

// Fullest is the host with the highest busy share.
func (d *Drain) Fullest() HostUse {
	best := d.Hosts[0]
	for _, h := range d.Hosts[1:] {
		if h.Busy > best.Busy {
			best = h
		}
	}
	return best
}

// WorkerPerEvent is the mean CPU per event of the worker hosts.
func (d *Drain) WorkerPerEvent() time.Duration {
	var sum time.Duration
	n := 0
	for _, h := range d.Hosts {
		if len(h.Name) > 6 && h.Name[:6] == "worker" {
			sum += h.CPU
			n++
		}
	}
	if n == 0 || d.Rate == 0 {
		return 0
	}
	return time.Duration(float64(sum) / (d.Rate * d.Window.Seconds()))
}

// Report is every drain, by worker count.
type Report struct {
	Options Options
	Drains  map[int][]Drain // by worker count, one per round
	Hot     *Drain
	// Baselines are the drains of each baseline build (Options.Baselines), by name and count.
	Baselines map[string]map[int][]Drain
}

// Median is the drain with the median rate among the rounds with n workers.
func (r *Report) Median(n int) *Drain {
	ds := slices.Clone(r.Drains[n])
	if len(ds) == 0 {
		return nil
	}
	slices.SortFunc(ds, func(a, b Drain) int {
		switch {
		case a.Rate < b.Rate:
			return -1
		case a.Rate > b.Rate:
			return 1
		}
		return 0
	})
	return &ds[len(ds)/2]
}

// defaultSubnet is the lab's own: a private /24 no other part of this project uses.
var defaultSubnet = netip.MustParsePrefix("10.211.7.0/24")

// Run builds the programs and measures every drain. It needs the hosts lab (lab.Available).
func Run(ctx context.Context, o Options) (*Report, error) {
	o.defaults()
	if err := lab.Available(); err != nil {
		return nil, err
	}
	bins, err := drills.Build(ctx)
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(bins.Dir)
	root, err := workerbench.FindModuleRoot()
	if err != nil {
		return nil, err
	}
	fixture, err := os.ReadFile(filepath.Join(root, workerbench.FixturePath))
	if err != nil {
		return nil, err
	}
	tpl, err := workerbench.NewTemplate(fixture, workerbench.SizeFixture)
	if err != nil {
		return nil, err
	}
	rep := &Report{Options: o, Drains: map[int][]Drain{}, Baselines: map[string]map[int][]Drain{}}
	builds := append([]Build{{Name: "this build", Worker: bins.Worker}}, o.Baselines...)
	for round := 1; round <= o.Rounds; round++ {
		for _, n := range o.Workers {
			for i, b := range builds {
				d, err := drain(ctx, o, bins, b.Worker, tpl, n, false, o.Events)
				if err != nil {
					return rep, fmt.Errorf("drain with %d workers (%s): %w", n, b.Name, err)
				}
				if i == 0 {
					rep.Drains[n] = append(rep.Drains[n], d)
				} else {
					if rep.Baselines[b.Name] == nil {
						rep.Baselines[b.Name] = map[int][]Drain{}
					}
					rep.Baselines[b.Name][n] = append(rep.Baselines[b.Name][n], d)
				}
				f := d.Fullest()
				fmt.Fprintf(o.Progress, "scaleout: round %d/%d, %d worker(s), %s: %.0f events/s; fullest host %s at %.0f%% of its %.2g core; store %s and %.0f B of WAL per event\n",
					round, o.Rounds, n, b.Name, d.Rate, f.Name, 100*f.Busy, f.Cores, us(d.Host("store").PerEvent), d.WALBytes)
			}
		}
	}
	if o.HotKey {
		d, err := drain(ctx, o, bins, bins.Worker, tpl, o.HotWorkers, true, min(o.Events, 5000))
		if err != nil {
			return rep, fmt.Errorf("hot-key drain: %w", err)
		}
		rep.Hot = &d
		fmt.Fprintf(o.Progress, "scaleout: one person, %d workers: %.0f events/s\n", o.HotWorkers, d.Rate)
	}
	return rep, nil
}

var runSeq atomic.Int64

// drain makes a lab with NATS, PostgreSQL and n worker hosts, pre-fills the stream with events
// (each about a person of its own, or all about one person when hot), starts the workers and
// measures until every event is stored, with the worker binary workerBin.
func drain(ctx context.Context, o Options, bins *drills.Bins, workerBin string, tpl *workerbench.Template, n int, hot bool, events int) (d Drain, err error) {
	l, err := lab.New(o.LabPrefix, o.Subnet)
	if err != nil {
		return d, err
	}
	defer func() { err = errors.Join(err, l.Close()) }()
	natsHost, err := l.AddHost("nats", o.NATSCores)
	if err != nil {
		return d, err
	}
	pgHost, err := l.AddHost("store", o.StoreCores)
	if err != nil {
		return d, err
	}
	var workerHosts []*lab.Host
	for i := range n {
		h, err := l.AddHost("worker"+strconv.Itoa(i+1), o.WorkerCores)
		if err != nil {
			return d, err
		}
		workerHosts = append(workerHosts, h)
	}
	dir, err := os.MkdirTemp("", "saleassist-scaleout-")
	if err != nil {
		return d, err
	}
	defer os.RemoveAll(dir)

	np, natsURL, err := startNATS(ctx, natsHost, bins.NATS, dir)
	if err != nil {
		return d, err
	}
	defer np.stop(10 * time.Second)
	settings := o.PGSettings
	if o.Profile != nil {
		settings = append(slices.Clone(ProfileSettings), settings...)
	}
	pg, err := startPostgres(ctx, pgHost, o.Subnet.String(), settings)
	if err != nil {
		return d, err
	}
	defer pg.close()

	nc, err := connectNATS(ctx, natsURL, np)
	if err != nil {
		return d, err
	}
	defer nc.Close()
	people := events
	switch {
	case hot:
		people = 1
	case o.Returning:
		people = max(1, events/2)
	}
	if err := prefill(ctx, nc, tpl, events, people); err != nil {
		return d, err
	}
	conn, err := pgx.Connect(ctx, pg.url)
	if err != nil {
		return d, err
	}
	defer conn.Close(context.Background())

	var workers []*proc
	defer func() {
		for _, w := range workers {
			w.stop(10 * time.Second)
			if os.Getenv("SCALEOUT_WORKER_LOGS") != "" {
				fmt.Fprintf(o.Progress, "---- %s, the end of its log:\n%s\n", w.name, lastLines(w.log.String(), 15))
			}
		}
	}()
	// The events done are counted by the shared consumer (acked after commit), not by the store:
	// a count(*) of events every 100 ms is a scan of the table whose cost grows with the rows'
	// width, and it would be charged to the store's CPU per event it measures.
	js, err := jetstream.New(nc)
	if err != nil {
		return d, err
	}
	// Sampled from just before the workers start: the window is found in these afterwards.
	hosts := l.Hosts()
	var samples []sample
	take := func() error {
		s := sample{at: time.Now(), cpu: make([]time.Duration, len(hosts)), throttled: make([]int64, len(hosts))}
		if s.stored, err = done(ctx, js, events); err != nil {
			return err
		}
		for i, h := range hosts {
			if s.cpu[i], err = h.CPU(); err != nil {
				return err
			}
			if s.throttled[i], _, err = h.Throttled(); err != nil {
				return err
			}
		}
		samples = append(samples, s)
		return nil
	}
	var walStart string
	_ = conn.QueryRow(ctx, "SELECT pg_current_wal_lsn()::text").Scan(&walStart)
	if err := take(); err != nil {
		return d, err
	}
	for i, h := range workerHosts {
		args := []string{"-nats-url", natsURL, "-db", pg.url, "-addr", h.Addr.String() + ":9091"}
		if os.Getenv("SCALEOUT_WORKER_PPROF") != "" {
			args = append(args, "-pprof-addr", h.Addr.String()+":6060")
		}
		w, err := start(h, h.Name, h.Command(workerBin, args...), append([]string{"PATH=" + os.Getenv("PATH")}, workerEnv()...))
		if err != nil {
			return d, err
		}
		_ = i
		workers = append(workers, w)
	}
	deadline := time.Now().Add(10 * time.Minute)
	for samples[len(samples)-1].stored < int64(events) {
		select {
		case <-ctx.Done():
			return d, ctx.Err()
		case <-time.After(100 * time.Millisecond): // the sampling interval
		}
		if err := take(); err != nil {
			return d, err
		}
		for _, w := range workers {
			if err := w.exited(); err != nil {
				return d, err
			}
		}
		if time.Now().After(deadline) {
			return d, fmt.Errorf("%d of %d events stored after 10 minutes", samples[len(samples)-1].stored, events)
		}
	}
	// Acked means committed: the store must hold every event now.
	var stored int64
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM events").Scan(&stored); err != nil {
		return d, fmt.Errorf("count stored events: %w", err)
	}
	if stored != int64(events) {
		return d, fmt.Errorf("the consumer has every event acked, but the store holds %d of %d", stored, events)
	}
	var walBytes float64
	_ = conn.QueryRow(ctx, "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn)::float8", walStart).Scan(&walBytes)

	if o.Profile != nil {
		profile(ctx, o.Profile, conn, pg, walStart, n)
	}
	d = measure(samples, hosts, events)
	d.Workers, d.Hot, d.WALBytes = n, hot, walBytes/float64(events)
	return d, nil
}

// sample is the store's count and every host's CPU at one moment.
type sample struct {
	at        time.Time
	stored    int64
	cpu       []time.Duration
	throttled []int64
}

// measure finds the window from 10% to 90% of events stored and each host's use in it.
func measure(samples []sample, hosts []*lab.Host, events int) Drain {
	lo, hi := 0, len(samples)-1
	for i, s := range samples {
		if s.stored >= int64(events)/10 {
			lo = i
			break
		}
	}
	for i, s := range samples {
		if s.stored >= int64(events)*9/10 {
			hi = i
			break
		}
	}
	if hi <= lo {
		lo, hi = 0, len(samples)-1
	}
	a, b := samples[lo], samples[hi]
	window := b.at.Sub(a.at)
	stored := b.stored - a.stored
	d := Drain{Events: events, Window: window}
	if window > 0 {
		d.Rate = float64(stored) / window.Seconds()
	}
	for i, h := range hosts {
		cpu := b.cpu[i] - a.cpu[i]
		u := HostUse{Name: h.Name, Cores: h.Cores, CPU: cpu, Throttled: b.throttled[i] - a.throttled[i]}
		if stored > 0 {
			u.PerEvent = cpu / time.Duration(stored)
		}
		if window > 0 && h.Cores > 0 {
			u.Busy = cpu.Seconds() / (h.Cores * window.Seconds())
		}
		d.Hosts = append(d.Hosts, u)
	}
	return d
}

// connectNATS connects to the NATS host once its server answers.
func connectNATS(ctx context.Context, url string, p *proc) (*nats.Conn, error) {
	deadline := time.Now().Add(30 * time.Second)
	for {
		nc, err := nats.Connect(url, nats.Timeout(time.Second))
		if err == nil {
			return nc, nil
		}
		if perr := p.exited(); perr != nil {
			return nil, perr
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("NATS at %s did not answer within 30s: %w", url, err)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond): // polling a server that is starting up
		}
	}
}

// prefill publishes events into the events stream about people people (email, phone, meeting and
// visitor number): event i is about person i mod people, so with fewer people than events the
// later events are about people met before.
func prefill(ctx context.Context, nc *nats.Conn, tpl *workerbench.Template, events, people int) error {
	run := strconv.FormatInt(runSeq.Add(1), 10)
	now := time.Now().UTC()
	_, err := workerbench.Publish(ctx, nc, queue.DefaultConfig(), events, func(i int) *pipeline.Event {
		person := i % people
		id := "scaleout-" + run + "-" + strconv.Itoa(i)
		p := strconv.Itoa(person)
		body := tpl.Body(id, "person-"+run+"-"+p+"@example.com", fmt.Sprintf("+9198%08d", person),
			"scaleout-meeting-"+run+"-"+p, fmt.Sprintf("+9197%08d", person))
		return &pipeline.Event{ID: id, Type: pipeline.WidgetNewConversation, ReceivedAt: now, Body: body}
	})
	return err
}

// done is how many of the drain's events the workers have acked (each after its commit): the
// events not still pending or awaiting an ack on the shared consumer; 0 until a worker made it.
func done(ctx context.Context, js jetstream.JetStream, events int) (int64, error) {
	cfg := queue.DefaultConfig()
	c, err := js.Consumer(ctx, cfg.Stream, cfg.Consumer)
	if errors.Is(err, jetstream.ErrConsumerNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("find the workers' consumer: %w", err)
	}
	info, err := c.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("consumer info: %w", err)
	}
	return int64(events) - int64(info.NumPending) - int64(info.NumAckPending), nil
}

// lastLines is the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// workerEnv is SCALEOUT_WORKER_ENV (name=value,…): extra environment for the worker hosts, for
// an investigation such as GOMAXPROCS=1 or GODEBUG settings.
func workerEnv() []string {
	v := os.Getenv("SCALEOUT_WORKER_ENV")
	if v == "" {
		return nil
	}
	return strings.Split(v, ",")
}
