package postgres

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline"
	"github.com/saleassist-pipeline/pipeline/internal/testkit"
)

// backendCPU is the user + system CPU, in clock ticks (1/100 s), the server process pid has used:
// fields 14 and 15 of /proc/pid/stat. The server must run on this machine.
func backendCPU(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	require.NoError(t, err, "the backend's /proc/PID/stat (the server must be local)")
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	s, err2 := strconv.ParseInt(f[12], 10, 64)
	require.NoError(t, err1)
	require.NoError(t, err2)
	return u + s
}

// What leads_text_trgm (0008) costs the writes: batches of new leads, worker-shaped (256
// records, each a new person with name, email, city and phone, the real webhook payload),
// applied through Apply on one connection to a fresh database with the index and to one
// without, alternating, rounds times; the backend's CPU (/proc/PID/stat) and the WAL written
// (pg_current_wal_lsn, the whole server's: run it on an otherwise idle server) per new lead,
// medians. A measurement: STORE_COST=1 runs it (docs/PERFORMANCE.md, the console section).
func TestLeadTextWriteCost(t *testing.T) {
	if os.Getenv("STORE_COST") == "" {
		t.Skip("a measurement: STORE_COST=1 runs it")
	}
	const (
		batches = 60
		per     = 256
		rounds  = 3
	)
	fixture := testkit.Fixture(t)
	cities := []string{"Pune", "Mumbai", "Delhi", "Chennai", "Kolkata", "Bengaluru", "Hyderabad", "Faridabad"}
	type side struct {
		name     string
		index    bool
		cpu, wal []float64
	}
	sides := []*side{{name: "with leads_text_trgm", index: true}, {name: "without it", index: false}}
	n := 0
	for r := range rounds {
		order := sides
		if r%2 == 1 {
			order = []*side{sides[1], sides[0]}
		}
		for _, s := range order {
			url := testkit.FreshPostgres(t)
			db := open(t, url+"&pool_max_conns=1")
			ctx := t.Context()
			if !s.index {
				_, err := db.pool.Exec(ctx, `DROP INDEX leads_text_trgm`)
				require.NoError(t, err)
			}
			var has bool
			require.NoError(t, db.pool.QueryRow(ctx, `SELECT to_regclass('leads_text_trgm') IS NOT NULL`).Scan(&has))
			require.Equal(t, s.index, has)
			batch := func(b int) []pipeline.Record {
				recs := make([]pipeline.Record, per)
				for i := range recs {
					n++
					id := fmt.Sprintf("ev-%d", n)
					recs[i] = rec(id, fmt.Sprintf("person.%d@example.com", n))
					recs[i].Payload = testkit.WithID(fixture, id)
					recs[i].Lead.Name = fmt.Sprintf("Person %d Kumar", n)
					recs[i].Lead.City = cities[n%len(cities)]
					recs[i].Lead.MobileNumber = fmt.Sprintf("+91%d", 9000000000+n)
				}
				return recs
			}
			_, err := db.Apply(ctx, batch(0)) // warm: the connection's statements prepared
			require.NoError(t, err)
			var pid int
			require.NoError(t, db.pool.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&pid))
			var lsn0 string
			require.NoError(t, db.pool.QueryRow(ctx, `SELECT pg_current_wal_lsn()::text`).Scan(&lsn0))
			cpu0 := backendCPU(t, pid)
			for b := range batches {
				res, err := db.Apply(ctx, batch(b))
				require.NoError(t, err)
				require.Equal(t, pipeline.Stored, res[0].Outcome)
			}
			cpu1 := backendCPU(t, pid)
			var wal float64
			require.NoError(t, db.pool.QueryRow(ctx, `SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn)::float8`, lsn0).Scan(&wal))
			leads := float64(batches * per)
			s.cpu = append(s.cpu, float64(cpu1-cpu0)*10_000/leads) // ticks of 10 ms → µs per lead
			s.wal = append(s.wal, wal/leads)
			t.Logf("round %d %-22s backend CPU %6.1f µs/lead, WAL %6.0f B/lead", r, s.name, s.cpu[len(s.cpu)-1], s.wal[len(s.wal)-1])
		}
	}
	median := func(v []float64) float64 {
		v = slices.Clone(v)
		slices.Sort(v)
		return v[len(v)/2]
	}
	for _, s := range sides {
		t.Logf("median %-22s backend CPU %6.1f µs/lead, WAL %6.0f B/lead", s.name, median(s.cpu), median(s.wal))
	}
	t.Logf("the index costs %+.1f µs of backend CPU and %+.0f B of WAL per new lead",
		median(sides[0].cpu)-median(sides[1].cpu), median(sides[0].wal)-median(sides[1].wal))
}
