package app_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/internal/testkit"
	"github.com/saleassist-pipeline/pipeline/pkg/app/consoleapp"
	"github.com/saleassist-pipeline/pipeline/pkg/store/postgres"
)

// With DATABASE_URL=postgres://… the console reads PostgreSQL: the standalone ingest's own
// console (on the database its worker writes, not a leads.db beside it) and cmd/console alike.
func TestConsoleOnPostgres(t *testing.T) {
	t.Parallel()
	dbURL := testkit.FreshPostgres(t)
	const token = "a-console-token-of-enough-length-0123"
	tb := startIngest(t, t.TempDir(), map[string]string{"WEBHOOK_SECRETS": testSecret, "DATABASE_URL": dbURL,
		"ADMIN_TOKEN": token}, "-console-addr", "127.0.0.1:0")
	tb.post(t, variant(t, "pg-1", "asha@example.com", "+91 98765 43210"))
	tb.post(t, variant(t, "pg-2", "asha@example.com", ""))
	tb.post(t, variant(t, "pg-3", "ravi@example.com", "9000000001"))
	st, err := postgres.Open(context.Background(), dbURL)
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	awaitEvents(t, st, 3)

	c := consoleapp.New()
	c.Env = envOf(map[string]string{"ADMIN_TOKEN": token, "DATABASE_URL": dbURL})
	c.Stdout, c.Stderr = &testkit.SyncBuffer{}, &testkit.SyncBuffer{}
	require.NoError(t, c.ParseFlags([]string{"-addr", "127.0.0.1:0", "-nats-url", tb.ingest.EmbeddedNATSURL(), "-data-dir", t.TempDir()}))
	require.NoError(t, c.Run(context.Background()))
	t.Cleanup(func() { require.NoError(t, c.Close()) })

	for name, u := range map[string]string{"standalone ingest": tb.ingest.ConsoleURL(), "cmd/console": c.URL()} {
		t.Run(name, func(t *testing.T) {
			requireConsoleReadsPostgres(t, strings.TrimSuffix(u, "/signin"), token)
		})
	}
}

// requireConsoleReadsPostgres checks the console at base against what TestConsoleOnPostgres
// stored: a search by a phone written as people type it, the lead with its history, the CSV
// export and the stats.
func requireConsoleReadsPostgres(t *testing.T, base, token string) {
	t.Helper()
	var leads struct {
		Leads []struct {
			ID           int64  `json:"id"`
			Email        string `json:"email"`
			MobileNumber string `json:"mobile_number"`
			Events       int64  `json:"events"`
		} `json:"leads"`
		NextCursor string `json:"next_cursor"`
	}
	require.Equal(t, http.StatusOK, consoleGet(t, base, token, "/api/leads?q="+url.QueryEscape("098765 43210"), &leads))
	require.Len(t, leads.Leads, 1)
	asha := leads.Leads[0]
	require.Equal(t, "asha@example.com", asha.Email)
	require.Equal(t, "+919876543210", asha.MobileNumber)
	require.EqualValues(t, 2, asha.Events)

	require.Equal(t, http.StatusOK, consoleGet(t, base, token, "/api/leads?limit=1", &leads))
	require.Len(t, leads.Leads, 1)
	require.NotEmpty(t, leads.NextCursor, "two leads, pages of one")

	var detail struct {
		Lead struct {
			ID int64 `json:"id"`
		} `json:"lead"`
		History []struct {
			EventID string `json:"event_id"`
		} `json:"history"`
	}
	require.Equal(t, http.StatusOK, consoleGet(t, base, token, fmt.Sprintf("/api/leads/%d", asha.ID), &detail))
	require.Equal(t, asha.ID, detail.Lead.ID)
	require.Len(t, detail.History, 2)
	require.ElementsMatch(t, []string{"pg-1", "pg-2"}, []string{detail.History[0].EventID, detail.History[1].EventID})

	rows := consoleCSV(t, base, token, "/api/leads.csv")
	require.Len(t, rows, 3, "a header and two leads")
	require.Equal(t, "id", rows[0][0])

	var stats struct {
		Leads           int64 `json:"leads"`
		Events          int64 `json:"events"`
		StoredPerMinute []struct {
			Events int64 `json:"events"`
		} `json:"stored_per_minute"`
	}
	require.Equal(t, http.StatusOK, consoleGet(t, base, token, "/api/stats", &stats))
	require.EqualValues(t, 2, stats.Leads)
	require.EqualValues(t, 3, stats.Events)
	var perMinute int64
	for _, m := range stats.StoredPerMinute {
		perMinute += m.Events
	}
	require.EqualValues(t, 3, perMinute, "stored in the last hour")
}

// consoleCSV GETs a CSV export with the token and parses it.
func consoleCSV(t *testing.T, base, token, path string) [][]string {
	t.Helper()
	code, b := consoleBody(t, base, token, path)
	require.Equal(t, http.StatusOK, code, b)
	// Read as a spreadsheet does: the UTF-8 byte order mark the export starts with is the
	// encoding, not text.
	text, ok := strings.CutPrefix(b, "\ufeff")
	require.True(t, ok, "leads.csv starts with a UTF-8 byte order mark")
	rows, err := csv.NewReader(strings.NewReader(text)).ReadAll()
	require.NoError(t, err)
	return rows
}
