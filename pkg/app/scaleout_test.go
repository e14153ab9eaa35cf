package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/internal/testkit"
	"github.com/saleassist-pipeline/pipeline/pkg/account"
	"github.com/saleassist-pipeline/pipeline/pkg/queue"
	"github.com/saleassist-pipeline/pipeline/pkg/store"
)

// Three cmd/worker processes share the consumer, each with its own NATS connection and SQLite
// handle on one file; one is SIGKILLed mid-stream. 5,000 events are sent: 4,500 people, 250
// re-sends through the ingest (JetStream's duplicate window answers them duplicate:true) and 250
// re-published with a fresh Nats-Msg-Id, as after the window, right behind their originals so
// that two workers may hold the same event at once. Every event must be stored exactly once,
// including those the killed worker held unacknowledged (AckWait 2s redelivers them).
func TestThreeWorkerProcessesOneKilled(t *testing.T) {
	t.Parallel()
	bin := workerBinary(t)
	// Bounded, with room for a machine busy with other tests: the drain itself takes seconds.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	deadline, _ := ctx.Deadline()
	q := t.Context() // for queries, which must not fail merely because the bound ran out

	dir := t.TempDir()
	tb := startIngest(t, dir, nil, "-worker=false")
	natsURL := tb.ingest.EmbeddedNATSURL()
	require.NotEmpty(t, natsURL)
	procs := make([]*workerProc, 3)
	for i := range procs {
		procs[i] = startWorkerProc(ctx, t, fmt.Sprintf("worker-%d", i), bin,
			"-nats-url", natsURL, "-db", dir+"/leads.db", "-addr", "127.0.0.1:0",
			"-ack-wait", "2s", "-batch-size", "64")
	}
	victim, survivors := procs[0], procs[1:]
	st := tb.openStore(t)
	js := tb.js(t)

	const (
		unique      = 4500
		httpResends = 250 // re-posted through the ingest: dropped by the duplicate window
		jsResends   = 250 // re-published past the window: only the store's unique event id stops them
		killAfter   = 1500
		// holdAt is where the senders wait for the kill: however fast the workers store, and however
		// late a busy machine lets this test's goroutine look, the kill lands mid-stream.
		holdAt  = 2500
		posters = 16
	)
	ids := make([]string, unique)
	bodies := make([][]byte, unique)
	for i := range bodies {
		ids[i] = fmt.Sprintf("scaleout-%d", i)
		bodies[i] = variant(t, ids[i], fmt.Sprintf("scaleout%d@example.com", i), "")
	}

	type job struct {
		i  int
		js bool // publish straight to JetStream with a fresh Nats-Msg-Id
	}
	jobs := make(chan job)
	var dupAnswers, accepted, published atomic.Int64
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: posters}, Timeout: 30 * time.Second}
	t.Cleanup(client.CloseIdleConnections)
	var wg sync.WaitGroup
	for range posters {
		wg.Go(func() {
			for j := range jobs {
				if j.js {
					if err := republishPastWindow(ctx, js, ids[j.i], bodies[j.i]); err != nil {
						if ctx.Err() != nil {
							return // the test is ending
						}
						t.Errorf("re-publish %s: %v", ids[j.i], err)
						continue
					}
					published.Add(1)
					continue
				}
				code, a, err := postQuietly(ctx, client, tb.url, bodies[j.i])
				if err != nil || code != http.StatusAccepted {
					if ctx.Err() != nil {
						return
					}
					t.Errorf("post %s: %d %+v %v", ids[j.i], code, a, err)
					continue
				}
				accepted.Add(1)
				if a.Duplicate {
					dupAnswers.Add(1)
				}
			}
		})
	}
	start := time.Now()
	postingDone := make(chan struct{})
	killedCh := make(chan struct{})
	go func() {
		defer close(postingDone)
		defer close(jobs)
		send := func(j job) bool {
			select {
			case jobs <- j:
				return true
			case <-ctx.Done():
				return false
			}
		}
		for i := range bodies {
			if i == holdAt {
				select {
				case <-killedCh:
				case <-ctx.Done():
					return
				}
			}
			if !send(job{i: i}) {
				return
			}
			if i%18 == 8 && !send(job{i: i, js: true}) { // the same event again at once, past the broker's dedupe
				return
			}
			if i%18 == 17 && !send(job{i: i - 5}) { // a sender's retry of an event handed out earlier
				return
			}
		}
	}()
	// However the test ends, nothing it started keeps running (or logging) after it.
	defer func() {
		cancel()
		<-postingDone
		wg.Wait()
	}()

	// Kill one worker once the workers are well into the stream (the senders may or may not be
	// done by then: either way JetStream holds a backlog the workers are taking from).
	var atKill store.Counts
	var victimStored, ackPendingAtKill float64
	tick := time.NewTicker(5 * time.Millisecond)
	for killed := false; !killed; {
		select {
		case <-tick.C:
		case <-ctx.Done():
			require.FailNow(t, "timed out before the kill point")
		}
		c, err := st.Counts(q, account.Default)
		require.NoError(t, err)
		if c.Events <= killAfter {
			continue
		}
		victimStored = metricValue(t, scrape(t, victim.url()), scaleoutStoredSample)
		info, err := sharedConsumerInfo(q, js)
		require.NoError(t, err)
		ackPendingAtKill = float64(info.NumAckPending)
		victim.kill(t)
		close(killedCh)
		atKill, err = st.Counts(q, account.Default)
		require.NoError(t, err)
		killed = true
	}
	tick.Stop()
	require.Less(t, atKill.Events, int64(4000), "the kill must land mid-stream")
	require.Positive(t, victimStored, "the killed worker had been storing events")

	<-postingDone
	wg.Wait()
	postedIn := time.Since(start)
	require.False(t, t.Failed(), "sending failed")
	require.EqualValues(t, unique+httpResends, accepted.Load())
	require.EqualValues(t, httpResends, dupAnswers.Load(), "re-sends answered duplicate:true")
	require.EqualValues(t, jsResends, published.Load())

	// Drain: everything stored, nothing pending or held by the dead worker.
	drainStart := time.Now()
	pollUntil(t, time.Until(deadline), func() (bool, string, error) {
		c, err := st.Counts(q, account.Default)
		return c.Events >= unique, fmt.Sprintf("%d of %d events stored", c.Events, unique), err
	})
	var info *jetstream.ConsumerInfo
	pollUntil(t, time.Until(deadline), func() (bool, string, error) {
		var err error
		if info, err = sharedConsumerInfo(q, js); err != nil {
			return false, "", err
		}
		return info.NumPending == 0 && info.NumAckPending == 0,
			fmt.Sprintf("consumer: %d pending, %d ack pending", info.NumPending, info.NumAckPending), nil
	})
	drained := time.Since(drainStart)

	// Exactly once: as many events and leads as people, each event under its own id and lead.
	c, err := st.Counts(q, account.Default)
	require.NoError(t, err)
	require.EqualValues(t, unique, c.Events, "events stored")
	require.EqualValues(t, unique, c.Leads, "leads")
	leadOf := make(map[int64]string, unique)
	for _, id := range ids {
		ev, err := st.Event(q, account.Default, id)
		require.NoError(t, err, "event %s", id)
		require.Equal(t, id, ev.EventID)
		require.NotZero(t, ev.LeadID, "event %s has no lead", id)
		other, seen := leadOf[ev.LeadID]
		require.False(t, seen, "events %s and %s share lead %d", id, other, ev.LeadID)
		leadOf[ev.LeadID] = id
	}
	require.EqualValues(t, unique+jsResends, info.Delivered.Stream, "every message reached the consumer")

	// The survivors' own accounts agree with the store: what they stored plus what the dead
	// worker stored is every event, and each of them did a share of the work.
	var survivorsStored, dups, redelivered float64
	perWorker := []float64{victimStored}
	for _, p := range survivors {
		text := scrape(t, p.url())
		s := metricValue(t, text, scaleoutStoredSample)
		require.Positive(t, s, "%s stored nothing", p.name)
		perWorker = append(perWorker, s)
		survivorsStored += s
		dups += metricValue(t, text, `saleassist_worker_events_total{account="default",event_type="widget_new_conversation",outcome="duplicate"}`)
		redelivered += metricValue(t, text, "saleassist_worker_redeliveries_total")
	}
	require.LessOrEqual(t, victimStored, unique-survivorsStored,
		"the killed worker's last report exceeds what the store holds beyond the survivors' events")
	for _, p := range survivors {
		p.stop(t)
	}

	t.Logf("%d messages (%d unique, %d re-posted, %d re-published) sent by %d posters in %s (%.0f/s)",
		unique+httpResends+jsResends, unique, httpResends, jsResends, posters, postedIn.Round(time.Millisecond),
		float64(unique+httpResends+jsResends)/postedIn.Seconds())
	t.Logf("SIGKILLed %s at %d stored events (consumer ack pending %.0f; it had reported %.0f stored)",
		victim.name, atKill.Events, ackPendingAtKill, victimStored)
	t.Logf("drained %s after the last send; stored per worker [victim at kill, survivors]: %v; "+
		"survivors saw %.0f duplicates, %.0f redeliveries", drained.Round(time.Millisecond), perWorker, dups, redelivered)
}

const scaleoutStoredSample = `saleassist_worker_events_total{account="default",event_type="widget_new_conversation",outcome="stored"}`

// sharedConsumerInfo returns the shared durable consumer's state.
func sharedConsumerInfo(ctx context.Context, js jetstream.JetStream) (*jetstream.ConsumerInfo, error) {
	c, err := js.Consumer(ctx, queue.DefaultStream, queue.DefaultConsumer)
	if err != nil {
		return nil, err
	}
	return c.Info(ctx)
}

// pollUntil polls cond on the test's goroutine until it holds, fails, or within has passed; cond
// also describes the state it saw, for the failure message.
func pollUntil(t *testing.T, within time.Duration, cond func() (done bool, state string, err error)) {
	t.Helper()
	deadline := time.Now().Add(within)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		ok, state, err := cond()
		require.NoError(t, err, state)
		if ok {
			return
		}
		require.True(t, time.Now().Before(deadline), "still not done after %s: %s", within, state)
		<-tick.C
	}
}

// republishPastWindow publishes body again as the event id, under a fresh Nats-Msg-Id: a re-send
// after the broker's duplicate window, which only the store's unique event id can stop.
func republishPastWindow(ctx context.Context, js jetstream.JetStream, id string, body []byte) error {
	return publishEventMsg(ctx, js, id, "resend-"+id, body, time.Now())
}

// publishEventMsg publishes an event message the way the ingest does, with the given message id
// and arrival time.
func publishEventMsg(ctx context.Context, js jetstream.JetStream, eventID, msgID string, body []byte, receivedAt time.Time) error {
	m := &nats.Msg{Subject: queue.DefaultSubjectPrefix + ".widget_new_conversation", Data: body, Header: nats.Header{}}
	m.Header.Set(nats.MsgIdHdr, msgID)
	m.Header.Set(queue.HeaderEventID, eventID)
	m.Header.Set(queue.HeaderEventType, "widget_new_conversation")
	m.Header.Set(queue.HeaderReceivedAt, receivedAt.UTC().Format(time.RFC3339Nano))
	ack, err := js.PublishMsg(ctx, m)
	if err != nil {
		return err
	}
	if ack.Duplicate {
		return errors.New("JetStream took the message for a duplicate")
	}
	return nil
}

// postQuietly posts body to the ingest without failing the test, so it can run on any goroutine.
func postQuietly(ctx context.Context, client *http.Client, url string, body []byte) (int, answer, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/webhooks/saleassist", bytes.NewReader(body))
	if err != nil {
		return 0, answer{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Webhook-Secret", testSecret)
	resp, err := client.Do(req)
	if err != nil {
		return 0, answer{}, err
	}
	defer resp.Body.Close()
	var a answer
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		return resp.StatusCode, a, fmt.Errorf("decode answer: %w", err)
	}
	return resp.StatusCode, a, nil
}

// personEvent is the fixture as event id for email, with its payload and people_detail edited.
func personEvent(t *testing.T, id, email string, edit func(payload, people map[string]any)) []byte {
	t.Helper()
	doc := testkit.Document(t, testkit.Fixture(t))
	p := doc["payload"].(map[string]any)
	p["id"] = id
	pd := p["people_detail"].(map[string]any)
	pd["email"] = email
	edit(p, pd)
	b, err := json.Marshal(doc)
	require.NoError(t, err)
	return b
}

// awaitEventStored waits until the event is stored and returns it.
func awaitEventStored(t *testing.T, st store.Store, id string) *store.StoredEvent {
	t.Helper()
	var ev *store.StoredEvent
	pollUntil(t, 30*time.Second, func() (bool, string, error) {
		var err error
		ev, err = st.Event(context.Background(), account.Default, id)
		if errors.Is(err, store.ErrNotFound) {
			return false, "event " + id + " not stored", nil
		}
		return err == nil, "event " + id, err
	})
	return ev
}

// An older event processed after a newer one for the same person only fills the gaps the newer
// one left: SaleAssist's own time (payload.updated_on, else created_on, else arrival) decides.
// The order is made certain by awaiting the first event in the store before sending the second.
func TestOutOfOrderDeliveryKeepsNewerValues(t *testing.T) {
	t.Parallel()
	const base = int64(1720694558068) // the fixture's payload.updated_on

	stamps := map[string]func(p map[string]any, ms int64){
		"updated_on decides": func(p map[string]any, ms int64) {
			p["updated_on"], p["created_on"] = ms, base-3_600_000 // the same creation time
		},
		"created_on decides without updated_on": func(p map[string]any, ms int64) {
			delete(p, "updated_on")
			p["created_on"] = ms
		},
	}
	for name, stamp := range stamps {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			tb := setup(t)
			st := tb.openStore(t)
			const email = "late@example.com"
			newer := personEvent(t, "ooo-newer", email, func(p, pd map[string]any) {
				stamp(p, base+60_000)
				pd["name"], pd["widget_city"] = "New Name", "New City"
				delete(pd, "address")
			})
			older := personEvent(t, "ooo-older", email, func(p, pd map[string]any) {
				stamp(p, base)
				pd["name"], pd["widget_city"], pd["address"] = "Old Name", "Old City", "Only In Old"
			})

			tb.post(t, newer)
			first := awaitEventStored(t, st, "ooo-newer")
			tb.post(t, older)
			second := awaitEventStored(t, st, "ooo-older")

			l, err := st.LeadByEmail(context.Background(), account.Default, email)
			require.NoError(t, err)
			require.Equal(t, "New Name", l.Name, "the older event overwrote the name")
			require.Equal(t, "New City", l.City, "the older event overwrote the city")
			require.Equal(t, "Only In Old", l.Address, "the older event fills a gap")
			require.True(t, l.SeenAt.Equal(time.UnixMilli(base+60_000)), "seen_at %s", l.SeenAt)
			require.Equal(t, l.ID, first.LeadID)
			require.Equal(t, l.ID, second.LeadID, "both events belong to one lead")
			c, err := st.Counts(context.Background(), account.Default)
			require.NoError(t, err)
			require.EqualValues(t, 1, c.Leads)
		})
	}

	// Without SaleAssist's times, arrival decides: a later arrival wins, and an event that arrived
	// earlier but is delivered last (published with its earlier arrival time, as a redelivery
	// after a crash would be) only fills gaps.
	t.Run("arrival decides without SaleAssist times", func(t *testing.T) {
		t.Parallel()
		tb := setup(t)
		st := tb.openStore(t)
		const email = "arrival@example.com"
		noStamps := func(p map[string]any) { delete(p, "updated_on"); delete(p, "created_on") }
		first := personEvent(t, "arr-first", email, func(p, pd map[string]any) {
			noStamps(p)
			pd["name"], pd["widget_city"] = "First Name", "First City"
			delete(pd, "address")
			delete(pd, "pincode")
		})
		second := personEvent(t, "arr-second", email, func(p, pd map[string]any) {
			noStamps(p)
			pd["name"], pd["widget_city"], pd["address"] = "Second Name", "Second City", "Second Address"
			delete(pd, "pincode")
		})
		early := personEvent(t, "arr-early", email, func(p, pd map[string]any) {
			noStamps(p)
			pd["name"], pd["widget_city"], pd["address"], pd["pincode"] = "Early Name", "Early City", "Early Address", "110001"
		})

		tb.post(t, first)
		ev1 := awaitEventStored(t, st, "arr-first")
		tb.post(t, second)
		ev2 := awaitEventStored(t, st, "arr-second")
		require.True(t, ev2.ReceivedAt.After(ev1.ReceivedAt))
		l, err := st.LeadByEmail(context.Background(), account.Default, email)
		require.NoError(t, err)
		require.Equal(t, "Second Name", l.Name, "the later arrival wins")
		require.Equal(t, "Second City", l.City)
		require.Equal(t, "Second Address", l.Address)
		require.Empty(t, l.Pincode)
		require.True(t, l.SeenAt.Equal(ev2.ReceivedAt), "seen_at %s, arrival %s", l.SeenAt, ev2.ReceivedAt)

		earlier := ev1.ReceivedAt.Add(-time.Minute)
		require.NoError(t, publishEventMsg(context.Background(), tb.js(t), "arr-early", "arr-early", early, earlier))
		ev3 := awaitEventStored(t, st, "arr-early")
		require.True(t, ev3.ReceivedAt.Equal(earlier), "received_at %s", ev3.ReceivedAt)
		l, err = st.LeadByEmail(context.Background(), account.Default, email)
		require.NoError(t, err)
		require.Equal(t, "Second Name", l.Name, "an earlier arrival delivered last overwrote the name")
		require.Equal(t, "Second City", l.City)
		require.Equal(t, "Second Address", l.Address)
		require.Equal(t, "110001", l.Pincode, "the earlier arrival fills a gap")
		require.True(t, l.SeenAt.Equal(ev2.ReceivedAt), "seen_at %s", l.SeenAt)
		for _, ev := range []*store.StoredEvent{ev1, ev2, ev3} {
			require.Equal(t, l.ID, ev.LeadID, "event %s", ev.EventID)
		}
	})
}
