package app_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/internal/testkit"
	"github.com/saleassist-pipeline/pipeline/pkg/app/workerapp"
	"github.com/saleassist-pipeline/pipeline/pkg/queue"
	"github.com/saleassist-pipeline/pipeline/pkg/store/sqlite"
)

// freeAddr returns a loopback address with a port nobody listens on right now, so that a NATS
// server can be stopped and started again on the same address.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

// loadResult tallies what a load generator saw.
type loadResult struct {
	mu           sync.Mutex
	accepted     map[string]bool // event ids answered 202
	unavailable  int             // 503 answers
	notConfirmed map[string]bool // event ids answered 503: maybe stored, a retry would dedupe
	noRetryAfter int             // 503 answers without Retry-After
	other        map[int]int     // any other status
	connErrors   int
}

// load posts unique events from n clients until stop is closed or max requests were sent. wait
// returns once every client has stopped and its last answer is counted.
func load(t *testing.T, url string, n, max int, stop <-chan struct{}) (res *loadResult, wait func()) {
	t.Helper()
	res = &loadResult{accepted: map[string]bool{}, notConfirmed: map[string]bool{}, other: map[int]int{}}
	base := variant(t, "load-template", "template@example.com", "")
	var seq atomic.Int64
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 10 * time.Second}
	for range n {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				i := seq.Add(1)
				if i > int64(max) {
					return
				}
				id := fmt.Sprintf("fault-%d", i)
				body := bytes.Replace(base, []byte(`"load-template"`), []byte(`"`+id+`"`), 1)
				body = bytes.Replace(body, []byte(`"template@example.com"`), []byte(`"`+id+`@example.com"`), 1)
				req, _ := http.NewRequest(http.MethodPost, url+"/webhooks/saleassist", bytes.NewReader(body))
				req.Header.Set("X-Webhook-Secret", testSecret)
				resp, err := client.Do(req)
				res.mu.Lock()
				switch {
				case err != nil:
					res.connErrors++
				case resp.StatusCode == http.StatusAccepted:
					res.accepted[id] = true
				case resp.StatusCode == http.StatusServiceUnavailable:
					res.unavailable++
					res.notConfirmed[id] = true
					if resp.Header.Get("Retry-After") == "" {
						res.noRetryAfter++
					}
				default:
					res.other[resp.StatusCode]++
				}
				res.mu.Unlock()
				if resp != nil {
					_ = resp.Body.Close()
				}
			}
		})
	}
	t.Cleanup(wg.Wait)
	return res, wg.Wait
}

func (r *loadResult) counts() (accepted, unavailable int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.accepted), r.unavailable
}

// NATS stopped under load: requests get 503 with Retry-After (never a 202), /readyz says not
// ready; once NATS is back the same ingest accepts again without a restart. Every event answered
// 202 is stored exactly once; the only others stored are requests in flight at the stop, which
// were answered 503 (not confirmed) — never 202 for an event that is not stored.
func TestNATSStoppedUnderLoadThenRecovers(t *testing.T) {
	t.Parallel()
	nh := testkit.StartNATSHost(t)
	url := nh.URL()
	// The publish timeout is what a request waits while NATS is down. 500 ms was short enough for
	// publishes to time out while NATS was up on a CI machine under heavy load, storing more
	// events answered 503 than were in flight at the stop (allowed, but it broke the bound below).
	tb := startIngest(t, t.TempDir(), nil, "-nats-url", url, "-publish-timeout", "1500ms", "-worker=false")
	db := filepath.Join(t.TempDir(), "leads.db")
	w := workerapp.New()
	w.Env, w.Stderr = envOf(map[string]string{"NATS_URL": url, "DATABASE_URL": db}), io.Discard
	// Messages the worker held when NATS went down are redelivered after AckWait: keep it short.
	require.NoError(t, w.ParseFlags([]string{"-addr", "127.0.0.1:0", "-ack-wait", "3s"}))
	require.NoError(t, w.Run(context.Background()))
	t.Cleanup(func() { require.NoError(t, w.Close()) })

	stop := make(chan struct{})
	res, wait := load(t, tb.url, 8, 20000, stop)
	t0 := time.Now()
	require.Eventually(t, func() bool { a, _ := res.counts(); return a >= 200 }, 20*time.Second, 5*time.Millisecond)

	t.Logf("%s: 200 accepted", time.Since(t0))
	nh.Stop()
	acceptedAtStop, _ := res.counts()
	// Three 503s per client: a buffered publish sent once NATS is back (a ghost) would store
	// many of them, far past the bound of one per client below.
	require.Eventually(t, func() bool { _, u := res.counts(); return u >= 24 }, 20*time.Second, 5*time.Millisecond, "no 503s while NATS is down")
	// The ingest and the worker give the one readiness answer (internal/health): 503, Retry-After,
	// the contract's error shape. The worker may see the disconnect a moment later.
	for _, base := range []string{tb.url, "http://" + w.Addr()} {
		require.Eventually(t, func() bool {
			resp, err := http.Get(base + "/readyz")
			require.NoError(t, err)
			defer resp.Body.Close()
			var a struct{ Error, Message string }
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&a))
			return resp.StatusCode == http.StatusServiceUnavailable && a.Error == "unavailable" && a.Message != "" &&
				resp.Header.Get("Retry-After") != ""
		}, 10*time.Second, 10*time.Millisecond, "%s/readyz during the outage", base)
	}
	duringOutage, _ := res.counts()
	t.Logf("%s: NATS down, 24 answered 503", time.Since(t0))

	nh.Start()
	restarted := time.Now()
	require.Eventually(t, func() bool { a, _ := res.counts(); return a >= duringOutage+200 }, 30*time.Second, 10*time.Millisecond,
		"the ingest did not recover after NATS came back")
	close(stop)
	wait()
	t.Logf("recovered %s after NATS restarted", time.Since(restarted).Round(time.Millisecond))

	st, err := sqlite.Open(context.Background(), db)
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	res.mu.Lock()
	defer res.mu.Unlock()
	require.Zero(t, res.noRetryAfter, "503 without Retry-After")
	require.Empty(t, res.other, "answers other than 202 and 503")
	accepted := int64(len(res.accepted))
	// Wait until the worker has drained the consumer, then compare what is stored with the answers.
	nc, err := nats.Connect(url)
	require.NoError(t, err)
	defer nc.Close()
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		c, err := js.Consumer(context.Background(), queue.DefaultStream, queue.DefaultConsumer)
		if err != nil {
			return false
		}
		info, err := c.Info(context.Background())
		return err == nil && info.NumPending == 0 && info.NumAckPending == 0
	}, 30*time.Second, 10*time.Millisecond)
	t.Logf("%s: drained", time.Since(t0))
	stored := storedIDs(t, db)
	for id := range res.accepted {
		require.True(t, stored[id], "event %s answered 202 but not stored", id)
	}
	// Requests in flight when NATS went down may have been stored without an acknowledgement;
	// they were answered 503 (not confirmed), never 202, and are at most one per client.
	var extra []string
	for id := range stored {
		if !res.accepted[id] {
			require.True(t, res.notConfirmed[id], "event %s stored but never answered 202 nor 503", id)
			extra = append(extra, id)
		}
	}
	require.LessOrEqual(t, len(extra), 8, "more unconfirmed events stored than requests were in flight")
	t.Logf("202 before the stop %d, while down %d, in all %d; 503 %d (of which stored anyway %d); connection errors %d; stored %d",
		acceptedAtStop, duringOutage-acceptedAtStop, accepted, res.unavailable, len(extra), res.connErrors, len(stored))
}

// storedIDs reads every event id in a leads database.
func storedIDs(t *testing.T, path string) map[string]bool {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	require.NoError(t, err)
	defer db.Close()
	rows, err := db.Query("SELECT event_id FROM events")
	require.NoError(t, err)
	defer rows.Close()
	ids := map[string]bool{}
	for rows.Next() {
		var id string
		require.NoError(t, rows.Scan(&id))
		require.False(t, ids[id], "event %s stored twice", id)
		ids[id] = true
	}
	require.NoError(t, rows.Err())
	return ids
}

// A full stream (MaxBytes reached, DiscardNew) answers 503 with Retry-After rather than dropping
// anything; once a worker drains it, the same ingest accepts again.
func TestStreamFullAnswers503ThenRecovers(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tb := startIngest(t, dir, nil, "-worker=false", "-stream-max-bytes", "65536")
	var accepted []string
	code := http.StatusAccepted
	for i := 0; code == http.StatusAccepted; i++ {
		require.Less(t, i, 100, "the stream never filled up")
		id := fmt.Sprintf("full-%d", i)
		var a answer
		code, a = post(t, tb.url, testSecret, variant(t, id, id+"@example.com", ""))
		if code == http.StatusAccepted {
			accepted = append(accepted, id)
			continue
		}
		require.Equal(t, http.StatusServiceUnavailable, code)
		require.Equal(t, "unavailable", a.Error)
		require.Contains(t, a.Message, "retry")
	}
	require.NotEmpty(t, accepted)

	// A worker attaches to the embedded server and drains the backlog.
	w := startWorker(t, tb)
	_ = w
	st := tb.openStore(t)
	awaitEvents(t, st, int64(len(accepted)))
	require.Eventually(t, func() bool {
		code, _ := post(t, tb.url, testSecret, variant(t, "after-drain", "after@example.com", ""))
		return code == http.StatusAccepted
	}, 10*time.Second, 50*time.Millisecond)
	awaitEvents(t, st, int64(len(accepted))+1)
}
