package app_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/internal/testkit"
	"github.com/saleassist-pipeline/pipeline/pkg/account"
	"github.com/saleassist-pipeline/pipeline/pkg/app/workerapp"
	"github.com/saleassist-pipeline/pipeline/pkg/queue"
)

// startWorker runs the real cmd/worker program against the ingest's embedded NATS and database.
func startWorker(t *testing.T, tb *testBundle) *workerapp.Program {
	t.Helper()
	w := workerapp.New()
	w.Env, w.Stderr = envOf(nil), &testkit.SyncBuffer{}
	require.NoError(t, w.ParseFlags([]string{
		"-nats-url", tb.ingest.EmbeddedNATSURL(),
		"-db", tb.dataDir + "/leads.db",
		"-addr", "127.0.0.1:0",
	}))
	require.NoError(t, w.Run(context.Background()))
	t.Cleanup(func() { require.NoError(t, w.Close()) })
	return w
}

// metricValue reads one sample from a /metrics text; 0 when absent.
func metricValue(t *testing.T, text, sample string) float64 {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(sample) + ` (\S+)$`).FindStringSubmatch(text)
	if m == nil {
		return 0
	}
	v, err := strconv.ParseFloat(m[1], 64)
	require.NoError(t, err)
	return v
}

// Two workers on one consumer, 2,000 events of which 10% are re-sends → exactly the unique
// events and leads. Half the re-sends go through the ingest (JetStream's duplicate window drops
// them); the other half are published again with a fresh Nats-Msg-Id, as after the window has
// passed, so only the store's unique event id stands between them and a second copy.
func TestTwoWorkersStoreEveryEventExactlyOnce(t *testing.T) {
	t.Parallel()
	tb := setup(t)
	w2 := startWorker(t, tb)

	const total, unique = 2000, 1800
	bodies := make([][]byte, unique)
	for i := range bodies {
		bodies[i] = variant(t, fmt.Sprintf("scale-%d", i), fmt.Sprintf("person%d@example.com", i), "")
	}
	jobs := make(chan []byte)
	var wg sync.WaitGroup
	var mu sync.Mutex
	dupAnswers := 0
	for range 16 {
		wg.Go(func() {
			for b := range jobs {
				code, a := post(t, tb.url, testSecret, b)
				if code != http.StatusAccepted {
					t.Errorf("answer %d %+v", code, a)
					continue
				}
				if a.Duplicate {
					mu.Lock()
					dupAnswers++
					mu.Unlock()
				}
			}
		})
	}
	for i, b := range bodies {
		jobs <- b
		if i%18 == 17 && i/18 < 100 { // 100 re-sends through the ingest, of events already answered
			jobs <- bodies[i-9]
		}
	}
	close(jobs)
	wg.Wait()

	// 100 re-deliveries of stored events with fresh message ids, past the broker's window.
	js := tb.js(t)
	for i := range 100 {
		id := fmt.Sprintf("scale-%d", i*17)
		m := &nats.Msg{Subject: queue.DefaultSubjectPrefix + ".widget_new_conversation", Data: bodies[i*17], Header: nats.Header{}}
		m.Header.Set(queue.HeaderEventID, id)
		m.Header.Set(queue.HeaderEventType, "widget_new_conversation")
		m.Header.Set(nats.MsgIdHdr, fmt.Sprintf("replay-%d", i))
		_, err := js.PublishMsg(context.Background(), m)
		require.NoError(t, err)
	}

	st := tb.openStore(t)
	c := awaitEvents(t, st, unique)
	require.EqualValues(t, unique, c.Leads)
	require.Equal(t, total-unique-100, dupAnswers, "re-sends answered duplicate:true")
	consumerInfo(t, tb)

	// Settled in the workers: every unique event stored once, the 100 replays seen as duplicates.
	// The counters are read until they add up (a replay the store answered after the consumer
	// looked idle is still counted), then held to the exact figures.
	var stored, dups, failed float64
	var split []float64
	read := func() {
		stored, dups, failed, split = 0, 0, 0, nil
		for _, url := range []string{tb.url, "http://" + w2.Addr()} {
			text := scrape(t, url)
			s := metricValue(t, text, `saleassist_worker_events_total{account="default",event_type="widget_new_conversation",outcome="stored"}`)
			stored += s
			split = append(split, s)
			dups += metricValue(t, text, `saleassist_worker_events_total{account="default",event_type="widget_new_conversation",outcome="duplicate"}`)
			failed += metricValue(t, text, `saleassist_worker_events_total{account="default",event_type="widget_new_conversation",outcome="failed"}`)
		}
	}
	deadline := time.Now().Add(15 * time.Second)
	for read(); stored+dups < unique+100 && time.Now().Before(deadline); read() {
		time.Sleep(20 * time.Millisecond) // polling the counters: the condition is awaited, with a deadline
	}
	require.EqualValues(t, unique, stored)
	require.EqualValues(t, 100, dups, "failed attempts: %v", failed)
	t.Logf("stored per worker (in-process, cmd/worker): %v", split)
}

// A standalone restart between ingest and processing loses nothing: events accepted while no
// worker ran are stored after the restart.
func TestStandaloneRestartKeepsAcceptedEvents(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tb := startIngest(t, dir, nil, "-worker=false")
	for i := range 50 {
		tb.post(t, variant(t, fmt.Sprintf("restart-%d", i), fmt.Sprintf("r%d@example.com", i), ""))
	}
	tb.closeNow()

	tb = startIngest(t, dir, nil)
	c := awaitEvents(t, tb.openStore(t), 50)
	require.EqualValues(t, 50, c.Leads)
	consumerInfo(t, tb)
}

// A clean shutdown under way leaves nothing unacknowledged: the batch in flight commits and acks.
func TestCleanShutdownLeavesNothingPending(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tb := startIngest(t, dir, nil)
	for i := range 300 {
		tb.post(t, variant(t, fmt.Sprintf("stop-%d", i), fmt.Sprintf("s%d@example.com", i), ""))
	}
	tb.closeNow() // while the worker is still busy with the backlog

	// Restart ingest-only and look at the consumer: nothing may be waiting for redelivery.
	tb = startIngest(t, dir, nil, "-worker=false")
	js := tb.js(t)
	cons, err := js.Consumer(context.Background(), queue.DefaultStream, queue.DefaultConsumer)
	require.NoError(t, err)
	info, err := cons.Info(context.Background())
	require.NoError(t, err)
	require.Zero(t, info.NumAckPending, "messages held at shutdown and never settled")
	require.Zero(t, info.NumRedelivered)
	st := tb.openStore(t)
	c, err := st.Counts(context.Background(), account.Default)
	require.NoError(t, err)
	require.EqualValues(t, 300, c.Events+int64(info.NumPending), "every event stored or still waiting, none lost")
}

// Shutdown under load (64 clients): every request answered 202 before or during the shutdown is stored after
// a restart; the others got an error or a non-2xx, never a 202 for an event that is not kept.
func TestShutdownUnderLoadKeepsEvery202(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tb := startIngest(t, dir, nil)
	var mu sync.Mutex
	var accepted []string
	started := make(chan struct{})
	var once sync.Once
	var wg sync.WaitGroup
	client := &http.Client{}
	bodies := make(map[string][]byte)
	const clients, each = 64, 60
	for g := range clients {
		for i := range each {
			id := fmt.Sprintf("load-%d-%d", g, i)
			bodies[id] = variant(t, id, id+"@example.com", "")
		}
	}
	for g := range clients {
		wg.Go(func() {
			for i := range each {
				id := fmt.Sprintf("load-%d-%d", g, i)
				req, err := http.NewRequest(http.MethodPost, tb.url+"/webhooks/saleassist", bytes.NewReader(bodies[id]))
				if err != nil {
					t.Error(err)
					return
				}
				req.Header.Set("X-Webhook-Secret", testSecret)
				resp, err := client.Do(req)
				if err != nil {
					return // the server is gone: allowed
				}
				_ = resp.Body.Close()
				if resp.StatusCode == http.StatusAccepted {
					mu.Lock()
					accepted = append(accepted, id)
					if len(accepted) == 100 {
						once.Do(func() { close(started) })
					}
					mu.Unlock()
				}
			}
		})
	}
	<-started
	tb.closeNow()
	wg.Wait()

	tb = startIngest(t, dir, nil)
	st := tb.openStore(t)
	mu.Lock()
	defer mu.Unlock()
	require.Eventually(t, func() bool {
		c, err := st.Counts(context.Background(), account.Default)
		require.NoError(t, err)
		return c.Events >= int64(len(accepted))
	}, 30*time.Second, 20*time.Millisecond)
	for _, id := range accepted {
		_, err := st.Event(context.Background(), account.Default, id)
		require.NoError(t, err, "event %s was answered 202 but is not stored", id)
	}
	t.Logf("%d requests accepted before the shutdown, all stored", len(accepted))
}
