package app_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/internal/testkit"
	"github.com/saleassist-pipeline/pipeline/pkg/account"
	"github.com/saleassist-pipeline/pipeline/pkg/app/workerapp"
	"github.com/saleassist-pipeline/pipeline/pkg/queue"
	"github.com/saleassist-pipeline/pipeline/pkg/store/sqlite"
)

// Client names the programs give their NATS connections; the servers' connection lists show
// where each program is attached.
const (
	ingestConnName = "saleassist-ingest"
	workerConnName = "saleassist-worker"
)

// clusterBundle is the scaled-out pipeline: a 3-node JetStream cluster, the real cmd/ingest
// pointed at all three servers, and one real cmd/worker, both with replicas 3.
type clusterBundle struct {
	cluster *testkit.Cluster
	ingest  *testBundle
	worker  *clusterWorker
	db      string
	// js is the test's own connection to the cluster, for looking at streams and consumers.
	js jetstream.JetStream
}

// clusterWorker is one running cmd/worker program.
type clusterWorker struct {
	w      *workerapp.Program
	stderr *testkit.SyncBuffer
	closed bool
}

func (cw *clusterWorker) close(t *testing.T) {
	t.Helper()
	if !cw.closed {
		cw.closed = true
		require.NoError(t, cw.w.Close())
	}
}

func setupCluster(t *testing.T) *clusterBundle {
	t.Helper()
	c := testkit.StartCluster(t, 3)
	b := &clusterBundle{cluster: c, db: filepath.Join(t.TempDir(), "leads.db")}
	b.ingest = startIngest(t, t.TempDir(), nil, "-nats-url", c.URLs(), "-stream-replicas", "3")
	require.False(t, b.ingest.ingest.Standalone())
	b.worker = b.startWorker(t)

	nc, err := nats.Connect(c.URLs(), nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond))
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	b.js, err = jetstream.New(nc)
	require.NoError(t, err)
	return b
}

// startWorker runs the real cmd/worker program against every server of the cluster.
func (b *clusterBundle) startWorker(t *testing.T) *clusterWorker {
	t.Helper()
	cw := &clusterWorker{w: workerapp.New(), stderr: &testkit.SyncBuffer{}}
	cw.w.Env, cw.w.Stderr = envOf(map[string]string{"NATS_URL": b.cluster.URLs()}), cw.stderr
	require.NoError(t, cw.w.ParseFlags([]string{"-stream-replicas", "3", "-db", b.db, "-addr", "127.0.0.1:0", "-ack-wait", "3s"}))
	require.NoError(t, cw.w.Run(context.Background()))
	t.Cleanup(func() { cw.close(t) })
	return cw
}

// streamInfo waits until the stream has a leader and every replica is current, and returns its
// info.
func (b *clusterBundle) streamInfo(t *testing.T, name string) *jetstream.StreamInfo {
	t.Helper()
	var info *jetstream.StreamInfo
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		s, err := b.js.Stream(t.Context(), name)
		require.NoError(ct, err)
		info, err = s.Info(t.Context())
		require.NoError(ct, err)
		require.NotNil(ct, info.Cluster)
		require.NotEmpty(ct, info.Cluster.Leader)
		for _, r := range info.Cluster.Replicas {
			require.True(ct, r.Current, "replica %s of %s not current", r.Name, name)
		}
	}, 20*time.Second, 20*time.Millisecond, "stream %s", name)
	return info
}

// connServer returns the running server on which the one open connection named name sits, or
// nil when there is none (or, briefly, more than one).
func connServer(c *testkit.Cluster, name string) *server.Server {
	var found []*server.Server
	for _, s := range c.Running() {
		cz, err := s.Connz(&server.ConnzOptions{})
		if err != nil {
			return nil // shutting down
		}
		for _, ci := range cz.Conns {
			if ci.Name == name {
				found = append(found, s)
			}
		}
	}
	if len(found) != 1 {
		return nil
	}
	return found[0]
}

func awaitConnServer(t *testing.T, c *testkit.Cluster, name string) *server.Server {
	t.Helper()
	var s *server.Server
	require.Eventually(t, func() bool { s = connServer(c, name); return s != nil }, 10*time.Second, 10*time.Millisecond,
		"one open connection named %s", name)
	return s
}

// moveLeader asks the raft group behind api (a $JS.API.*.LEADER.STEPDOWN subject) to hand its
// leadership to the server named to, and waits until isLeader reports it.
func (b *clusterBundle) moveLeader(t *testing.T, api, to string, isLeader func() bool) {
	t.Helper()
	if isLeader() {
		return
	}
	body, err := json.Marshal(map[string]any{"placement": map[string]string{"preferred": to}})
	require.NoError(t, err)
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		if isLeader() {
			return
		}
		msg, err := b.js.Conn().Request(api, body, 2*time.Second)
		require.NoError(ct, err)
		var resp struct {
			Success bool `json:"success"`
			Error   *struct {
				Description string `json:"description"`
			} `json:"error"`
		}
		require.NoError(ct, json.Unmarshal(msg.Data, &resp), "%s", msg.Data)
		require.True(ct, resp.Success || isLeader(), "%s: %s", api, msg.Data)
		require.Eventually(ct, isLeader, 5*time.Second, 10*time.Millisecond)
	}, 30*time.Second, 100*time.Millisecond, "%s to %s", api, to)
}

// The scaled-out pipeline on a 3-node JetStream cluster: the ingest and a cmd/worker, both given
// every server's URL and -stream-replicas 3, create the events, quarantine and dead-letter streams
// with three replicas spread over the three servers, and 200 events posted are all stored.
func TestPipelineOnThreeNodeCluster(t *testing.T) {
	t.Parallel()
	b := setupCluster(t)

	var names []string
	for _, s := range b.cluster.Servers() {
		names = append(names, s.Name())
	}
	slices.Sort(names)
	for _, stream := range []string{queue.DefaultStream, queue.DefaultQuarantineStream, queue.DefaultDeadLetterStream} {
		info := b.streamInfo(t, stream)
		require.Equal(t, 3, info.Config.Replicas, "stream %s", stream)
		require.Len(t, info.Cluster.Replicas, 2, "stream %s: replicas besides the leader", stream)
		peers := []string{info.Cluster.Leader}
		for _, r := range info.Cluster.Replicas {
			require.True(t, r.Current, "stream %s: replica %s", stream, r.Name)
			require.False(t, r.Offline, "stream %s: replica %s", stream, r.Name)
			peers = append(peers, r.Name)
		}
		slices.Sort(peers)
		require.Equal(t, names, peers, "stream %s lives on every server", stream)
		require.Equal(t, b.cluster.StreamLeader(stream).Name(), info.Cluster.Leader)
	}
	cons, err := b.js.Consumer(t.Context(), queue.DefaultStream, queue.DefaultConsumer)
	require.NoError(t, err)
	ci, err := cons.Info(t.Context())
	require.NoError(t, err)
	require.NotNil(t, ci.Cluster)
	require.Len(t, ci.Cluster.Replicas, 2, "the shared consumer is replicated like its stream")

	const n = 200
	for i := range n {
		id := fmt.Sprintf("cluster-%d", i)
		a := b.ingest.post(t, variant(t, id, id+"@example.com", ""))
		require.Equal(t, id, a.EventID)
		require.False(t, a.Duplicate)
	}
	st, err := sqlite.Open(context.Background(), b.db)
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	c := awaitEvents(t, st, n)
	require.Equal(t, int64(n), c.Leads)
	for i := range n {
		_, err := st.Event(context.Background(), account.Default, fmt.Sprintf("cluster-%d", i))
		require.NoError(t, err)
	}
	require.Eventually(t, func() bool {
		ci, err := cons.Info(t.Context())
		return err == nil && ci.NumPending == 0 && ci.NumAckPending == 0
	}, 10*time.Second, 10*time.Millisecond, "the consumer is drained")
}

// clusterLoad posts unique events from several clients and records, per event id, when it was
// sent, when it was answered and how.
type clusterLoad struct {
	mu      sync.Mutex
	results []loadAnswer
}

// loadAnswer is the outcome of one request. status 0 is a transport error.
type loadAnswer struct {
	id          string
	sent, done  time.Time
	status      int
	retryAfter  bool
	wrongAnswer string // a 202 whose body is not the accepted answer for id
	message     string // the message of an error answer
}

func startClusterLoad(ctx context.Context, t *testing.T, url string, clients int, stop <-chan struct{}) (*clusterLoad, func()) {
	t.Helper()
	l := &clusterLoad{}
	base := variant(t, "cl-template", "cl-template@example.com", "")
	var seq atomic.Int64
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	for range clients {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				case <-ctx.Done():
					return
				default:
				}
				id := fmt.Sprintf("leaderloss-%d", seq.Add(1))
				body := bytes.Replace(base, []byte(`"cl-template"`), []byte(`"`+id+`"`), 1)
				body = bytes.Replace(body, []byte(`"cl-template@example.com"`), []byte(`"`+id+`@example.com"`), 1)
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url+"/webhooks/saleassist", bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-Webhook-Secret", testSecret)
				a := loadAnswer{id: id, sent: time.Now()}
				resp, err := client.Do(req)
				a.done = time.Now()
				if err == nil {
					a.status = resp.StatusCode
					a.retryAfter = resp.Header.Get("Retry-After") != ""
					var ans answer
					raw := new(bytes.Buffer)
					_, _ = raw.ReadFrom(resp.Body)
					_ = resp.Body.Close()
					err := json.Unmarshal(raw.Bytes(), &ans)
					if a.status == http.StatusAccepted {
						if err != nil || ans.EventID != id || ans.Duplicate || ans.Status != "accepted" {
							a.wrongAnswer = raw.String()
						}
					} else {
						a.message = ans.Error + ": " + ans.Message
					}
				}
				l.mu.Lock()
				l.results = append(l.results, a)
				l.mu.Unlock()
			}
		})
	}
	return l, func() { wg.Wait(); client.CloseIdleConnections() }
}

// acceptedSentSince counts 202 answers to requests sent at or after since.
func (l *clusterLoad) acceptedSentSince(since time.Time) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, a := range l.results {
		if a.status == http.StatusAccepted && !a.sent.Before(since) {
			n++
		}
	}
	return n
}

func (l *clusterLoad) snapshot() []loadAnswer {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.results)
}

// storedEventIDs reads every event id in the worker's SQLite file, with how often it occurs.
func storedEventIDs(ctx context.Context, db string) (map[string]int, error) {
	conn, err := sql.Open("sqlite3", "file:"+db+"?mode=ro&_busy_timeout=5000")
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	rows, err := conn.QueryContext(ctx, "SELECT event_id FROM events")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	ids := map[string]int{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids[id]++
	}
	return ids, rows.Err()
}

// The events stream's leader dies under load from 8 clients. The ingest, the worker and the
// events stream's and consumer's leaders are all placed on that server first, so both programs
// lose their NATS connection with it and must reconnect to a survivor (NATS_URL lists all three).
// A new leader is elected; requests in between may answer 503 (with Retry-After), never anything
// else; once 200 more are accepted the load stops, and every event answered 202 must be stored
// exactly once.
func TestStreamLeaderLossUnderLoad(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	deadline, _ := ctx.Deadline()
	remaining := func() time.Duration { return max(time.Until(deadline), time.Second) }
	t0 := time.Now()
	b := setupCluster(t)
	c := b.cluster

	// Put everything on the ingest's server: the events stream leader, the consumer leader, and the
	// worker's connection (a new worker connects to a random server; retry a few times).
	victim := awaitConnServer(t, c, ingestConnName)
	for attempt := 1; ; attempt++ {
		if awaitConnServer(t, c, workerConnName) == victim {
			break
		}
		if attempt == 6 {
			t.Logf("the worker's connection is not on the victim after %d tries; carrying on", attempt)
			break
		}
		b.worker.close(t)
		require.Eventually(t, func() bool {
			for _, s := range c.Running() {
				cz, err := s.Connz(&server.ConnzOptions{})
				if err != nil {
					return false
				}
				for _, ci := range cz.Conns {
					if ci.Name == workerConnName {
						return false
					}
				}
			}
			return true
		}, 10*time.Second, 10*time.Millisecond)
		b.worker = b.startWorker(t)
	}
	b.moveLeader(t, "$JS.API.STREAM.LEADER.STEPDOWN."+queue.DefaultStream, victim.Name(),
		func() bool { return c.StreamLeader(queue.DefaultStream) == victim })
	b.moveLeader(t, "$JS.API.CONSUMER.LEADER.STEPDOWN."+queue.DefaultStream+"."+queue.DefaultConsumer, victim.Name(),
		func() bool { return c.ConsumerLeader(queue.DefaultStream, queue.DefaultConsumer) == victim })
	ingestOnVictim := connServer(c, ingestConnName) == victim
	workerOnVictim := connServer(c, workerConnName) == victim
	t.Logf("%s: set up; victim %s leads the events stream and the consumer; ingest on it: %v, worker on it: %v",
		time.Since(t0).Round(time.Millisecond), victim.Name(), ingestOnVictim, workerOnVictim)

	stop := make(chan struct{})
	l, wait := startClusterLoad(ctx, t, b.ingest.url, 8, stop)
	stopped := false
	stopLoad := func() {
		if !stopped {
			stopped = true
			close(stop)
			wait()
		}
	}
	t.Cleanup(stopLoad)
	require.Eventually(t, func() bool { return l.acceptedSentSince(time.Time{}) >= 200 }, remaining(), 5*time.Millisecond,
		"200 events accepted before the leader loss")

	// The leader's machine dies. Watch for its successor while the load goes on.
	require.Equal(t, victim, c.StreamLeader(queue.DefaultStream), "the victim still leads the events stream")
	killed := time.Now()
	c.Shutdown(victim)
	shutdownTook := time.Since(killed)
	elected := make(chan time.Duration, 1)
	go func() {
		for ctx.Err() == nil {
			if c.StreamLeader(queue.DefaultStream) != nil {
				elected <- time.Since(killed)
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	require.Eventually(t, func() bool { return l.acceptedSentSince(killed) >= 200 }, remaining(), 5*time.Millisecond,
		"200 events accepted after the leader loss")
	stopLoad()
	var election time.Duration
	select {
	case election = <-elected:
	default:
		t.Fatal("the events stream has no leader although events were accepted")
	}
	newLeader := c.StreamLeader(queue.DefaultStream)
	require.NotNil(t, newLeader)
	require.NotEqual(t, victim.Name(), newLeader.Name())

	// Both programs are attached to a survivor.
	require.NotNil(t, awaitConnServer(t, c, ingestConnName), "the ingest is not connected to a surviving server")
	require.NotNil(t, awaitConnServer(t, c, workerConnName), "the worker is not connected to a surviving server")
	if ingestOnVictim {
		require.Contains(t, b.ingest.stderr.String(), "reconnected to NATS")
	}
	if workerOnVictim {
		require.Contains(t, b.worker.stderr.String(), "reconnected to NATS")
	}
	for _, u := range []string{b.ingest.url, "http://" + b.worker.w.Addr()} {
		require.Eventually(t, func() bool {
			resp, err := http.Get(u + "/readyz")
			if err != nil {
				return false
			}
			_ = resp.Body.Close()
			return resp.StatusCode == http.StatusOK
		}, remaining(), 20*time.Millisecond, "%s/readyz", u)
	}

	// Tally the answers.
	results := l.snapshot()
	accepted := map[string]bool{}
	notAccepted := map[string]string{} // id → why
	var before, after, unavailable, noRetryAfter, transport int
	var firstAfter, firstSentAfter time.Duration = -1, -1
	other := map[int]int{}
	for _, a := range results {
		switch a.status {
		case http.StatusAccepted:
			require.Empty(t, a.wrongAnswer, "202 for %s", a.id)
			accepted[a.id] = true
			if a.done.Before(killed) {
				before++
				break
			}
			after++
			if d := a.done.Sub(killed); firstAfter < 0 || d < firstAfter {
				firstAfter = d
			}
			if !a.sent.Before(killed) {
				if d := a.done.Sub(killed); firstSentAfter < 0 || d < firstSentAfter {
					firstSentAfter = d
				}
			}
		case http.StatusServiceUnavailable:
			unavailable++
			notAccepted[a.id] = a.message
			if !a.retryAfter {
				noRetryAfter++
			}
		case 0:
			transport++
			notAccepted[a.id] = "no answer"
		default:
			other[a.status]++
			notAccepted[a.id] = a.message
		}
	}
	require.Zero(t, noRetryAfter, "503 without Retry-After")
	require.Empty(t, other, "answers other than 202 and 503")
	require.Zero(t, transport, "requests the ingest did not answer")

	// Every event answered 202 is stored, once; the consumer ends with nothing outstanding.
	q := t.Context() // queries must not fail merely because the load's bound ran out
	require.Eventually(t, func() bool {
		ids, err := storedEventIDs(q, b.db)
		if err != nil {
			return false
		}
		for id := range accepted {
			if ids[id] == 0 {
				return false
			}
		}
		return true
	}, remaining(), 50*time.Millisecond, "every event answered 202 stored")
	cons, err := b.js.Consumer(q, queue.DefaultStream, queue.DefaultConsumer)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		ci, err := cons.Info(q)
		return err == nil && ci.NumPending == 0 && ci.NumAckPending == 0
	}, remaining(), 20*time.Millisecond, "the consumer is drained")
	ids, err := storedEventIDs(q, b.db)
	require.NoError(t, err)
	var missing, twice, ghosts []string
	for id := range accepted {
		if ids[id] == 0 {
			missing = append(missing, id)
		}
	}
	for id, n := range ids {
		if n > 1 {
			twice = append(twice, id)
		}
		if !accepted[id] {
			// Stored although not answered 202: a publish whose acknowledgement was lost with the
			// leader but that the new leader committed. The sender was told to retry; its retry
			// dedupes on the event id. Anything else stored is a bug.
			why, sent := notAccepted[id]
			require.True(t, sent, "event %s stored but never sent", id)
			ghosts = append(ghosts, id+" ("+why+")")
		}
	}
	require.Empty(t, missing, "events answered 202 but not stored")
	require.Empty(t, twice, "events stored more than once")
	st, err := sqlite.Open(q, b.db)
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	counts, err := st.Counts(q, account.Default)
	require.NoError(t, err)
	require.Equal(t, int64(len(accepted)+len(ghosts)), counts.Events)
	slices.Sort(ghosts)

	t.Logf("victim %s (ingest on it: %v, worker on it: %v) shut down in %s; new events stream leader %s after %s",
		victim.Name(), ingestOnVictim, workerOnVictim, shutdownTook.Round(time.Millisecond), newLeader.Name(), election.Round(time.Millisecond))
	t.Logf("202s: %d before the loss, %d after (%d in all); 503s: %d; first 202 after the loss %s, first 202 to a request sent after it %s",
		before, after, len(accepted), unavailable, firstAfter.Round(time.Millisecond), firstSentAfter.Round(time.Millisecond))
	t.Logf("stored %d events: every 202 once, plus %d answered 503 but stored all the same %q; test took %s",
		counts.Events, len(ghosts), ghosts, time.Since(t0).Round(time.Millisecond))
	require.Less(t, time.Since(t0), 60*time.Second+5*time.Second, "the test overran its bound")
}
