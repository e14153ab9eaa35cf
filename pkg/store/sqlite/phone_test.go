package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline"
)

// Many leads sharing one phone number (a placeholder, a shop's own line) must not make matching
// scan them all: both phone lookups are index seeks, and the matching rules still hold.
func TestSharedPhoneLookupsAreIndexSeeks(t *testing.T) {
	t.Parallel()
	db, path := setup(t)
	raw, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	require.NoError(t, err)
	t.Cleanup(func() { _ = raw.Close() })
	for _, cond := range []string{"", " AND email IS NULL"} {
		for _, col := range []string{"mobile_number", "alt_phone"} {
			rows, err := raw.Query("EXPLAIN QUERY PLAN "+byPhone(col, cond), "default", "+919876543210")
			require.NoError(t, err)
			var plan []string
			for rows.Next() {
				var id, parent, unused int
				var detail string
				require.NoError(t, rows.Scan(&id, &parent, &unused, &detail))
				plan = append(plan, detail)
			}
			require.NoError(t, rows.Close())
			joined := strings.Join(plan, "\n")
			require.NotContains(t, joined, "SCAN leads", "a full scan of leads:\n%s", joined)
			// The newest lead comes straight off the (phone, updated_at, id) index: no sort, no
			// temporary b-tree (which SQLite would build and free on every lookup).
			require.NotContains(t, joined, "TEMP B-TREE", joined)
			index := "leads_" + col
			if cond != "" {
				index += "_no_email"
			}
			require.Contains(t, joined, "SEARCH leads USING INDEX "+index+" ", joined)
		}
	}

	// 300 people with their own emails share one phone: 300 leads, none joins another.
	ctx := context.Background()
	shared := "+911234567890"
	var recs []pipeline.Record
	for i := range 300 {
		recs = append(recs, pipeline.Record{EventID: fmt.Sprintf("s-%d", i), EventType: "t", ReceivedAt: time.Now(),
			Payload: []byte(`{}`), Lead: &pipeline.Lead{Email: fmt.Sprintf("p%d@example.com", i), MobileNumber: shared, SeenAt: time.Now()}})
	}
	res, err := db.Apply(ctx, recs)
	require.NoError(t, err)
	c, err := db.Counts(ctx, "")
	require.NoError(t, err)
	require.EqualValues(t, 300, c.Leads)
	latest := res[len(res)-1].LeadID
	// An event with the phone and no email joins the most recently updated lead with it.
	res, err = db.Apply(ctx, []pipeline.Record{{EventID: "anon", EventType: "t", ReceivedAt: time.Now(), Payload: []byte(`{}`),
		Lead: &pipeline.Lead{Name: "Someone", MobileNumber: shared, SeenAt: time.Now()}}})
	require.NoError(t, err)
	require.Equal(t, latest, res[0].LeadID)
	// A new email with the phone: every lead with it has another email, so a new person.
	res, err = db.Apply(ctx, []pipeline.Record{{EventID: "newperson", EventType: "t", ReceivedAt: time.Now(), Payload: []byte(`{}`),
		Lead: &pipeline.Lead{Email: "other@example.com", MobileNumber: shared, SeenAt: time.Now()}}})
	require.NoError(t, err)
	c, err = db.Counts(ctx, "")
	require.NoError(t, err)
	require.EqualValues(t, 301, c.Leads)
	require.NotEqual(t, latest, res[0].LeadID)
}
