package postgres

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/internal/testkit"
	"github.com/saleassist-pipeline/pipeline/pkg/store/storetest"
)

// releaseRows are the rows the release before accounts (0c7bda0, migrations 0001–0005) wrote for
// storetest.CheckUpgraded's records, in that release's schema: no account anywhere, event ids
// and meeting ids unique alone.
var releaseRows = []string{`
INSERT INTO leads (id, name, email, mobile_number, seen_at, created_at, updated_at) VALUES
	(1, 'Asha K', 'asha@example.com', '+919876543210', $1::timestamptz + interval '1 minute', $2, $2),
	(2, 'Ravi', NULL, '+911111111111', $1, $2, $2)`,
	`SELECT setval('leads_id_seq', 2)`, `
INSERT INTO events (event_id, event_type, lead_id, received_at, stored_at, payload, invalid) VALUES
	('ev-1', 'widget_new_conversation', 1, $1, $2, '{}', NULL),
	('ev-2', 'widget_new_conversation', 2, $1, $2, '{}', NULL),
	('ev-3', 'widget_new_conversation', 1, $1, $2, '{}', NULL),
	('ev-4', 'video_tile_click', NULL, $1, $2, '{}', 'payload.id: missing')`, `
INSERT INTO meetings (id, lead_id, event_id, status, scheduled_at, updated_at) VALUES
	('m-1', 1, 'ev-1', 'scheduled', $1::timestamptz + interval '1 hour', $2)`}

// A database the release before accounts made and wrote (its migrations only, then its rows) is
// migrated in place when this code opens it: its rows become the default account's, read as
// before, and new writes are deduped and matched per account.
func TestOpensReleaseDatabase(t *testing.T) {
	t.Parallel()
	url := testkit.FreshPostgres(t)
	ctx := context.Background()
	migrateTo(t, url, 5)
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	conn, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	for _, stmt := range releaseRows {
		var args []any
		if strings.Contains(stmt, "$1") {
			args = []any{t0, t0.Add(time.Second)}
		}
		_, err := conn.Exec(ctx, stmt, args...)
		require.NoError(t, err, stmt)
	}
	require.NoError(t, conn.Close(ctx))

	db := open(t, url)
	var version int
	require.NoError(t, db.pool.QueryRow(ctx, `SELECT max(version) FROM schema_migrations`).Scan(&version))
	require.Equal(t, 8, version)
	storetest.CheckUpgraded(t, db)
	kept, err := db.Fields(ctx, "", "widget_new_conversation")
	require.NoError(t, err)
	require.Empty(t, kept, "the kept schema starts empty (the console samples until it fills)")
}
