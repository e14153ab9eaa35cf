package console_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline"
	"github.com/saleassist-pipeline/pipeline/internal/testkit"
	"github.com/saleassist-pipeline/pipeline/pkg/console"
	"github.com/saleassist-pipeline/pipeline/pkg/store/postgres"
	"github.com/saleassist-pipeline/pipeline/pkg/store/sqlite"
)

// applier is a store the console reads and a test can write.
type applier interface {
	console.Store
	Apply(ctx context.Context, recs []pipeline.Record) ([]pipeline.Result, error)
}

func TestQueryWithNULOrInvalidUTF8OnSQLite(t *testing.T) {
	t.Parallel()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "leads.db"))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, db.Close()) })
	badInput(t, db)
}

func TestQueryWithNULOrInvalidUTF8OnPostgres(t *testing.T) {
	t.Parallel()
	url := testkit.FreshPostgres(t) // skips without TEST_DATABASE_URL, fails under CI=true
	db, err := postgres.Open(context.Background(), url)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, db.Close()) })
	badInput(t, db)
}

// badInput: a query that is not valid UTF-8 or holds NUL is 400 invalid_query (on SQLite a NUL
// cut the LIKE pattern and matched every lead, in the list and the CSV export; PostgreSQL
// answered 500), and an event id or type that cannot exist is 404, on the pages too. Input never
// causes a 500.
func badInput(t *testing.T, st applier) {
	b := &testBundle{log: &testkit.SyncBuffer{}}
	c, err := console.New(console.Config{Token: testToken, Store: st, Log: slog.New(slog.NewJSONHandler(b.log, nil))})
	require.NoError(t, err)
	b.srv = httptest.NewServer(c)
	t.Cleanup(b.srv.Close)
	recs := []*pipeline.Record{}
	for _, body := range [][]byte{person("in-1", "Asha Rao", "asha@example.com", "9876543210"),
		person("in-2", "Ravi Kumar", "ravi@example.com", "9876500000")} {
		recs = append(recs, b.record(t, body))
	}
	for _, rec := range recs {
		res, err := st.Apply(context.Background(), []pipeline.Record{*rec})
		require.NoError(t, err)
		require.NoError(t, res[0].Err)
	}

	var found struct{ Leads []struct{ Name string } }
	b.getJSON(t, "/api/leads?q=asha", &found)
	require.Len(t, found.Leads, 1, "a plain search still works")
	b.getJSON(t, "/api/leads?q=%C3%A9", &found)
	require.Empty(t, found.Leads, "valid UTF-8 that matches nobody is an empty page")

	for _, q := range []string{"x%00", "%00", "Asha%00Rao", "%FF", "a%C3", "%ED%A0%80", "50%", "%zz"} {
		for _, p := range []string{"/api/leads?q=", "/api/leads.csv?q=", "/?q=", "/api/leads?cursor=", "/api/mapping/preview?event_type="} {
			method := http.MethodGet
			if strings.HasPrefix(p, "/api/mapping") {
				method = http.MethodPost
			}
			code, body := b.do(t, method, p+q, strings.NewReader("version: 1"), true)
			require.Equal(t, http.StatusBadRequest, code, "%s%s: %s", p, q, body)
			if strings.HasPrefix(p, "/api/") {
				c, msg := apiErr(t, body)
				require.Equal(t, "invalid_query", c, p+q)
				require.Regexp(t, "UTF-8|%25", msg)
			} else {
				require.Regexp(t, "UTF-8|%25", string(body), p+q)
			}
			require.NotContains(t, string(body), "Ravi", "%s%s lists leads", p, q)
		}
	}
	for _, id := range []string{"%00", "in-1%00", "%FF", "a%C3", "%ED%A0%80"} {
		for _, p := range []string{"/api/events/" + id, "/api/schema/" + id, "/api/schema/" + id + "/mapping.yaml", "/events/" + id, "/schema/" + id} {
			code, body := b.do(t, http.MethodGet, p, nil, true)
			require.Equal(t, http.StatusNotFound, code, "%s: %s", p, body)
			if strings.HasPrefix(p, "/api/") {
				c, _ := apiErr(t, body)
				require.Equal(t, "not_found", c, p)
			}
		}
	}
	require.NotContains(t, b.log.String(), `"level":"ERROR"`, "no input reached the store as an error")
}

// record runs body through the workers' handlers into a record to apply.
func (b *testBundle) record(t *testing.T, body []byte) *pipeline.Record {
	t.Helper()
	return dispatch(t, body)
}
