package storecopy_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline"
	"github.com/saleassist-pipeline/pipeline/internal/testkit"
	"github.com/saleassist-pipeline/pipeline/pkg/app/ingestapp"
	"github.com/saleassist-pipeline/pipeline/pkg/store"
	"github.com/saleassist-pipeline/pipeline/pkg/store/postgres"
	"github.com/saleassist-pipeline/pipeline/pkg/store/sqlite"
	"github.com/saleassist-pipeline/pipeline/pkg/store/storecopy"
)

const secret = "storecopy-test-secret-0123456789"

// otherAccount is the account besides the default one in the source.
const otherAccount = "brand-a"

// source is a SQLite store built by the real pipeline, and what was sent to it.
type source struct {
	path     string
	eventIDs []string
	emails   []string
}

// buildSource runs a standalone ingest (embedded JetStream, in-process worker, SQLite) on a
// temporary data directory, posts webhooks to it, waits until the worker stored them all and
// stops it. The events: several people (a Unicode name and attribute among them), a second event
// for one person (a merge), meetings, an event of an unknown type (no lead), one stored invalid
// (a latitude out of range). Then two events the HTTP path cannot carry are applied directly:
// a payload of bytes that are not UTF-8 (with a NUL), and an empty one.
func buildSource(t *testing.T) source {
	t.Helper()
	dir := t.TempDir()
	m := ingestapp.New()
	env := map[string]string{"WEBHOOK_SECRETS": secret}
	m.Env = func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	m.Stdout, m.Stderr = io.Discard, io.Discard
	require.NoError(t, m.ParseFlags([]string{"-addr", "127.0.0.1:0", "-data-dir", dir, "-embedded-nats-addr", "", "-console-addr", ""}))
	require.NoError(t, m.Run(context.Background()))
	closed := false
	t.Cleanup(func() {
		if !closed {
			_ = m.Close()
		}
	})

	fixture := testkit.Fixture(t)
	src := source{path: filepath.Join(dir, "leads.db")}
	send := func(id string, body []byte) {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, "http://"+m.Addr()+"/webhooks/saleassist", bytes.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Webhook-Secret", secret)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		answer, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		require.Equal(t, http.StatusAccepted, resp.StatusCode, string(answer))
		src.eventIDs = append(src.eventIDs, id)
	}
	person := func(i int, name, email string) []byte {
		b := testkit.WithID(fixture, fmt.Sprintf("ev-%d", i))
		b = bytes.Replace(b, []byte(`"Prakash Mudhaliyar"`), []byte(`"`+name+`"`), 1)
		b = bytes.Replace(b, []byte(`"prakashm@athenabpo.in"`), []byte(`"`+email+`"`), 1)
		b = bytes.ReplaceAll(b, []byte(`6380dc9b-3af9-4362-b7b1-32d47c13df4f`), fmt.Appendf(nil, "meeting-%d", i%3))
		return b
	}
	names := []string{"Zoë Ångström", "नमस्ते Devi", "王小明", "Ola Nordmann", "Asha Rao"}
	for i, name := range names {
		email := fmt.Sprintf("person%d@example.com", i)
		body := person(i, name, email)
		if i == 0 {
			body = bytes.Replace(body, []byte(`"extra1": "N1"`), []byte(`"extra1": "café ☕ ünïcødé"`), 1)
		}
		send(fmt.Sprintf("ev-%d", i), body)
		src.emails = append(src.emails, email)
	}
	send("ev-5", person(5, "Zoë Ångström-Berg", "person0@example.com")) // the same person again
	invalid := bytes.Replace(person(6, "Lat Ninety-Five", "lat95@example.com"), []byte(`28.4098`), []byte(`95`), 1)
	send("ev-6", invalid)
	src.emails = append(src.emails, "lat95@example.com")
	send("ev-7", []byte(`{"event_type":"something_new","payload":{"id":"ev-7","note":"kept, not lost"},"metadata":{}}`))

	// Wait for the worker to store them, then stop it: the copy needs the file to itself.
	ro, err := sqlite.Open(context.Background(), src.path)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		c, err := ro.Counts(context.Background(), "")
		return err == nil && c.Events == int64(len(src.eventIDs))
	}, 20*time.Second, 10*time.Millisecond, "the worker did not store every event")
	require.NoError(t, ro.Close())
	closed = true
	require.NoError(t, m.Close())

	st, err := sqlite.Open(context.Background(), src.path)
	require.NoError(t, err)
	defer st.Close()
	t0 := time.Date(2026, 5, 1, 10, 0, 0, 123456789, time.UTC)
	_, err = st.Apply(context.Background(), []pipeline.Record{
		{EventID: "raw-bytes", EventType: "odd_bytes", ReceivedAt: t0, Payload: []byte{'{', 0xff, 0xfe, 0x00, 'x', 0xc3, '}'},
			Lead: &pipeline.Lead{Name: "Bytes Person", Email: "bytes@example.com", SeenAt: t0}, Invalid: "schema: not JSON"},
		{EventID: "empty-payload", EventType: "odd_bytes", ReceivedAt: t0.Add(time.Second)},
		// Another account with the default's event id, email and meeting id: its own rows.
		{Account: otherAccount, EventID: "ev-0", EventType: "widget_new_conversation", ReceivedAt: t0, Payload: []byte(`{}`),
			Lead: &pipeline.Lead{Name: "Other Zoë", Email: "person0@example.com", SeenAt: t0}, Meeting: &pipeline.Meeting{ID: "meeting-0", Status: "other"}},
	})
	require.NoError(t, err)
	// The kept schema: what the worker kept for the fixture's type, and fields of the other
	// account's, with counts a copy must not add to (a resumed copy writes some rows twice).
	require.NoError(t, st.KeepFields(context.Background(), []store.Field{
		{Account: otherAccount, EventType: "widget_new_conversation", Path: "payload.id", Types: store.TypeString, Count: 41,
			FirstSeen: t0, LastSeen: t0.Add(time.Hour), Example: "ev-0"},
		{Account: otherAccount, EventType: "widget_new_conversation", Path: "payload.people_detail.email", Types: store.TypeString, Count: 7,
			FirstSeen: t0, LastSeen: t0, Example: "p•••@example.com", Masked: true},
		{Account: otherAccount, EventType: "odd_bytes", Path: "payload", Types: store.TypeObject | store.TypeNull, Count: 3, FirstSeen: t0, LastSeen: t0},
	}))
	src.eventIDs = append(src.eventIDs, "raw-bytes", "empty-payload")
	src.emails = append(src.emails, "bytes@example.com")
	return src
}

// µs truncates a lead's and an event's times as PostgreSQL keeps them (microseconds).
func µsLead(l *store.StoredLead) *store.StoredLead {
	c := *l
	c.CreatedAt, c.UpdatedAt, c.SeenAt = c.CreatedAt.Truncate(time.Microsecond), c.UpdatedAt.Truncate(time.Microsecond), c.SeenAt.Truncate(time.Microsecond)
	return &c
}

func µsEvent(e *store.StoredEvent) *store.StoredEvent {
	c := *e
	c.ReceivedAt = c.ReceivedAt.Truncate(time.Microsecond)
	return &c
}

// requireSameReads checks that the copy answers every read as the source does.
func requireSameReads(t *testing.T, src source, url string) {
	t.Helper()
	ctx := context.Background()
	from, err := sqlite.Open(ctx, src.path)
	require.NoError(t, err)
	defer from.Close()
	to, err := postgres.Open(ctx, url)
	require.NoError(t, err)
	defer to.Close()

	total := int64(0)
	for _, acct := range []string{"", otherAccount} {
		fc, err := from.Counts(ctx, acct)
		require.NoError(t, err)
		tc, err := to.Counts(ctx, acct)
		require.NoError(t, err)
		require.Equal(t, fc, tc, "account %q", acct)
		total += fc.Leads
	}
	for id := int64(1); id <= total; id++ {
		for _, acct := range []string{"", otherAccount} {
			want, err := from.Lead(ctx, acct, id)
			if errors.Is(err, store.ErrNotFound) {
				_, err = to.Lead(ctx, acct, id)
				require.ErrorIs(t, err, store.ErrNotFound, "lead %d is not %q's in the copy either", id, acct)
				continue
			}
			require.NoError(t, err)
			got, err := to.Lead(ctx, acct, id)
			require.NoError(t, err)
			require.Equal(t, µsLead(want), got, "lead %d", id)
		}
	}
	other, err := to.Event(ctx, otherAccount, "ev-0")
	require.NoError(t, err)
	require.Equal(t, otherAccount, other.Account)
	otherLead, err := to.LeadByEmail(ctx, otherAccount, "person0@example.com")
	require.NoError(t, err)
	require.Equal(t, "Other Zoë", otherLead.Name)
	ms, err := to.LeadMeetings(ctx, otherAccount, otherLead.ID)
	require.NoError(t, err)
	require.Len(t, ms, 1)
	require.Equal(t, "other", ms[0].Status)
	for _, email := range src.emails {
		want, err := from.LeadByEmail(ctx, "", email)
		require.NoError(t, err)
		got, err := to.LeadByEmail(ctx, "", email)
		require.NoError(t, err)
		require.Equal(t, µsLead(want), got, email)
	}
	for _, id := range src.eventIDs {
		want, err := from.Event(ctx, "", id)
		require.NoError(t, err)
		got, err := to.Event(ctx, "", id)
		require.NoError(t, err)
		require.Equal(t, µsEvent(want), got, "event %s", id)
		require.True(t, bytes.Equal(want.Payload, got.Payload), "event %s: payload byte for byte", id)
	}
	fields := 0
	for _, acct := range []string{"", otherAccount} {
		types, err := from.EventTypes(ctx, acct)
		require.NoError(t, err)
		for _, ty := range append(types, store.TypeCount{EventType: "odd_bytes"}) {
			want, err := from.Fields(ctx, acct, ty.EventType)
			require.NoError(t, err)
			got, err := to.Fields(ctx, acct, ty.EventType)
			require.NoError(t, err)
			for i := range want {
				want[i].FirstSeen, want[i].LastSeen = want[i].FirstSeen.Truncate(time.Microsecond), want[i].LastSeen.Truncate(time.Microsecond)
			}
			require.Equal(t, want, got, "the kept fields of %q's %s", acct, ty.EventType)
			fields += len(want)
		}
	}
	require.GreaterOrEqual(t, fields, 3, "the kept schema was compared")
	wantInvalid, err := from.InvalidEvents(ctx, "", 100)
	require.NoError(t, err)
	gotInvalid, err := to.InvalidEvents(ctx, "", 100)
	require.NoError(t, err)
	require.Len(t, gotInvalid, len(wantInvalid))
	require.GreaterOrEqual(t, len(gotInvalid), 2, "the latitude and the raw bytes")
	// Meetings have no read in store.Store: each was checked equal, column by column, as it was
	// copied (postgres.DB.ImportMeetings), and the counts are equal.
}

func TestCopyPipelineStoreAndRerun(t *testing.T) {
	t.Parallel()
	src := buildSource(t)
	url := testkit.FreshPostgres(t)
	ctx := context.Background()

	var progress []storecopy.Progress
	r, err := storecopy.Copy(ctx, src.path, url, storecopy.Options{ChunkSize: 3,
		Progress: func(p storecopy.Progress) { progress = append(progress, p) }})
	require.NoError(t, err)
	require.True(t, r.Verified())
	require.Equal(t, r.Source, r.Target)
	require.Equal(t, r.Source, r.Copied, "everything was new")
	require.GreaterOrEqual(t, r.Fields.Source, int64(3))
	require.Equal(t, r.Fields.Source, r.Fields.Copied, "every kept field was new")
	require.Equal(t, int64(len(src.eventIDs)+1), r.Source.Events, "the default account's events and the other account's one")
	require.Positive(t, r.Source.Meetings)
	require.Equal(t, storecopy.Progress{Table: "leads", Done: 3, Total: r.Source.Leads}, progress[0])
	require.Equal(t, r.Chunks, len(progress))
	requireSameReads(t, src, url)

	// A second run changes nothing, and says so.
	again, err := storecopy.Copy(ctx, src.path, url, storecopy.Options{ChunkSize: 3})
	require.NoError(t, err)
	require.Equal(t, store.Counts{}, again.Copied)
	require.Zero(t, again.Fields.Copied, "an equal kept field is not rewritten")

	// The source's kept schema grew (a worker ran on before the move): a re-run brings the
	// target's rows to the source's, not the sum of both.
	st, err := sqlite.Open(ctx, src.path)
	require.NoError(t, err)
	later := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	require.NoError(t, st.KeepFields(ctx, []store.Field{{Account: otherAccount, EventType: "widget_new_conversation",
		Path: "payload.id", Types: store.TypeString, Count: 5, FirstSeen: later, LastSeen: later}}))
	require.NoError(t, st.Close())
	grown, err := storecopy.Copy(ctx, src.path, url, storecopy.Options{ChunkSize: 3})
	require.NoError(t, err)
	require.Equal(t, int64(1), grown.Fields.Copied, "the one kept field that changed")
	requireSameReads(t, src, url)
	require.Equal(t, r.Source, again.Target)
	requireSameReads(t, src, url)

	// The sequence is past the copied ids: a worker's next lead gets a new id.
	pg, err := postgres.Open(ctx, url)
	require.NoError(t, err)
	defer pg.Close()
	res, err := pg.Apply(ctx, []pipeline.Record{{EventID: "after-copy", EventType: "t", ReceivedAt: time.Now(),
		Payload: []byte(`{}`), Lead: &pipeline.Lead{Email: "new@example.com"}}})
	require.NoError(t, err)
	require.NoError(t, res[0].Err)
	require.Equal(t, r.Source.Leads+1, res[0].LeadID)
}

// An interrupted copy keeps its committed chunks, and a rerun copies the rest: interrupted in
// the first table, and inside the kept schema (whose rows a rerun must not add to).
func TestCopyResumesAfterInterruption(t *testing.T) {
	t.Parallel()
	for _, table := range []string{"leads", "event_fields"} {
		t.Run(table, func(t *testing.T) {
			t.Parallel()
			src := buildSource(t)
			url := testkit.FreshPostgres(t)

			// Interrupted after the table's first chunk of two rows.
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			_, err := storecopy.Copy(ctx, src.path, url, storecopy.Options{ChunkSize: 2, Progress: func(p storecopy.Progress) {
				if p.Table == table {
					cancel()
				}
			}})
			require.ErrorIs(t, err, context.Canceled)
			require.Contains(t, err.Error(), "run it again to resume")

			r, err := storecopy.Copy(context.Background(), src.path, url, storecopy.Options{ChunkSize: 2})
			require.NoError(t, err)
			require.True(t, r.Verified())
			if table == "leads" {
				require.Equal(t, r.Source.Leads-2, r.Copied.Leads, "the rerun copies what the first did not")
				require.Equal(t, r.Source.Events, r.Copied.Events)
			} else {
				require.Equal(t, store.Counts{}, r.Copied, "the other tables were done")
				require.Equal(t, r.Fields.Source-2, r.Fields.Copied, "the rerun writes the kept fields the first did not")
			}
			requireSameReads(t, src, url)
		})
	}
}

// A database that holds other leads under the same ids is not a copy of this source.
func TestCopyRefusesDifferentData(t *testing.T) {
	t.Parallel()
	src := buildSource(t)
	url := testkit.FreshPostgres(t)
	ctx := context.Background()
	pg, err := postgres.Open(ctx, url)
	require.NoError(t, err)
	_, err = pg.Apply(ctx, []pipeline.Record{{EventID: "elsewhere", EventType: "t", ReceivedAt: time.Now(),
		Payload: []byte(`{}`), Lead: &pipeline.Lead{Email: "someone.else@example.com"}}})
	require.NoError(t, err)
	require.NoError(t, pg.Close())

	_, err = storecopy.Copy(ctx, src.path, url, storecopy.Options{})
	require.ErrorIs(t, err, store.ErrDifferentData)
	require.Contains(t, err.Error(), "leads 1")
	require.Contains(t, err.Error(), "copy into an empty database")
}

// Workers connected to the target, or still writing the source, stop the copy.
func TestCopyRefusesWhileWorkersRun(t *testing.T) {
	t.Parallel()
	src := buildSource(t)
	url := testkit.FreshPostgres(t)
	ctx := context.Background()

	pg, err := postgres.Open(ctx, url) // a worker, connected
	require.NoError(t, err)
	_, err = storecopy.Copy(ctx, src.path, url, storecopy.Options{})
	require.ErrorContains(t, err, "other sessions are connected")
	require.ErrorContains(t, err, "Stop the workers")
	require.NoError(t, pg.Close())

	// A worker still writing the SQLite file while it is copied.
	w, err := sqlite.Open(ctx, src.path)
	require.NoError(t, err)
	defer w.Close()
	wrote := false
	r, err := storecopy.Copy(ctx, src.path, url, storecopy.Options{ChunkSize: 100, Progress: func(storecopy.Progress) {
		if !wrote {
			wrote = true
			_, err := w.Apply(ctx, []pipeline.Record{{EventID: "late", EventType: "t", ReceivedAt: time.Now(), Payload: []byte(`{}`)}})
			require.NoError(t, err)
		}
	}})
	require.ErrorContains(t, err, "changed while it was copied")
	require.NotNil(t, r)

	// Stopped, a rerun takes the late event too.
	require.NoError(t, w.Close())
	r, err = storecopy.Copy(ctx, src.path, url, storecopy.Options{})
	require.NoError(t, err)
	require.Equal(t, int64(len(src.eventIDs)+2), r.Target.Events, "the other account's event and the late one too")
	require.Equal(t, store.Counts{Events: 1}, r.Copied)
}

// The password never appears in a report or an error.
func TestCopyMasksThePassword(t *testing.T) {
	t.Parallel()
	_, err := storecopy.Copy(context.Background(), filepath.Join(t.TempDir(), "missing.db"), "postgres://u:s3cret@127.0.0.1:1/db", storecopy.Options{})
	require.ErrorContains(t, err, "no such file")
	_, err = storecopy.Copy(context.Background(), "postgres://u:s3cret@h/db", "postgres://u:s3cret@h/db", storecopy.Options{})
	require.Error(t, err)
	require.NotContains(t, err.Error(), "s3cret")
	path := filepath.Join(t.TempDir(), "leads.db")
	st, err := sqlite.Open(context.Background(), path)
	require.NoError(t, err)
	require.NoError(t, st.Close())
	_, err = storecopy.Copy(context.Background(), path, "postgres://u:s3cret@127.0.0.1:1/db?connect_timeout=2", storecopy.Options{})
	require.Error(t, err)
	require.NotContains(t, err.Error(), "s3cret")
}
