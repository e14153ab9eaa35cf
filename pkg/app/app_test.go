package app_test

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/internal/testkit"
	"github.com/saleassist-pipeline/pipeline/pkg/account"
	"github.com/saleassist-pipeline/pipeline/pkg/app"
	"github.com/saleassist-pipeline/pipeline/pkg/app/ingestapp"
	"github.com/saleassist-pipeline/pipeline/pkg/queue"
	"github.com/saleassist-pipeline/pipeline/pkg/store"
	"github.com/saleassist-pipeline/pipeline/pkg/store/sqlite"
)

const testSecret = "test-secret-0123456789abcdef"

// testBundle is one running ingest (standalone unless told otherwise) and what a test needs to
// drive it and look at its results.
type testBundle struct {
	ingest  *ingestapp.Program
	dataDir string
	url     string
	stdout  *testkit.SyncBuffer
	stderr  *testkit.SyncBuffer
	// closeNow closes the ingest before the end of the test (a restart, a shutdown check).
	closeNow func()
}

func envOf(m map[string]string) app.LookupEnv {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

// startIngest runs the real cmd/ingest program on :0 with the given data dir, env and extra args.
// It is closed at the end of the test unless the test closes it first.
func startIngest(t *testing.T, dataDir string, env map[string]string, args ...string) *testBundle {
	t.Helper()
	if env == nil {
		env = map[string]string{"WEBHOOK_SECRETS": testSecret}
	}
	tb := &testBundle{dataDir: dataDir, stdout: &testkit.SyncBuffer{}, stderr: &testkit.SyncBuffer{}}
	m := ingestapp.New()
	m.Env, m.Stdout, m.Stderr = envOf(env), tb.stdout, tb.stderr
	base := []string{"-addr", "127.0.0.1:0", "-data-dir", dataDir, "-embedded-nats-addr", "127.0.0.1:0", "-console-addr", ""}
	require.NoError(t, m.ParseFlags(append(base, args...)))
	require.NoError(t, m.Run(context.Background()))
	tb.ingest = m
	tb.url = "http://" + m.Addr()
	closed := false
	t.Cleanup(func() {
		if !closed {
			require.NoError(t, m.Close())
		}
	})
	tb.closeNow = func() { closed = true; require.NoError(t, m.Close()) }
	return tb
}

func setup(t *testing.T, args ...string) *testBundle {
	t.Helper()
	return startIngest(t, t.TempDir(), nil, args...)
}

// answer is the decoded JSON answer of the ingest.
type answer struct {
	Status    string `json:"status"`
	EventID   string `json:"event_id"`
	Duplicate bool   `json:"duplicate"`
	Error     string `json:"error"`
	Message   string `json:"message"`
	// QuarantineID is set when a rejected request was kept.
	QuarantineID string `json:"quarantine_id"`
}

func post(t *testing.T, url, secret string, body []byte) (int, answer) {
	t.Helper()
	return signedPost(t, url, secret, "", "application/json; charset=UTF-8", body)
}

func (tb *testBundle) post(t *testing.T, body []byte) answer {
	t.Helper()
	code, a := post(t, tb.url, testSecret, body)
	require.Equal(t, http.StatusAccepted, code, "answer: %+v", a)
	return a
}

// openStore opens the standalone leads database next to the running worker (WAL allows it).
func (tb *testBundle) openStore(t *testing.T) store.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(tb.dataDir, "leads.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// awaitCounts waits until the store holds exactly want events, then checks leads.
func awaitEvents(t *testing.T, st store.Store, events int64) store.Counts {
	t.Helper()
	var c store.Counts
	require.Eventually(t, func() bool {
		var err error
		c, err = st.Counts(context.Background(), account.Default)
		require.NoError(t, err)
		return c.Events >= events
	}, 30*time.Second, 10*time.Millisecond, "waiting for %d events", events)
	require.Equal(t, events, c.Events, "events stored")
	return c
}

// variant is the fixture with another event id, email and phone.
func variant(t testing.TB, id, email, phone string) []byte {
	t.Helper()
	return testkit.EditFixture(t, id, func(_, _, person map[string]any) {
		person["email"] = email
		person["mobile_number"] = phone
	})
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}

// js connects to the standalone ingest's embedded NATS, as an extra worker would.
func (tb *testBundle) js(t *testing.T) jetstream.JetStream {
	t.Helper()
	u := tb.ingest.EmbeddedNATSURL()
	require.NotEmpty(t, u, "embedded NATS is not listening")
	nc, err := nats.Connect(u)
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	return js
}

// consumerInfo waits until the shared consumer has nothing pending or unacknowledged, and returns
// its state.
func consumerInfo(t *testing.T, tb *testBundle) *jetstream.ConsumerInfo {
	t.Helper()
	js := tb.js(t)
	var info *jetstream.ConsumerInfo
	require.Eventually(t, func() bool {
		c, err := js.Consumer(context.Background(), queue.DefaultStream, queue.DefaultConsumer)
		require.NoError(t, err)
		info, err = c.Info(context.Background())
		require.NoError(t, err)
		return info.NumAckPending == 0 && info.NumPending == 0
	}, 10*time.Second, 10*time.Millisecond)
	return info
}
