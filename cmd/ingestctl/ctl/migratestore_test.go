package ctl_test

import (
	"context"
	"encoding/json"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline"
	"github.com/saleassist-pipeline/pipeline/internal/testkit"
	"github.com/saleassist-pipeline/pipeline/pkg/store"
	"github.com/saleassist-pipeline/pipeline/pkg/store/sqlite"
)

// `ingestctl migrate-store` copies a SQLite file into PostgreSQL (-db / DATABASE_URL unless --to
// says otherwise), prints the counts of both sides, and a rerun copies nothing. The password of
// the URL is never printed. (storecopy's tests cover the method itself.)
func TestIngestctlMigrateStore(t *testing.T) {
	t.Parallel()
	pgURL := testkit.FreshPostgres(t)
	path := filepath.Join(t.TempDir(), "leads.db")
	st, err := sqlite.Open(context.Background(), path)
	require.NoError(t, err)
	t0 := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	_, err = st.Apply(context.Background(), []pipeline.Record{
		{EventID: "e-1", EventType: "widget_new_conversation", ReceivedAt: t0, Payload: []byte(`{}`),
			Lead: &pipeline.Lead{Email: "asha@x.in", SeenAt: t0}, Meeting: &pipeline.Meeting{ID: "m-1", Name: "Demo"}},
		{EventID: "e-2", EventType: "other", ReceivedAt: t0, Payload: []byte(`{}`)},
	})
	require.NoError(t, err)
	require.NoError(t, st.KeepFields(context.Background(), []store.Field{{EventType: "other", Path: "payload.id",
		Types: store.TypeString, Count: 2, FirstSeen: t0, LastSeen: t0}}))
	require.NoError(t, st.Close())

	// A URL with a password, as an operator may give it: never echoed.
	u, err := url.Parse(pgURL)
	require.NoError(t, err)
	u.User = url.UserPassword(u.User.Username(), "pw-never-printed")
	withPassword := u.String()

	code, out, errOut := runCtl("-db", pgURL, "migrate-store", "--from", path)
	require.Equal(t, 0, code, errOut)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 7, out)
	require.Regexp(t, `^TABLE\s+SQLITE\s+POSTGRESQL\s+COPIED NOW$`, lines[1])
	require.Regexp(t, `^leads\s+1\s+1\s+1$`, lines[2])
	require.Regexp(t, `^events\s+2\s+2\s+2$`, lines[3])
	require.Regexp(t, `^meetings\s+1\s+1\s+1$`, lines[4])
	require.Regexp(t, `^kept fields\s+1\s+1\s+1$`, lines[5])
	require.Contains(t, lines[6], "verified")
	require.Contains(t, errOut, "events: 2 of 2 rows (100%)")
	require.Equal(t, 4, strings.Count(errOut, "\n"), "one line per table to a log, not one per chunk: %q", errOut)
	require.Contains(t, out, "postgres://postgres@", "a URL without a password is shown as it is")

	code, out, errOut = runCtl("migrate-store", "--from", path, "--to", pgURL, "--json", "--chunk", "1")
	require.Equal(t, 0, code, errOut)
	var r struct {
		Copied, Target store.Counts
		Verified       bool
	}
	require.NoError(t, json.Unmarshal([]byte(out), &r))
	require.True(t, r.Verified)
	require.Equal(t, store.Counts{}, r.Copied, "the rerun copies nothing")
	require.Equal(t, store.Counts{Leads: 1, Events: 2, Meetings: 1}, r.Target)

	// A wrong password: the error names the problem, not the password.
	code, out, errOut = runCtl("migrate-store", "--from", path, "--to", withPassword)
	if code == 0 { // the server trusts this client: no password is asked, so none is wrong
		require.NotContains(t, out+errOut, "pw-never-printed")
	} else {
		require.Equal(t, 1, code)
		require.NotContains(t, out+errOut, "pw-never-printed")
		require.Contains(t, errOut, "xxxxx")
	}

	for _, args := range [][]string{{"migrate-store"}, {"migrate-store", "--from", path}, {"migrate-store", "--from", path, "--to", pgURL, "--chunk", "0"}, {"migrate-store", "--from"}} {
		code, _, _ = runCtl(args...)
		require.Equal(t, 2, code, args)
	}
}
