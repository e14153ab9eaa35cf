package worker

import (
	"testing"
	"time"

	"github.com/saleassist-pipeline/pipeline"
)

func routed(n int, start time.Time) *routedBatch {
	return &routedBatch{start: start, msgs: make([]pending, n), records: make([]pipeline.Record, n)}
}

func TestGatherJoinsWithinLingerUpToBatchSize(t *testing.T) {
	t.Parallel()
	w := &Worker{opts: Options{BatchSize: 10, BatchLinger: time.Hour}}
	in := make(chan *routedBatch, 4)
	start := time.Now()
	in <- routed(3, start)
	in <- routed(4, start)
	in <- routed(5, start) // 2+3+4+5 > 10: starts the next transaction
	b, next := w.gather(routed(2, start), in)
	if len(b.records) != 9 || len(b.msgs) != 9 || len(b.joined) != 2 {
		t.Fatalf("joined %d records, %d msgs, %d batches; want 9, 9, 2", len(b.records), len(b.msgs), len(b.joined))
	}
	if next == nil || len(next.records) != 5 {
		t.Fatalf("next = %v, want the batch of 5", next)
	}
}

func TestGatherStopsAtLingerAndOnClose(t *testing.T) {
	t.Parallel()
	w := &Worker{opts: Options{BatchSize: 10, BatchLinger: 20 * time.Millisecond}}
	in := make(chan *routedBatch)
	t0 := time.Now()
	b, next := w.gather(routed(1, t0), in)
	if took := time.Since(t0); took < 15*time.Millisecond || took > time.Second || len(b.records) != 1 || next != nil {
		t.Fatalf("took %s, %d records, next %v; want ~20ms, 1, nil", took, len(b.records), next)
	}
	// A batch that started a linger ago is committed at once.
	if _, next := w.gather(routed(1, time.Now().Add(-time.Second)), in); next != nil {
		t.Fatal("next from an expired linger")
	}
	close(in)
	w.opts.BatchLinger = time.Hour
	if b, next := w.gather(routed(1, time.Now()), in); len(b.records) != 1 || next != nil {
		t.Fatal("a closed channel must end the wait")
	}
	// No linger: never waits.
	w.opts.BatchLinger = -1
	if b, _ := w.gather(routed(1, time.Now()), make(chan *routedBatch)); len(b.records) != 1 {
		t.Fatal("no linger")
	}
}
