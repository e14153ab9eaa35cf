package app_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/internal/testkit"
	"github.com/saleassist-pipeline/pipeline/pkg/account"
	"github.com/saleassist-pipeline/pipeline/pkg/queue"
)

// The fixture in → one lead with the right fields, one event, one meeting.
func TestFixtureBecomesOneLead(t *testing.T) {
	t.Parallel()
	tb := setup(t)
	a := tb.post(t, testkit.Fixture(t))
	require.Equal(t, answer{Status: "accepted", EventID: testkit.FixtureID}, a)

	st := tb.openStore(t)
	c := awaitEvents(t, st, 1)
	require.EqualValues(t, 1, c.Leads)
	require.EqualValues(t, 1, c.Meetings)

	ctx := context.Background()
	l, err := st.LeadByEmail(ctx, account.Default, "prakashm@athenabpo.in")
	require.NoError(t, err)
	require.Equal(t, "Prakash Mudhaliyar", l.Name)
	require.Equal(t, "+910987654321", l.MobileNumber, "kept as sent: not a valid Indian number")
	require.Equal(t, "+918765875687", l.AltPhone)
	require.Equal(t, "Thane", l.Address)
	require.Equal(t, "400615", l.Pincode)
	require.Equal(t, "Faridabad", l.City)
	require.Equal(t, "Haryana", l.State)
	require.Equal(t, "India", l.Country)
	require.Equal(t, "Test", l.UTMCampaign)
	require.Equal(t, "Water Purifier", l.ProductCategory)
	require.Equal(t, "9d438aaa-1eaa-496a-a8b3-b4f98367bb0d", l.SourceID)
	require.JSONEq(t, `28.4098`, string(l.Attributes["widget_latitude"]))
	require.JSONEq(t, `"N1"`, string(l.Attributes["extra1"]))

	ev, err := st.Event(ctx, account.Default, a.EventID)
	require.NoError(t, err)
	require.Equal(t, "widget_new_conversation", ev.EventType)
	require.Equal(t, l.ID, ev.LeadID)
	require.Empty(t, ev.Invalid)
	require.JSONEq(t, string(testkit.Fixture(t)), string(ev.Payload), "payload kept as received")
}

// The same event posted 3 times → one event, one lead; later answers say duplicate.
func TestSameEventThreeTimesIsStoredOnce(t *testing.T) {
	t.Parallel()
	tb := setup(t)
	body := variant(t, "evt-dup-1", "dup@example.com", "9876543210")
	var dups []bool
	for range 3 {
		dups = append(dups, tb.post(t, body).Duplicate)
	}
	require.Equal(t, []bool{false, true, true}, dups)
	// A later, distinct event proves the worker has caught up past any copy of the first.
	tb.post(t, variant(t, "evt-dup-2", "other@example.com", "9876500000"))
	c := awaitEvents(t, tb.openStore(t), 2)
	require.EqualValues(t, 2, c.Leads)
}

// Two events for one email (written differently) → one lead with both events.
func TestTwoEventsForOneEmailMakeOneLead(t *testing.T) {
	t.Parallel()
	tb := setup(t)
	tb.post(t, variant(t, "evt-a", "Same.Person@Example.com", "09876543210"))
	tb.post(t, variant(t, "evt-b", "  same.person@example.com ", "+91 98765 43210"))
	st := tb.openStore(t)
	c := awaitEvents(t, st, 2)
	require.EqualValues(t, 1, c.Leads)
	l, err := st.LeadByEmail(context.Background(), account.Default, "same.person@example.com")
	require.NoError(t, err)
	require.Equal(t, "+919876543210", l.MobileNumber)
	for _, id := range []string{"evt-a", "evt-b"} {
		ev, err := st.Event(context.Background(), account.Default, id)
		require.NoError(t, err)
		require.Equal(t, l.ID, ev.LeadID, id)
	}
}

// Unknown event types are stored and acked, never dropped; one carrying people_detail still
// records the person.
func TestUnknownEventTypesAreKept(t *testing.T) {
	t.Parallel()
	tb := setup(t)
	withPerson := `{"event_type":"lead.updated v2","payload":{"id":"u-1","people_detail":{"name":"Asha","email":"asha@example.com"}},"metadata":{}}`
	bare := `{"event_type":"video_tile_click","payload":{"id":"u-2","tile":"t-9"}}`
	tb.post(t, []byte(withPerson))
	tb.post(t, []byte(bare))
	st := tb.openStore(t)
	c := awaitEvents(t, st, 2)
	require.EqualValues(t, 1, c.Leads)

	ctx := context.Background()
	l, err := st.LeadByEmail(ctx, account.Default, "asha@example.com")
	require.NoError(t, err)
	ev, err := st.Event(ctx, account.Default, "u-1")
	require.NoError(t, err)
	require.Equal(t, "lead.updated v2", ev.EventType, "original type kept, not the subject-safe one")
	require.Equal(t, l.ID, ev.LeadID)
	ev, err = st.Event(ctx, account.Default, "u-2")
	require.NoError(t, err)
	require.Zero(t, ev.LeadID)

	requireConsumerSettled(t, tb)
	metrics := scrape(t, tb.url)
	require.Contains(t, metrics, `saleassist_worker_events_total{account="default",event_type="other",outcome="unknown_type"} 2`)
}

// An event that fails its schema is not stored: it goes to the dead-letter stream, with the
// validation error, for an operator to inspect and replay.
func TestSchemaInvalidEventIsDeadLettered(t *testing.T) {
	t.Parallel()
	tb := setup(t)
	body := `{"event_type":"widget_new_conversation","payload":{"id":"bad-1","people_detail":"not an object"}}`
	tb.post(t, []byte(body))
	js := tb.js(t)
	require.Eventually(t, func() bool {
		s, err := js.Stream(context.Background(), queue.DefaultDeadLetterStream)
		if err != nil {
			return false
		}
		info, err := s.Info(context.Background())
		require.NoError(t, err)
		return info.State.Msgs == 1
	}, 10*time.Second, 10*time.Millisecond)
	s, err := js.Stream(context.Background(), queue.DefaultDeadLetterStream)
	require.NoError(t, err)
	m, err := s.GetLastMsgForSubject(context.Background(), queue.DefaultDeadLetterSubject)
	require.NoError(t, err)
	require.Equal(t, "invalid", m.Header.Get(queue.HeaderDLQReason))
	require.Contains(t, m.Header.Get(queue.HeaderDLQError), "/payload/people_detail")
	require.Equal(t, body, string(m.Data))
	consumerInfo(t, tb)
	c, err := tb.openStore(t).Counts(context.Background(), account.Default)
	require.NoError(t, err)
	require.Zero(t, c.Events)
	require.Contains(t, scrape(t, tb.url), `saleassist_worker_events_total{account="default",event_type="widget_new_conversation",outcome="invalid"} 1`)
}

// Wrong or missing secret → 401 and nothing published: a valid event sent afterwards is the only
// one that reaches the store.
func TestWrongSecretPublishesNothing(t *testing.T) {
	t.Parallel()
	tb := setup(t)
	code, a := post(t, tb.url, "not-the-secret-at-all", variant(t, "sneaky-1", "x@example.com", ""))
	require.Equal(t, http.StatusUnauthorized, code)
	require.Equal(t, "unauthorized", a.Error)
	require.Contains(t, a.Message, "X-Webhook-Secret")
	code, _ = post(t, tb.url, "", variant(t, "sneaky-2", "y@example.com", ""))
	require.Equal(t, http.StatusUnauthorized, code)

	tb.post(t, variant(t, "honest-1", "z@example.com", ""))
	st := tb.openStore(t)
	awaitEvents(t, st, 1)
	_, err := st.Event(context.Background(), account.Default, "honest-1")
	require.NoError(t, err)
	metrics := scrape(t, tb.url)
	require.Contains(t, metrics, `saleassist_ingest_requests_total{account="default",code="401"} 2`)
	require.Contains(t, metrics, `saleassist_ingest_auth_failures_total{account="default",reason="mismatch"} 1`)
	require.Contains(t, metrics, `saleassist_ingest_auth_failures_total{account="default",reason="missing"} 1`)
}

// scrape returns the /metrics text of a server.
func scrape(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	return readAll(t, resp)
}

// requireConsumerSettled waits until the worker metrics report nothing pending or unacked.
func requireConsumerSettled(t *testing.T, tb *testBundle) {
	t.Helper()
	info := consumerInfo(t, tb)
	require.Zero(t, info.NumAckPending, "unacked messages")
	require.Zero(t, info.NumPending, "undelivered messages")
}

// MAX_CLOCK_SKEW (-max-clock-skew) reaches the worker's mapper: with 1h, a SaleAssist time two
// hours ahead of arrival is not believed, and the stored event says so.
func TestMaxClockSkewIsConfigurable(t *testing.T) {
	t.Parallel()
	tb := setup(t, "-max-clock-skew", "1h")
	doc := testkit.Document(t, testkit.Fixture(t))
	p := doc["payload"].(map[string]any)
	p["id"] = "skew-1"
	p["updated_on"] = time.Now().Add(2 * time.Hour).UnixMilli()
	body, err := json.Marshal(doc)
	require.NoError(t, err)
	tb.post(t, body)
	st := tb.openStore(t)
	awaitEvents(t, st, 1)
	ev, err := st.Event(context.Background(), account.Default, "skew-1")
	require.NoError(t, err)
	require.Contains(t, ev.Invalid, "more than MAX_CLOCK_SKEW (1h0m0s) after arrival")
	l, err := st.Lead(context.Background(), account.Default, ev.LeadID)
	require.NoError(t, err)
	require.WithinDuration(t, ev.ReceivedAt, l.SeenAt, time.Second, "ordered by arrival")
}
