package app_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/internal/testkit"
	"github.com/saleassist-pipeline/pipeline/pkg/app/workerapp"
	"github.com/saleassist-pipeline/pipeline/pkg/store/sqlite"
)

// Issue 21, item 4: a worker started while its NATS is down does not exit. It serves /healthz,
// answers /readyz 503 with why, logs the wait once, and consumes once NATS is up; it used to end
// its start with "connect to NATS".
func TestWorkerStartedBeforeNATSWaitsForIt(t *testing.T) {
	t.Parallel()
	addr := freeAddr(t) // nothing listens there yet
	db := filepath.Join(t.TempDir(), "leads.db")
	logs := &testkit.SyncBuffer{}
	w := workerapp.New()
	w.Env, w.Stderr = envOf(map[string]string{"NATS_URL": "nats://" + addr, "DATABASE_URL": "sqlite:" + db}), logs
	require.NoError(t, w.ParseFlags([]string{"-addr", "127.0.0.1:0"}))
	require.NoError(t, w.Run(context.Background()), "a NATS that is down is waited for, not an error")
	t.Cleanup(func() { require.NoError(t, w.Close()) })
	status := func(path string) (int, string) {
		resp, err := http.Get("http://" + w.Addr() + path)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(b)
	}
	code, _ := status("/healthz")
	require.Equal(t, http.StatusOK, code)
	code, body := status("/readyz")
	require.Equal(t, http.StatusServiceUnavailable, code, body)

	// Some time passes with NATS down: the wait is logged once, not once per attempt.
	require.Eventually(t, func() bool { return strings.Contains(logs.String(), "cannot consume yet") }, 10*time.Second, 10*time.Millisecond)

	url := "nats://" + addr
	testkit.StartJetStream(t, testkit.WithListen(addr))
	tb := startIngest(t, t.TempDir(), nil, "-nats-url", url)
	for i := range 5 {
		tb.post(t, variant(t, fmt.Sprintf("late-nats-%d", i), fmt.Sprintf("late%d@example.com", i), ""))
	}
	require.Eventually(t, func() bool { code, _ := status("/readyz"); return code == http.StatusOK }, 30*time.Second, 20*time.Millisecond)
	st, err := sqlite.Open(context.Background(), db)
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	awaitEvents(t, st, 5)
	out := logs.String()
	require.Contains(t, out, "consuming: NATS and the store answer")
	require.LessOrEqual(t, strings.Count(out, "cannot consume yet"), 3, out)
}
