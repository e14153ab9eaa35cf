package worker

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/saleassist-pipeline/pipeline/internal/ratelog"
	"github.com/saleassist-pipeline/pipeline/pkg/fieldpaths"
	"github.com/saleassist-pipeline/pipeline/pkg/store"
)

// Bounds of the kept schema's upkeep (fields.go).
const (
	// maxFieldsPending bounds the stored events waiting for the keeper: past it (a keeper far
	// behind, or a store refusing the upsert for long) new ones are left out of the counts rather
	// than held in memory. At a few KiB an event, a few tens of MiB at most.
	maxFieldsPending = 20_000
	// fieldsTimeout bounds one upsert of the kept schema.
	fieldsTimeout = 10 * time.Second
	// fieldsEvery is the shortest gap between two upserts: the batches stored in between are
	// merged into the next one. On SQLite each upsert is a commit of its own on the one write
	// connection, which the next batch waits for; at 8 batches a second, one commit in eight.
	fieldsEvery = time.Second
)

// fieldKeeper keeps the schema of the stored events (store.FieldKeeper): the store stage hands it
// each batch's stored events once they are committed and acked, and a goroutine of its own walks
// them at once (fieldpaths: paths merged, counts summed) and upserts once per (account, type,
// path): after the batch, or, when the last upsert was less than fieldsEvery ago, once that much
// has passed, for every batch stored meanwhile.
//
// Why a write of its own, just after the batch's commit, rather than inside its transaction:
//   - an event is never lost or stored twice because of it: it starts after the commit and the
//     acks, and a failure is logged (a few lines, ratelog) and forgets those counts; the batch
//     has already succeeded;
//   - only events the store said Stored are counted (a redelivered duplicate is not), which is
//     known only once Apply returns;
//   - inside the transaction, every worker's batch would lock the same hot rows (payload.id of
//     each type) until its commit, making the workers on PostgreSQL commit one after another;
//   - the walk runs on this goroutine, not on the store stage, the pipeline's serial one; when
//     it falls behind, the batches waiting are merged into one upsert.
//
// The cost: a worker that dies between a commit and the upsert leaves those events' paths
// uncounted (counts are at most fieldsEvery of events low; a path is missing only if every event
// that carried it was stored in that second).
type fieldKeeper struct {
	keep    store.FieldKeeper
	mask    fieldpaths.Masker
	col     *fieldpaths.Collector // what is walked and not kept yet; run's own
	failing ratelog.Failing       // the upsert
	behind  ratelog.Failing       // events left out past maxFieldsPending
	wake    chan struct{}
	done    chan struct{}

	mu      sync.Mutex
	pending []storedBody
	closed  bool
}

// storedBody is one stored event, as the kept schema needs it.
type storedBody struct {
	acct, typ string
	at        time.Time
	body      []byte
}

func newFieldKeeper(k store.FieldKeeper, m fieldpaths.Masker, log *slog.Logger) *fieldKeeper {
	return &fieldKeeper{keep: k, mask: m, col: fieldpaths.NewCollector(m), failing: ratelog.Failing{Log: log},
		behind: ratelog.Failing{Log: log, Idle: time.Minute},
		wake:   make(chan struct{}, 1), done: make(chan struct{})}
}

// add hands over a batch's stored events; it never blocks.
func (k *fieldKeeper) add(evs []storedBody) {
	if k == nil || len(evs) == 0 {
		return
	}
	k.mu.Lock()
	left := 0
	if room := maxFieldsPending - len(k.pending); room < len(evs) {
		left = len(evs) - max(room, 0)
		evs = evs[:max(room, 0)]
	}
	k.pending = append(k.pending, evs...)
	k.mu.Unlock()
	if left > 0 {
		k.behind.Fail("kept schema behind: stored events left out of its counts", nil, "events", left)
	}
	select {
	case k.wake <- struct{}{}:
	default:
	}
}

// run keeps what is handed over until stop, then keeps what is left and closes done.
func (k *fieldKeeper) run() {
	defer close(k.done)
	var (
		last time.Time
		due  <-chan time.Time
	)
	for {
		select {
		case _, open := <-k.wake:
			k.collect()
			if !open {
				k.flush()
				return
			}
		case <-due:
			due = nil
		}
		if k.col.Len() == 0 {
			continue
		}
		if wait := fieldsEvery - time.Since(last); wait > 0 {
			if due == nil {
				due = time.After(wait)
			}
			continue
		}
		k.flush()
		last = time.Now()
	}
}

// collect walks what was handed over into k.col, so the bodies are let go at once.
func (k *fieldKeeper) collect() {
	k.mu.Lock()
	evs := k.pending
	k.pending = nil
	k.mu.Unlock()
	for _, ev := range evs {
		_ = k.col.Add(ev.acct, ev.typ, ev.at, ev.body) // the ingest let it through: valid JSON
	}
}

// stop ends run once what was handed over is kept.
func (k *fieldKeeper) stop() {
	if k == nil {
		return
	}
	k.mu.Lock()
	if !k.closed {
		k.closed = true
		close(k.wake)
	}
	k.mu.Unlock()
	<-k.done
}

// flush upserts k.col and starts a new one.
func (k *fieldKeeper) flush() {
	c := k.col
	if c.Len() == 0 {
		return
	}
	k.col = fieldpaths.NewCollector(k.mask)
	ctx, cancel := context.WithTimeout(context.Background(), fieldsTimeout)
	defer cancel()
	if err := k.keep.KeepFields(ctx, c.Fields()); err != nil {
		k.failing.Fail("keeping the schema of stored events failed; their paths are not counted (the events are stored)", err, "events", c.Len())
		return
	}
	k.failing.OK("keeping the schema of stored events works again")
}
