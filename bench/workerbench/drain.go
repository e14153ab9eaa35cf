package workerbench

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime/pprof"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	_ "github.com/mattn/go-sqlite3" // database/sql driver "sqlite3", to count rows
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/saleassist-pipeline/pipeline"
	naive "github.com/saleassist-pipeline/pipeline/bench/naive/worker"
	"github.com/saleassist-pipeline/pipeline/pkg/app/workerapp"
	"github.com/saleassist-pipeline/pipeline/pkg/queue"
	"github.com/saleassist-pipeline/pipeline/pkg/queue/embedded"
)

// Kind names the worker a drain runs.
type Kind string

// The workers compared.
const (
	Real  Kind = "real"  // workerapp.Program, exactly what cmd/worker runs
	Naive Kind = "naive" // bench/naive/worker: one transaction per event
)

// PollInterval is how often a drain checks whether the consumer is empty.
const PollInterval = 50 * time.Millisecond

// DrainSpec is one measurement: pre-fill Events events of Template's shape, then time Workers
// workers of Kind from start until every event is stored and acknowledged.
type DrainSpec struct {
	Kind     Kind
	Events   int
	Workers  int // real only; 0 means 1
	Template *Template
	// SharedPhone gives every event the fixture's mobile number instead of a distinct one (many
	// leads with one phone: see README.md).
	SharedPhone bool
	// Profile, when set, is the file the CPU profile of the drain is written to.
	Profile string
	// Synchronous, when set, is the real workers' SQLITE_SYNCHRONOUS.
	Synchronous string
	// SkipFields turns the in-process real workers' kept schema off (worker.Options.SkipFields),
	// to measure what keeping it costs.
	SkipFields bool
	// Postgres, when set, is a PostgreSQL server URL: the real workers store into a fresh
	// database created on it for this drain (and dropped after) instead of a SQLite file.
	// Postmaster is its postmaster's pid when it runs on this machine (Postmaster), for its CPU.
	Postgres   string
	Postmaster int
	// WorkerBin, when set, is a cmd/worker binary: the real workers run as processes of it, each
	// with GOMAXPROCS=MaxProcs (0: unlimited), instead of in this process.
	WorkerBin string
	MaxProcs  int
	// PerPerson, above 1, gives this many consecutive events the same person (email and mobile
	// number): Events/PerPerson leads, each merged PerPerson-1 times.
	PerPerson int
	// MeetingPerPerson gives each person their own meeting (its id, and its visitor's number in
	// payload.unique_field_value, which becomes the lead's AltPhone) instead of the fixture's.
	// With the fixture's, every event updates the same meetings row and names the same
	// alternative phone, and writers on PostgreSQL take turns at those keys' advisory locks: a
	// shared key that no number of workers can spread. A real meeting's visitor is its lead.
	MeetingPerPerson bool
}

// DrainResult is what one drain measured.
type DrainResult struct {
	Kind      Kind
	Events    int
	Workers   int
	BodyBytes int
	Prefill   time.Duration // not part of the measurement
	Drain     time.Duration // worker start → consumer empty and every event in the database
	// CPU is the CPU time (user + system) the whole benchmark process (workers and the embedded
	// NATS server) used during Drain: unlike Drain, it hardly depends on what else the machine runs.
	CPU    time.Duration
	Stored int // rows in events after the drain
	Leads  int // rows in leads after the drain
	// Processes drains (WorkerBin): WorkerCPU is the worker processes' CPU time during Drain
	// (from /proc, start-up included); ServerCPU, for PostgreSQL drains, that of every local
	// PostgreSQL server process (Postmaster and its children). CPU is then their sum (the embedded NATS server not counted).
	WorkerCPU, ServerCPU time.Duration
	// Worker metrics summed over the real workers (zero for the naive one): batches handled,
	// events in them, and seconds spent handling batches and in the store's Apply.
	Batches, BatchedEvents     float64
	BatchSeconds, StoreSeconds float64
	// Waits is the machine's busy cores over the drain and, on PostgreSQL, what the server's
	// backends were waiting on.
	Waits Waits
}

// MeanBatch is the mean number of events per batch (transaction) of the real worker.
func (r DrainResult) MeanBatch() float64 {
	if r.Batches == 0 {
		return 0
	}
	return r.BatchedEvents / r.Batches
}

// PerSec is events drained per second.
func (r DrainResult) PerSec() float64 { return float64(r.Events) / r.Drain.Seconds() }

// MicrosPerEvent is the drain time per event.
func (r DrainResult) MicrosPerEvent() float64 {
	return float64(r.Drain.Microseconds()) / float64(r.Events)
}

// CPUMicrosPerEvent is the CPU time per event during the drain: the benchmark process's, or for
// processes drains the workers' and the PostgreSQL server's.
func (r DrainResult) CPUMicrosPerEvent() float64 {
	return float64(r.CPU.Microseconds()) / float64(r.Events)
}

// Leads a drain must leave: one per person.
func (s DrainSpec) wantLeads() int {
	if s.PerPerson > 1 {
		return (s.Events + s.PerPerson - 1) / s.PerPerson
	}
	return s.Events
}

// MBPerSec is payload megabytes (10^6) drained per second.
func (r DrainResult) MBPerSec() float64 {
	return float64(r.Events) * float64(r.BodyBytes) / 1e6 / r.Drain.Seconds()
}

var runSeq atomic.Int64

// Drain runs one measurement on a fresh embedded JetStream (file storage, loopback TCP, in a new
// temporary directory) and a fresh SQLite file or PostgreSQL database, and checks afterwards that
// the database holds exactly the events and leads published. Any shortfall is an error.
func Drain(ctx context.Context, spec DrainSpec) (res DrainResult, err error) {
	res = DrainResult{Kind: spec.Kind, Events: spec.Events, Workers: max(spec.Workers, 1), BodyBytes: spec.Template.Size()}
	if spec.Kind == Naive && (res.Workers != 1 || spec.Postgres != "" || spec.WorkerBin != "") {
		return res, errors.New("the naive worker runs as one instance, in process, on SQLite")
	}
	dir, err := os.MkdirTemp("", "workerbench-*")
	if err != nil {
		return res, err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	srv, err := embedded.Start(embedded.Options{
		DataDir: dir, Listen: "127.0.0.1:0", Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		return res, err
	}
	defer srv.Shutdown()
	if !srv.Listening() {
		return res, errors.New("embedded NATS is not listening on loopback")
	}
	nc, err := srv.Connect()
	if err != nil {
		return res, err
	}
	defer nc.Close()
	cfg := queue.DefaultConfig()
	// The stream must hold the whole pre-fill (20,000 × 64 KB exceeds the default 1 GiB).
	cfg.MaxBytes = max(cfg.MaxBytes, int64(spec.Events)*int64(res.BodyBytes+512)*2)

	t0 := time.Now()
	if err := prefill(ctx, nc, cfg, spec); err != nil {
		return res, err
	}
	res.Prefill = time.Since(t0)

	dbPath := filepath.Join(dir, "leads.db")
	db := dbPath
	var counter rowCounter = &sqliteCounter{path: dbPath}
	if spec.Postgres != "" {
		var u string
		var drop func() error
		// Not := : the deferred drop below must set Drain's own err.
		if u, drop, err = freshDatabase(ctx, spec.Postgres); err != nil {
			return res, err
		}
		defer func() {
			if derr := drop(); derr != nil && err == nil {
				err = derr
			}
		}()
		db = u
		counter = &pgCounter{url: u}
	}
	// Closed before the database is dropped (defers run last-in first-out).
	defer func() { counter.close() }()
	var logs tailBuffer
	stop, failed, err := func() (func() error, func() error, error) {
		if spec.Profile != "" {
			if err := os.MkdirAll(filepath.Dir(spec.Profile), 0o755); err != nil {
				return nil, nil, err
			}
			f, err := os.Create(spec.Profile)
			if err != nil {
				return nil, nil, err
			}
			defer func() { _ = f.Close() }()
			if err := pprof.StartCPUProfile(f); err != nil {
				return nil, nil, err
			}
			defer pprof.StopCPUProfile()
		}
		t0 = time.Now()
		cpu0 := processCPU()
		var server0 time.Duration
		if spec.Postgres != "" {
			server0 = serverCPU(spec.Postmaster)
		}
		waits := startWaits(ctx, spec.Postgres)
		stop, failed, metricsURLs, procCPU, err := startWorkers(ctx, spec, res.Workers, srv.ClientURL(), db, cfg, &logs)
		if err != nil {
			waits.stop()
			return stop, failed, err
		}
		err = waitDrained(ctx, nc, cfg, counter, spec.Events, failed)
		res.Waits = waits.stop()
		if err != nil {
			return stop, failed, err
		}
		res.Drain = time.Since(t0)
		res.CPU = processCPU() - cpu0
		if spec.Postgres != "" {
			res.ServerCPU = serverCPU(spec.Postmaster) - server0
		}
		if procCPU != nil {
			// Read before the processes stop: their /proc entries go with them. Worker
			// processes began after t0, so all of their CPU time is the drain's.
			res.WorkerCPU = procCPU()
			res.CPU = res.WorkerCPU + res.ServerCPU
		}
		if spec.Kind == Real {
			res.addMetrics(metricsURLs)
		}
		return stop, failed, nil
	}()
	if stop != nil {
		err = errors.Join(err, stop())
	}
	if err == nil && failed != nil {
		err = failed()
	}
	if err != nil {
		return res, fmt.Errorf("%s drain of %d events: %w\nworker log tail:\n%s", spec.Kind, spec.Events, err, logs.String())
	}
	if res.Stored, err = counter.count(ctx, "events"); err != nil {
		return res, err
	}
	if res.Leads, err = counter.count(ctx, "leads"); err != nil {
		return res, err
	}
	if res.Stored != spec.Events || res.Leads != spec.wantLeads() {
		return res, fmt.Errorf("%s drain: database holds %d events and %d leads, want %d and %d", spec.Kind, res.Stored, res.Leads, spec.Events, spec.wantLeads())
	}
	if spec.Kind == Real {
		if n, err := streamMsgs(ctx, nc, cfg.DeadLetterStream); err != nil || n != 0 {
			return res, fmt.Errorf("real drain: %d dead letters (%v), want none", n, err)
		}
	}
	return res, nil
}

// processCPU is the CPU time (user + system) this process has used so far; 0 if unknown.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// prefill publishes spec.Events events (Publish) and checks that the stream holds all of them.
func prefill(ctx context.Context, nc *nats.Conn, cfg queue.Config, spec DrainSpec) error {
	run := strconv.FormatInt(runSeq.Add(1), 10)
	now := time.Now().UTC()
	stream, err := Publish(ctx, nc, cfg, spec.Events, func(i int) *pipeline.Event {
		id := eventID(run, i)
		person := i
		if spec.PerPerson > 1 {
			person = i / spec.PerPerson
		}
		ph := SharedPhone
		if !spec.SharedPhone {
			ph = phone(person)
		}
		meeting, alt := "", ""
		if spec.MeetingPerPerson {
			meeting, alt = meetingID(run, person), altPhone(person)
		}
		return &pipeline.Event{ID: id, Type: pipeline.WidgetNewConversation, ReceivedAt: now, Body: spec.Template.Body(id, email(run, person), ph, meeting, alt)}
	})
	if err != nil {
		return err
	}
	info, err := stream.Info(ctx)
	if err != nil {
		return err
	}
	if info.State.Msgs != uint64(spec.Events) {
		return fmt.Errorf("pre-fill: stream holds %d messages, want %d", info.State.Msgs, spec.Events)
	}
	return nil
}

// Publish publishes n events, eventAt(i) for each i, into cfg's events stream (made if missing)
// with async publishing (up to 4096 in flight), and returns once JetStream has acknowledged every
// one: the pre-filled backlog of a drain (here and in bench/scaleout).
func Publish(ctx context.Context, nc *nats.Conn, cfg queue.Config, n int, eventAt func(i int) *pipeline.Event) (jetstream.Stream, error) {
	var pubErrs atomic.Int64
	js, err := jetstream.New(nc,
		jetstream.WithPublishAsyncMaxPending(4096),
		jetstream.WithPublishAsyncErrHandler(func(jetstream.JetStream, *nats.Msg, error) { pubErrs.Add(1) }),
	)
	if err != nil {
		return nil, err
	}
	stream, err := queue.EnsureStream(ctx, js, cfg)
	if err != nil {
		return nil, err
	}
	for i := range n {
		msg := cfg.NewMsg(eventAt(i))
		for attempt := 0; ; attempt++ {
			_, err := js.PublishMsgAsync(msg)
			if err == nil {
				break
			}
			// On a busy machine the server may fall 4,096 acknowledgements behind: let it catch
			// up, then publish the same event again.
			if !errors.Is(err, jetstream.ErrTooManyStalledMsgs) || attempt >= 100 {
				return nil, fmt.Errorf("publish event %d: %w", i, err)
			}
			select {
			case <-js.PublishAsyncComplete():
			case <-time.After(time.Second):
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(2 * time.Minute):
		return nil, errors.New("pre-fill: publishes not acknowledged within 2 minutes")
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if n := pubErrs.Load(); n > 0 {
		return nil, fmt.Errorf("pre-fill: %d publishes failed", n)
	}
	return stream, nil
}

// startWorkers starts the workers and returns how to stop them and how to ask whether any of them
// failed on its own.
//
// With spec.WorkerBin the workers are processes, and cpu reads their CPU time so far.
func startWorkers(ctx context.Context, spec DrainSpec, n int, url, db string, cfg queue.Config, logs io.Writer) (stop, failed func() error, metrics []string, cpu func() time.Duration, err error) {
	if spec.Kind == Naive {
		wnc, err := nats.Connect(url, nats.Name("naive-worker"))
		if err != nil {
			return nil, nil, nil, nil, err
		}
		w, err := naive.Start(ctx, wnc, db, cfg)
		if err != nil {
			wnc.Close()
			return nil, nil, nil, nil, err
		}
		stop = func() error { err := w.Close(); wnc.Close(); return err }
		return stop, w.Err, nil, nil, nil
	}
	if spec.WorkerBin != "" {
		procs, metrics, err := startProcs(ctx, spec.WorkerBin, n, spec.MaxProcs, url, db, logs)
		stop = func() error { return stopProcs(procs) }
		failed = func() error { return procsFailed(procs) }
		return stop, failed, metrics, func() time.Duration { return procsCPU(procs) }, err
	}
	var workers []*workerapp.Program
	stop = func() error {
		var errs []error
		for _, w := range workers {
			errs = append(errs, w.Close())
		}
		return errors.Join(errs...)
	}
	failed = func() error {
		for _, w := range workers {
			select {
			case err := <-w.Failed():
				return err
			default:
			}
		}
		return nil
	}
	for range n {
		w := workerapp.New()
		w.Env = func(string) (string, bool) { return "", false }
		w.Stderr = logs
		args := []string{"-nats-url", url, "-db", db, "-addr", "127.0.0.1:0"}
		if spec.Synchronous != "" {
			args = append(args, "-sqlite-synchronous", spec.Synchronous)
		}
		if err := w.ParseFlags(args); err != nil {
			return stop, failed, metrics, nil, err
		}
		w.Config.SkipFields = spec.SkipFields
		if err := w.Run(ctx); err != nil {
			return stop, failed, metrics, nil, fmt.Errorf("start real worker: %w", err)
		}
		workers = append(workers, w)
		metrics = append(metrics, "http://"+w.Addr()+"/metrics")
	}
	return stop, failed, metrics, nil, nil
}

var sampleRE = regexp.MustCompile(`(?m)^(saleassist_worker_(?:batch_size|batch_duration_seconds|store_duration_seconds)_(?:sum|count)) (\S+)$`)

// addMetrics adds the batch metrics of the real workers' /metrics pages; a page that cannot be
// read leaves them out (they explain the result, they are not the result).
func (r *DrainResult) addMetrics(urls []string) {
	for _, u := range urls {
		resp, err := http.Get(u)
		if err != nil {
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		for _, m := range sampleRE.FindAllStringSubmatch(string(body), -1) {
			v, err := strconv.ParseFloat(m[2], 64)
			if err != nil {
				continue
			}
			switch m[1] {
			case "saleassist_worker_batch_size_count":
				r.Batches += v
			case "saleassist_worker_batch_size_sum":
				r.BatchedEvents += v
			case "saleassist_worker_batch_duration_seconds_sum":
				r.BatchSeconds += v
			case "saleassist_worker_store_duration_seconds_sum":
				r.StoreSeconds += v
			}
		}
	}
}

// waitDrained polls until the consumer has nothing pending or unacknowledged and the database
// holds want events. It gives up after a bound (1 minute plus 2 ms per event: slower than 500
// events/s counts as broken, and keeps a make bench bounded).
func waitDrained(ctx context.Context, nc *nats.Conn, cfg queue.Config, counter rowCounter, want int, failed func() error) error {
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(time.Minute + time.Duration(want)*2*time.Millisecond)
	tick := time.NewTicker(PollInterval)
	defer tick.Stop()
	last := "consumer not created yet"
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		if err := failed(); err != nil {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not drained in time: %s", last)
		}
		cons, err := js.Consumer(ctx, cfg.Stream, cfg.Consumer)
		if err != nil {
			continue
		}
		info, err := cons.Info(ctx)
		if err != nil {
			last = err.Error()
			continue
		}
		last = fmt.Sprintf("pending %d, ack pending %d", info.NumPending, info.NumAckPending)
		if info.NumPending != 0 || info.NumAckPending != 0 || info.Delivered.Stream < uint64(want) {
			continue
		}
		n, err := counter.count(ctx, "events")
		if err != nil {
			last = err.Error()
			continue
		}
		if n == want {
			return nil
		}
		if n > want {
			return fmt.Errorf("database holds %d events, more than the %d published", n, want)
		}
		last += fmt.Sprintf(", %d of %d events stored", n, want)
	}
}

func openReadOnly(path string) (*sql.DB, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, err
	}
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro&_busy_timeout=5000")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	return db, nil
}

// rowCounter counts a drain's stored events and leads; an error (no database or table yet)
// makes the poll try again.
type rowCounter interface {
	count(ctx context.Context, table string) (int, error) // table is "events" or "leads"
	close()
}

// sqliteCounter counts rows in a drain's SQLite file, opened read-only once it exists.
type sqliteCounter struct {
	path string
	db   *sql.DB
}

func (c *sqliteCounter) count(ctx context.Context, table string) (n int, err error) {
	if c.db == nil {
		if c.db, err = openReadOnly(c.path); err != nil {
			return 0, err
		}
	}
	if err := c.db.QueryRowContext(ctx, `SELECT count(*) FROM `+table).Scan(&n); err != nil {
		return 0, fmt.Errorf("count %s: %w", table, err)
	}
	return n, nil
}

func (c *sqliteCounter) close() {
	if c.db != nil {
		_ = c.db.Close()
	}
}

func streamMsgs(ctx context.Context, nc *nats.Conn, name string) (uint64, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return 0, err
	}
	s, err := js.Stream(ctx, name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	info, err := s.Info(ctx)
	if err != nil {
		return 0, err
	}
	return info.State.Msgs, nil
}

// tailBuffer keeps the last 16 KB written to it: the workers' logs, shown when a drain fails.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if len(b.buf) > 16<<10 {
		b.buf = append(b.buf[:0], b.buf[len(b.buf)-16<<10:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}
