package sqlite

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline"
	"github.com/saleassist-pipeline/pipeline/pkg/store"
)

// indexed returns the ids of the leads lead_text finds for the fragment, ascending.
func indexed(t *testing.T, db *DB, frag string) []int64 {
	t.Helper()
	match, ok := fragmentMatch(strings.ToLower(frag))
	require.True(t, ok, frag)
	rows, err := db.read.Query(`SELECT docid FROM lead_text WHERE lead_text MATCH ? ORDER BY docid`, match)
	require.NoError(t, err)
	defer rows.Close()
	ids := []int64{}
	for rows.Next() {
		var id int64
		require.NoError(t, rows.Scan(&id))
		ids = append(ids, id)
	}
	require.NoError(t, rows.Err())
	return ids
}

func TestGrams(t *testing.T) {
	t.Parallel()
	require.Equal(t, "", grams("ab"))
	require.Equal(t, "616263", grams("ABC"))
	require.Equal(t, "616263 626364", grams("abcd"))
	// Runes, not bytes: é is two bytes, one character.
	require.Equal(t, "6ac3a96c c3a96c6c", grams("JÉll"))
	m, ok := fragmentMatch("ab")
	require.False(t, ok, m)
	m, ok = fragmentMatch("abcd")
	require.True(t, ok)
	require.Equal(t, `"616263 626364"`, m)
}

// The write path keeps lead_text: a new lead is indexed in its batch, a lead whose name, email
// or city changed is indexed anew (the old trigrams gone), prune removes a lead's row.
func TestLeadTextKept(t *testing.T) {
	t.Parallel()
	db, _ := setup(t)
	rec := func(id string, l *pipeline.Lead) pipeline.Record {
		return pipeline.Record{EventID: id, EventType: "widget_new_conversation", ReceivedAt: time.Now(),
			Payload: fmt.Appendf(nil, `{"payload":{"id":%q}}`, id), Lead: l}
	}
	t0 := time.Now().UTC()
	res, err := db.Apply(t.Context(), []pipeline.Record{
		rec("e1", &pipeline.Lead{Name: "Asha Rao", Email: "asha@example.com", City: "Pune", SeenAt: t0}),
		rec("e2", &pipeline.Lead{Name: "Ravi", MobileNumber: "+919000000001", City: "Goa", SeenAt: t0}),
	})
	require.NoError(t, err)
	asha, ravi := res[0].LeadID, res[1].LeadID
	require.Equal(t, []int64{asha}, indexed(t, db, "sha r"))
	require.Equal(t, []int64{asha}, indexed(t, db, "example"))
	require.Equal(t, []int64{ravi}, indexed(t, db, "goa"))

	_, err = db.Apply(t.Context(), []pipeline.Record{
		rec("e3", &pipeline.Lead{Name: "Asha Iyer", Email: "asha@example.com", City: "Kochi", SeenAt: t0.Add(time.Second)}),
		rec("e4", &pipeline.Lead{MobileNumber: "+919000000001", SeenAt: t0.Add(time.Second)}), // nothing searched changes
	})
	require.NoError(t, err)
	require.Empty(t, indexed(t, db, "rao"))
	require.Empty(t, indexed(t, db, "pune"))
	require.Equal(t, []int64{asha}, indexed(t, db, "iyer"))
	require.Equal(t, []int64{asha}, indexed(t, db, "kochi"))
	require.Equal(t, []int64{ravi}, indexed(t, db, "ravi"))
	count := func() (n int) {
		require.NoError(t, db.read.QueryRow(`SELECT count(*) FROM lead_text`).Scan(&n))
		return n
	}
	require.Equal(t, 2, count())

	// Prune: Ravi's lead is old, Asha's is not.
	old := formatTime(time.Now().Add(-40 * 24 * time.Hour))
	_, err = db.write.Exec(`UPDATE leads SET updated_at = ? WHERE id = ?`, old, ravi)
	require.NoError(t, err)
	_, err = db.write.Exec(`UPDATE events SET stored_at = ? WHERE lead_id = ?`, old, ravi)
	require.NoError(t, err)
	r, err := db.Prune(t.Context(), store.PruneQuery{Account: "default", LeadsBefore: time.Now().Add(-30 * 24 * time.Hour)})
	require.NoError(t, err)
	require.EqualValues(t, 1, r.Leads)
	require.Equal(t, 1, count())
	require.Empty(t, indexed(t, db, "ravi"))
	require.Equal(t, []int64{asha}, indexed(t, db, "asha"))
}
