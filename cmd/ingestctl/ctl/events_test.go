package ctl_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline"
	"github.com/saleassist-pipeline/pipeline/pkg/admin"
	"github.com/saleassist-pipeline/pipeline/pkg/store/sqlite"
)

// `ingestctl events invalid` lists the events stored with problems, newest first, as a table
// or as JSON, from the database of a standalone ingest's data directory or of -db.
func TestIngestctlListsInvalidEvents(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "leads.db")
	st, err := sqlite.Open(context.Background(), path)
	require.NoError(t, err)
	t0 := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	recs := []pipeline.Record{
		{EventID: "ok-1", EventType: "widget_new_conversation", ReceivedAt: t0, Payload: []byte(`{}`),
			Lead: &pipeline.Lead{Email: "asha@x.in", SeenAt: t0}},
		{EventID: "bad-1", EventType: "widget_new_conversation", ReceivedAt: t0.Add(time.Minute), Payload: []byte(`{}`),
			Lead: &pipeline.Lead{Email: "asha@x.in", SeenAt: t0}, Invalid: "schema: document does not match widget_new_conversation.schema.json: /payload/people_detail/widget_latitude: must be <= 90"},
		{EventID: "bad-2", EventType: "other_type", ReceivedAt: t0.Add(2 * time.Minute), Payload: []byte(`{}`),
			Invalid: "schema: document does not match envelope.schema.json: /metadata: got string, want object"},
		{Account: "brand2", EventID: "bad-3", EventType: "other_type", ReceivedAt: t0, Payload: []byte(`{}`),
			Invalid: "schema: another account's"},
	}
	_, err = st.Apply(context.Background(), recs)
	require.NoError(t, err)
	require.NoError(t, st.Close())

	code, out, errOut := runCtl("-data-dir", dir, "events", "invalid")
	require.Equal(t, 0, code, errOut)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 4, out)
	require.Regexp(t, `^EVENT\s+TYPE\s+RECEIVED\s+LEAD\s+INVALID$`, lines[0])
	require.Regexp(t, `^bad-2\s+other_type\s+2026-05-01T10:02:00Z\s+-\s+schema: .*/metadata`, lines[1])
	require.Regexp(t, `^bad-1\s+widget_new_conversation\s+2026-05-01T10:01:00Z\s+1\s+schema: `, lines[2])
	require.Contains(t, lines[3], "2 events with problems")
	require.NotContains(t, out, "ok-1")

	code, out, errOut = runCtl("-db", path, "events", "invalid", "--json", "--limit", "1")
	require.Equal(t, 0, code, errOut)
	var got []admin.InvalidEvent
	require.NoError(t, json.Unmarshal([]byte(out), &got))
	require.Equal(t, []admin.InvalidEvent{{EventID: "bad-2", EventType: "other_type", ReceivedAt: t0.Add(2 * time.Minute), Invalid: recs[2].Invalid}}, got)

	// Another account's, by --account; the default account's list above did not show them.
	code, out, errOut = runCtl("-db", path, "events", "invalid", "--account", "brand2", "--json")
	require.Equal(t, 0, code, errOut)
	require.NoError(t, json.Unmarshal([]byte(out), &got))
	require.Equal(t, []admin.InvalidEvent{{EventID: "bad-3", EventType: "other_type", ReceivedAt: t0, Invalid: "schema: another account's"}}, got)

	// No database there: an error that says what to give, and no file is created.
	empty := t.TempDir()
	code, _, errOut = runCtl("-data-dir", empty, "events", "invalid")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "no leads database at "+filepath.Join(empty, "leads.db"))
	require.NoFileExists(t, filepath.Join(empty, "leads.db"))

	for _, args := range [][]string{{"events", "valid"}, {"events", "invalid", "--limit", "x"}, {"events", "invalid", "extra"},
		{"events", "invalid", "--account", "Not An Id"}} {
		code, _, _ = runCtl(append([]string{"-db", path}, args...)...)
		require.Equal(t, 2, code, args)
	}
}
