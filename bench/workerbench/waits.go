package workerbench

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// WaitSampleEvery is how often a PostgreSQL drain samples what the server's backends are doing.
const WaitSampleEvery = 100 * time.Millisecond

// Waits is what the machine and the PostgreSQL server were doing during a drain: the evidence
// of what bounds it. Busy near runtime.NumCPU() means the box is full (CPU-bound); backends
// mostly in Lock:advisory mean writers queue on one identity key; mostly CPU with cores to
// spare means the work is serial somewhere else (a worker's single store stage).
type Waits struct {
	// BusyCores is the whole machine's non-idle CPU time over the drain ÷ its duration, from
	// /proc/stat: every process counts (workers, server, the harness and its NATS, neighbours).
	BusyCores float64
	// Samples is how many times pg_stat_activity was read; Active counts, per wait event
	// ("CPU" when a backend waited on nothing), the active client backends seen in them.
	Samples int
	Active  map[string]int
}

// String is the one-line form the progress lines carry, largest shares first.
func (w Waits) String() string {
	if w.Samples == 0 {
		return fmt.Sprintf("machine busy %.2f cores", w.BusyCores)
	}
	total := 0
	keys := make([]string, 0, len(w.Active))
	for k, n := range w.Active {
		total += n
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int { return w.Active[b] - w.Active[a] })
	var b strings.Builder
	fmt.Fprintf(&b, "machine busy %.2f cores; server backends active %.2f per sample", w.BusyCores, float64(total)/float64(w.Samples))
	for i, k := range keys {
		if i == 4 {
			break
		}
		fmt.Fprintf(&b, ", %s %.0f%%", k, 100*float64(w.Active[k])/float64(total))
	}
	return b.String()
}

// waitSampler reads pg_stat_activity every WaitSampleEvery, and /proc/stat at start and stop.
type waitSampler struct {
	cancel context.CancelFunc
	done   chan struct{}
	w      Waits
	cpu0   cpuTicks
}

// startWaits starts sampling the server at url (any database of it: pg_stat_activity is the
// cluster's); with url "", or a server it cannot reach, only the machine's figure is taken.
func startWaits(ctx context.Context, url string) *waitSampler {
	ctx, cancel := context.WithCancel(ctx)
	s := &waitSampler{cancel: cancel, done: make(chan struct{}), w: Waits{Active: map[string]int{}}, cpu0: readCPUTicks()}
	go func() {
		defer close(s.done)
		if url == "" {
			return
		}
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			return
		}
		defer func() { _ = conn.Close(context.Background()) }()
		tick := time.NewTicker(WaitSampleEvery)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			rows, err := conn.Query(ctx, `SELECT coalesce(wait_event_type || ':' || wait_event, 'CPU')
				FROM pg_stat_activity
				WHERE state = 'active' AND backend_type = 'client backend' AND pid <> pg_backend_pid()`)
			if err != nil {
				return
			}
			var ev string
			_, err = pgx.ForEachRow(rows, []any{&ev}, func() error { s.w.Active[ev]++; return nil })
			if err != nil {
				return
			}
			s.w.Samples++
		}
	}()
	return s
}

// stop ends the sampling and returns what it saw.
func (s *waitSampler) stop() Waits {
	s.cancel()
	<-s.done
	s.w.BusyCores = readCPUTicks().busySince(s.cpu0)
	return s.w
}

// cpuTicks is the machine's aggregate "cpu" line of /proc/stat: total and idle (idle + iowait).
type cpuTicks struct{ total, idle uint64 }

func readCPUTicks() cpuTicks {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return cpuTicks{}
	}
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	if !sc.Scan() {
		return cpuTicks{}
	}
	fields := strings.Fields(sc.Text())
	var t cpuTicks
	for i, f := range fields[1:] {
		if i >= 8 { // guest time is already inside user
			break
		}
		v, _ := strconv.ParseUint(f, 10, 64)
		t.total += v
		if i == 3 || i == 4 {
			t.idle += v
		}
	}
	return t
}

// busySince is the cores the machine kept busy on average since t0 (0 without /proc/stat).
func (t cpuTicks) busySince(t0 cpuTicks) float64 {
	dt := t.total - t0.total
	if t0.total == 0 || dt == 0 {
		return 0
	}
	return float64(runtime.NumCPU()) * float64(dt-(t.idle-t0.idle)) / float64(dt)
}
