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

	naive "github.com/saleassist-pipeline/pipeline/bench/naive/worker"
	"github.com/saleassist-pipeline/pipeline/pkg/app"
	"github.com/saleassist-pipeline/pipeline/pkg/event"
	"github.com/saleassist-pipeline/pipeline/pkg/queue"
)

// Kind names the worker a drain runs.
type Kind string

// The workers compared.
const (
	Real  Kind = "real"  // pkg/app.Worker, exactly what cmd/worker runs
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
	// Worker metrics summed over the real workers (zero for the naive one): batches handled,
	// events in them, and seconds spent handling batches and in the store's Apply.
	Batches, BatchedEvents     float64
	BatchSeconds, StoreSeconds float64
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

// CPUMicrosPerEvent is the process's CPU time per event during the drain.
func (r DrainResult) CPUMicrosPerEvent() float64 {
	return float64(r.CPU.Microseconds()) / float64(r.Events)
}

// MBPerSec is payload megabytes (10^6) drained per second.
func (r DrainResult) MBPerSec() float64 {
	return float64(r.Events) * float64(r.BodyBytes) / 1e6 / r.Drain.Seconds()
}

var runSeq atomic.Int64

// Drain runs one measurement on a fresh embedded JetStream (file storage, loopback TCP, in a new
// temporary directory) and a fresh SQLite file, and checks afterwards that the database holds
// exactly the events and leads published. Any shortfall is an error.
func Drain(ctx context.Context, spec DrainSpec) (DrainResult, error) {
	res := DrainResult{Kind: spec.Kind, Events: spec.Events, Workers: max(spec.Workers, 1), BodyBytes: spec.Template.Size()}
	if spec.Kind == Naive && res.Workers != 1 {
		return res, errors.New("the naive worker runs as one instance")
	}
	dir, err := os.MkdirTemp("", "workerbench-*")
	if err != nil {
		return res, err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	srv, err := queue.StartEmbedded(queue.EmbeddedOptions{
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
		stop, failed, metricsURLs, err := startWorkers(ctx, spec, res.Workers, srv.ClientURL(), dbPath, cfg, &logs)
		if err != nil {
			return stop, failed, err
		}
		if err := waitDrained(ctx, nc, cfg, dbPath, spec.Events, failed); err != nil {
			return stop, failed, err
		}
		res.Drain = time.Since(t0)
		res.CPU = processCPU() - cpu0
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
	res.Stored, res.Leads, err = countRows(dbPath)
	if err != nil {
		return res, err
	}
	if res.Stored != spec.Events || res.Leads != spec.Events {
		return res, fmt.Errorf("%s drain: database holds %d events and %d leads, want %d of each", spec.Kind, res.Stored, res.Leads, spec.Events)
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

// prefill publishes spec.Events events with async publishing (up to 4096 in flight) and waits
// until the stream holds all of them.
func prefill(ctx context.Context, nc *nats.Conn, cfg queue.Config, spec DrainSpec) error {
	var pubErrs atomic.Int64
	js, err := jetstream.New(nc,
		jetstream.WithPublishAsyncMaxPending(4096),
		jetstream.WithPublishAsyncErrHandler(func(jetstream.JetStream, *nats.Msg, error) { pubErrs.Add(1) }),
	)
	if err != nil {
		return err
	}
	stream, err := queue.EnsureStream(ctx, js, cfg)
	if err != nil {
		return err
	}
	run := strconv.FormatInt(runSeq.Add(1), 10)
	now := time.Now().UTC()
	for i := range spec.Events {
		id := eventID(run, i)
		ph := SharedPhone
		if !spec.SharedPhone {
			ph = phone(i)
		}
		ev := &event.Event{ID: id, Type: event.WidgetNewConversation, ReceivedAt: now, Body: spec.Template.Body(id, email(run, i), ph)}
		for attempt := 0; ; attempt++ {
			_, err := js.PublishMsgAsync(cfg.NewMsg(ev))
			if err == nil {
				break
			}
			// On a busy machine the server may fall 4,096 acknowledgements behind: let it catch
			// up, then publish the same event again.
			if !errors.Is(err, jetstream.ErrTooManyStalledMsgs) || attempt >= 100 {
				return fmt.Errorf("publish event %d: %w", i, err)
			}
			select {
			case <-js.PublishAsyncComplete():
			case <-time.After(time.Second):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(2 * time.Minute):
		return errors.New("pre-fill: publishes not acknowledged within 2 minutes")
	case <-ctx.Done():
		return ctx.Err()
	}
	if n := pubErrs.Load(); n > 0 {
		return fmt.Errorf("pre-fill: %d publishes failed", n)
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

// startWorkers starts the workers and returns how to stop them and how to ask whether any of them
// failed on its own.
func startWorkers(ctx context.Context, spec DrainSpec, n int, url, dbPath string, cfg queue.Config, logs io.Writer) (stop, failed func() error, metrics []string, err error) {
	if spec.Kind == Naive {
		wnc, err := nats.Connect(url, nats.Name("naive-worker"))
		if err != nil {
			return nil, nil, nil, err
		}
		w, err := naive.Start(ctx, wnc, dbPath, cfg)
		if err != nil {
			wnc.Close()
			return nil, nil, nil, err
		}
		stop = func() error { err := w.Close(); wnc.Close(); return err }
		return stop, w.Err, nil, nil
	}
	var workers []*app.Worker
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
		w := app.NewWorker()
		w.Env = func(string) (string, bool) { return "", false }
		w.Stderr = logs
		args := []string{"-nats-url", url, "-db", dbPath, "-addr", "127.0.0.1:0"}
		if spec.Synchronous != "" {
			args = append(args, "-sqlite-synchronous", spec.Synchronous)
		}
		if err := w.ParseFlags(args); err != nil {
			return stop, failed, metrics, err
		}
		if err := w.Run(ctx); err != nil {
			return stop, failed, metrics, fmt.Errorf("start real worker: %w", err)
		}
		workers = append(workers, w)
		metrics = append(metrics, "http://"+w.Addr()+"/metrics")
	}
	return stop, failed, metrics, nil
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
func waitDrained(ctx context.Context, nc *nats.Conn, cfg queue.Config, dbPath string, want int, failed func() error) error {
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(time.Minute + time.Duration(want)*2*time.Millisecond)
	var db *sql.DB
	defer func() {
		if db != nil {
			_ = db.Close()
		}
	}()
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
		if db == nil {
			if db, err = openReadOnly(dbPath); err != nil {
				last = err.Error()
				continue
			}
		}
		var n int
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM events`).Scan(&n); err != nil {
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

// countRows counts events and leads once the workers are closed.
func countRows(path string) (events, leads int, err error) {
	db, err := openReadOnly(path)
	if err != nil {
		return 0, 0, fmt.Errorf("open %s: %w", path, err)
	}
	defer func() { _ = db.Close() }()
	if err := db.QueryRow(`SELECT count(*) FROM events`).Scan(&events); err != nil {
		return 0, 0, fmt.Errorf("count events: %w", err)
	}
	if err := db.QueryRow(`SELECT count(*) FROM leads`).Scan(&leads); err != nil {
		return 0, 0, fmt.Errorf("count leads: %w", err)
	}
	return events, leads, nil
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
