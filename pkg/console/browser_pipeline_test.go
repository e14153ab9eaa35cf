package console_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/internal/testkit"
	"github.com/saleassist-pipeline/pipeline/pkg/account"
	"github.com/saleassist-pipeline/pipeline/pkg/app/ingestapp"
	"github.com/saleassist-pipeline/pipeline/pkg/queue"
	"github.com/saleassist-pipeline/pipeline/pkg/store"
	"github.com/saleassist-pipeline/pipeline/pkg/store/storeurl"
)

const (
	webhookSecret = "browser-test-webhook-secret-0123"
	adminToken    = "browser-test-admin-token-0123456789"
	evilName      = `<img src=x onerror=alert(1)>`
)

// standalone is the real standalone cmd/ingest (embedded JetStream, in-process worker, SQLite or
// the PostgreSQL database of DATABASE_URL) serving the console, as `go run ./cmd/ingest` does,
// on random ports.
type standalone struct {
	ingest  *ingestapp.Program
	console string // base URL
	dataDir string
	store   store.Store
	js      jetstream.JetStream
}

// startPipeline starts the pipeline on dbURL, its DATABASE_URL; empty is the data directory's
// SQLite file.
func startPipeline(t *testing.T, dbURL string) *standalone {
	t.Helper()
	p := &standalone{dataDir: t.TempDir()}
	m := ingestapp.New()
	env := map[string]string{"WEBHOOK_SECRETS": webhookSecret, "ADMIN_TOKEN": adminToken}
	if dbURL != "" {
		env["DATABASE_URL"] = dbURL
	} else {
		dbURL = filepath.Join(p.dataDir, "leads.db")
	}
	m.Env = func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	m.Stdout, m.Stderr = &testkit.SyncBuffer{}, &testkit.SyncBuffer{}
	require.NoError(t, m.ParseFlags([]string{"-addr", "127.0.0.1:0", "-data-dir", p.dataDir,
		"-embedded-nats-addr", "127.0.0.1:0", "-console-addr", "127.0.0.1:0", "-stream-max-bytes", "67108864"}))
	require.NoError(t, m.Run(context.Background()))
	t.Cleanup(func() { require.NoError(t, m.Close()) })
	p.ingest = m
	p.console = strings.TrimSuffix(m.ConsoleURL(), "/signin")
	var err error
	p.store, err = storeurl.Open(context.Background(), dbURL, storeurl.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.store.Close() })
	nc, err := nats.Connect(m.EmbeddedNATSURL())
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	p.js, err = jetstream.New(nc)
	require.NoError(t, err)
	return p
}

// post sends a webhook as SaleAssist does.
func (p *standalone) post(t *testing.T, body []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, "http://"+p.ingest.Addr()+"/webhooks/saleassist", bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Webhook-Secret", webhookSecret)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusAccepted, resp.StatusCode)
}

// awaitEvent waits until the worker has stored the event.
func (p *standalone) awaitEvent(t *testing.T, id string) *store.StoredEvent {
	t.Helper()
	var ev *store.StoredEvent
	require.Eventually(t, func() bool {
		var err error
		ev, err = p.store.Event(context.Background(), account.Default, id)
		return err == nil
	}, 20*time.Second, 20*time.Millisecond, "event %s never stored", id)
	return ev
}

// deadLetter puts an event on the dead-letter stream as a worker does when it gave up on it
// (max_deliver: say the database was locked for longer than its retries), so that replaying
// it stores it.
func (p *standalone) deadLetter(t *testing.T, eventID string, body []byte) uint64 {
	t.Helper()
	cfg := queue.DefaultConfig()
	h := nats.Header{}
	h.Set(queue.HeaderEventID, eventID)
	h.Set(queue.HeaderEventType, "widget_new_conversation")
	h.Set(queue.HeaderDLQReason, "max_deliver")
	h.Set(queue.HeaderDLQError, "store: database is locked")
	h.Set(queue.HeaderDLQSubject, cfg.Subject("", "widget_new_conversation"))
	h.Set(queue.HeaderDLQFirstFailure, time.Now().UTC().Format(time.RFC3339Nano))
	ack, err := p.js.PublishMsg(context.Background(), &nats.Msg{Subject: cfg.DeadLetterSubject, Header: h, Data: body})
	require.NoError(t, err)
	return ack.Sequence
}

// The console in a real browser against the real pipeline: sign in, find a lead by a phone
// written differently, open it and see its events, replay a dead letter by clicking and see it
// stored, and markup in a lead's name shown as text with no script run.
func TestConsoleInBrowser(t *testing.T) {
	t.Parallel()
	consoleInBrowser(t, "")
}

// The same in a real browser over PostgreSQL (DATABASE_URL=postgres://…), through the
// TEST_DATABASE_URL gate.
func TestConsoleInBrowserOnPostgres(t *testing.T) {
	t.Parallel()
	consoleInBrowser(t, testkit.FreshPostgres(t))
}

// consoleInBrowser is TestConsoleInBrowser over the store of dbURL (empty: SQLite). The
// screenshots in docs/ are SQLite's alone, so two runs never write one file.
func consoleInBrowser(t *testing.T, dbURL string) {
	b := newBrowser(t, 1280, 860)
	p := startPipeline(t, dbURL)
	screenshot := func(t *testing.T, name string) {
		if dbURL == "" {
			b.screenshot(t, name)
		}
	}
	p.post(t, person("br-1", "Asha Rao", "asha.rao@example.com", "+919876543210"))
	p.post(t, person("br-2", "Asha Rao", "asha.rao@example.com", ""))
	p.post(t, person("br-3", evilName, "x@example.com", "9000000001"))
	p.post(t, testkit.Fixture(t))
	for i, name := range []string{"Meera Iyer", "Karan Shah", "Fatima Khan", "Rohit Verma"} {
		p.post(t, person(fmt.Sprintf("br-more-%d", i), name, strings.ToLower(strings.Fields(name)[0])+"@example.com", fmt.Sprintf("98200000%02d", i)))
	}
	p.awaitEvent(t, "br-more-3")
	p.awaitEvent(t, testkit.FixtureID)

	b.signIn(t, p.console, adminToken)
	screenshot(t, "console.png")

	t.Run("search by a phone written differently, open the lead, see its events", func(t *testing.T) {
		b.do(t,
			chromedp.SetValue(chromedp.CSS("#q"), "098765 43210"),
			chromedp.Click(chromedp.CSS("#search")),
			chromedp.WaitVisible(chromedp.CSS("#searched")),
		)
		require.Contains(t, b.text(t, "#searched"), "phone")
		require.Equal(t, 1, b.count(t, "#leads tbody a.lead-link"))
		require.Equal(t, "Asha Rao", b.text(t, "#leads a.lead-link"))
		b.do(t, chromedp.Click(chromedp.CSS("#leads a.lead-link")), chromedp.WaitVisible(chromedp.CSS("#history")))
		require.Equal(t, "+91 98765 43210", b.text(t, "#lead-phone"))
		history := b.text(t, "#history")
		require.Contains(t, history, "br-1")
		require.Contains(t, history, "br-2")
		require.Less(t, strings.Index(history, "br-1"), strings.Index(history, "br-2"), "oldest first")
		b.do(t, chromedp.Click(chromedp.CSS("#history details summary")), chromedp.WaitVisible(chromedp.CSS("#history details pre")))
		require.Contains(t, b.text(t, "#history details pre"), `"people_detail"`)
		screenshot(t, "console-lead.png")
		b.do(t, chromedp.Click(chromedp.CSS("#history a.event-link")), chromedp.WaitVisible(chromedp.CSS("#payload")))
		require.Equal(t, "br-1", b.text(t, "#event-id"))
	})

	t.Run("markup in a lead's name is text, and no script runs", func(t *testing.T) {
		b.do(t, chromedp.Navigate(p.console+"/?q="+url.QueryEscape("9000000001")), chromedp.WaitVisible(chromedp.CSS("#leads")))
		require.Equal(t, evilName, b.text(t, "#leads a.lead-link"))
		b.noImages(t, "#leads")
		b.do(t, chromedp.Click(chromedp.CSS("#leads a.lead-link")), chromedp.WaitVisible(chromedp.CSS("#lead-name")))
		require.Equal(t, evilName, b.text(t, "#lead-name"))
		b.noImages(t, "main")
		b.do(t, chromedp.Navigate(p.console+"/?q="+url.QueryEscape(evilName)), chromedp.WaitVisible(chromedp.CSS("#leads")))
		require.Equal(t, evilName, b.text(t, "#leads a.lead-link"), "found by the name itself, which the search box echoes as text")
		b.noImages(t, "body")
		require.Zero(t, b.dialogs.Load(), "a JavaScript dialog opened")
	})

	t.Run("replay a dead letter by clicking, and see it stored", func(t *testing.T) {
		id := p.deadLetter(t, "br-dead-1", person("br-dead-1", "Dev Patel", "dev@example.com", "9811111111"))
		btn := fmt.Sprintf("#replay-dl-%d", id)
		b.do(t, chromedp.Navigate(p.console+"/deadletters"), chromedp.WaitVisible(chromedp.CSS(btn)))
		require.Contains(t, b.text(t, "#deadletters"), "br-dead-1")
		b.do(t, chromedp.Click(chromedp.CSS(btn)), chromedp.WaitVisible(chromedp.CSS("#flash")))
		require.Contains(t, b.text(t, "#flash"), "Replayed dead letter")
		require.Contains(t, b.text(t, "#deadletters"), "No dead letters.")
		ev := p.awaitEvent(t, "br-dead-1")
		require.NotZero(t, ev.LeadID)
		b.do(t, chromedp.Navigate(p.console+"/events/br-dead-1"), chromedp.WaitVisible(chromedp.CSS("#payload")))
		require.Equal(t, "widget_new_conversation", b.text(t, "#event-type"))
		require.Equal(t, "Dev Patel", b.text(t, "#event-lead"), "the event names its lead")
	})

	t.Run("schema explorer and mapping preview", func(t *testing.T) {
		b.do(t, chromedp.Navigate(p.console+"/schema/widget_new_conversation"), chromedp.WaitVisible(chromedp.CSS("#fields")))
		fields := b.text(t, "#fields")
		require.Contains(t, fields, "payload.people_detail.email")
		require.NotContains(t, fields, "asha.rao@example.com", "emails are masked")
		b.do(t, chromedp.Click(chromedp.CSS("#preview")), chromedp.WaitVisible(chromedp.CSS("#preview-leads")))
		require.Contains(t, b.text(t, "#preview-leads"), "asha.rao@example.com")
		screenshot(t, "console-schema.png")
		b.do(t, chromedp.Navigate(p.console+"/stats"), chromedp.WaitVisible(chromedp.CSS("#chart")))
		screenshot(t, "console-stats.png")
	})
	require.Zero(t, b.dialogs.Load())
}
