package workerbench

import (
	"context"
	"runtime"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/internal/testkit"
)

func TestWaitsString(t *testing.T) {
	w := Waits{BusyCores: 1.5, Samples: 10, Active: map[string]int{"CPU": 6, "Lock:advisory": 12, "IO:WALSync": 2}}
	require.Equal(t, "machine busy 1.50 cores; server backends active 2.00 per sample, Lock:advisory 60%, CPU 30%, IO:WALSync 10%", w.String())
	require.Equal(t, "machine busy 0.25 cores", Waits{BusyCores: 0.25}.String())
}

func TestBusySince(t *testing.T) {
	before := cpuTicks{total: 1000, idle: 800}
	after := cpuTicks{total: 1200, idle: 900} // half of the ticks busy
	require.InDelta(t, 0.5*float64(runtime.NumCPU()), after.busySince(before), 1e-9)
	require.Zero(t, after.busySince(cpuTicks{}), "no first reading")
	require.NotZero(t, readCPUTicks().total, "/proc/stat read")
}

// The sampler sees a backend that waits while it samples: here one sleeping in pg_sleep.
func TestWaitSamplerSeesTheServersBackends(t *testing.T) {
	u := testkit.PostgresURL(t)
	ctx := t.Context()
	conn, err := pgx.Connect(ctx, u)
	require.NoError(t, err)
	defer func() { _ = conn.Close(context.Background()) }()

	s := startWaits(ctx, u)
	_, err = conn.Exec(ctx, `SELECT pg_sleep(0.5)`) // five sampling periods
	require.NoError(t, err)
	w := s.stop()
	require.Positive(t, w.Samples)
	require.Positive(t, w.Active["Timeout:PgSleep"], "samples: %+v", w)
}
