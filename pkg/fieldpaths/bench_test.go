package fieldpaths_test

import (
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/saleassist-pipeline/pipeline/internal/testkit"
	"github.com/saleassist-pipeline/pipeline/pkg/fieldpaths"
	"github.com/saleassist-pipeline/pipeline/pkg/mapping"
)

// BenchmarkCollectorBatch is the worker's upkeep of the kept schema without the store: a batch
// of 256 fixture events (distinct ids) walked into one Collector and turned into its Fields;
// cpu-µs/event is the process's CPU time (getrusage) per event, which a busy shared machine does
// not inflate as it does ns/op (wall time).
func BenchmarkCollectorBatch(b *testing.B) {
	m, err := mapping.NewMapper("IN")
	if err != nil {
		b.Fatal(err)
	}
	fixture := testkit.Fixture(b)
	bodies := make([][]byte, 256)
	for i := range bodies {
		bodies[i] = testkit.WithID(fixture, "bench-"+strconv.Itoa(i))
	}
	now := time.Now()
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		c := fieldpaths.NewCollector(fieldpaths.NewMasker(m))
		for _, body := range bodies {
			if err := c.Add("", "widget_new_conversation", now, body); err != nil {
				b.Fatal(err)
			}
		}
		_ = c.Fields()
	}
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N*len(bodies)), "cpu-µs/event")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
