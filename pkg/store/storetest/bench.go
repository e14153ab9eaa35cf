package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/saleassist-pipeline/pipeline"
	"github.com/saleassist-pipeline/pipeline/pkg/store"
)

// SimpleRecord is an event of one new person known only by email: the smallest record that
// writes a lead and an event, for tests and benchmarks of either store.
func SimpleRecord(id, email string) pipeline.Record {
	return pipeline.Record{EventID: id, EventType: "widget_new_conversation", ReceivedAt: time.Now(),
		Payload: []byte(`{"payload":{"id":"` + id + `"}}`),
		Lead:    &pipeline.Lead{Email: email, Name: "N " + id, SeenAt: time.Now()}}
}

// BenchApply measures s.Apply of batches of size records, each a new person, and reports the
// time per record, so both stores' BenchmarkApply figures are measured the same way.
func BenchApply(b *testing.B, s store.Store, size int) {
	ctx := context.Background()
	n := 0
	for b.Loop() {
		batch := make([]pipeline.Record, size)
		for i := range batch {
			n++
			batch[i] = SimpleRecord(fmt.Sprintf("ev-%d", n), fmt.Sprintf("l%d@example.com", n))
		}
		if _, err := s.Apply(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/record")
}
