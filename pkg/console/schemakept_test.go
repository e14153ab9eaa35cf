package console_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/internal/testkit"
	"github.com/saleassist-pipeline/pipeline/pkg/store"
)

type keptAnswer struct {
	Source        string `json:"source"`
	EventsSampled int    `json:"events_sampled"`
	Fields        []struct {
		Path      string    `json:"path"`
		Types     []string  `json:"types"`
		Count     int64     `json:"count"`
		FirstSeen time.Time `json:"first_seen"`
		LastSeen  time.Time `json:"last_seen"`
		Example   string    `json:"example"`
	} `json:"fields"`
}

func (a keptAnswer) paths() []string {
	var p []string
	for _, f := range a.Fields {
		p = append(p, f.Path)
	}
	return p
}

// Get Schema reads the kept schema once the type has one: a field sent once a month ago (in no
// event the console could sample) shows with its count and first seen; each account sees its own
// kept fields; the page says where the fields come from. Without a kept schema it samples.
func TestSchemaReadsKeptSchema(t *testing.T) {
	t.Parallel()
	tn, accts := newTenants()
	b := setup(t, withAccounts(accts...))
	b.store(t, testkit.Fixture(t))

	var a keptAnswer
	b.getJSON(t, "/api/schema/widget_new_conversation", &a)
	require.Equal(t, "sampled", a.Source, "nothing kept yet: the latest events are sampled")
	require.Equal(t, 1, a.EventsSampled)
	require.Contains(t, a.paths(), "payload.people_detail.email")

	month := time.Date(2026, 11, 6, 9, 0, 0, 0, time.UTC)
	require.NoError(t, b.db.KeepFields(t.Context(), []store.Field{
		{Account: "acme", EventType: "widget_new_conversation", Path: "payload.acme_only", Types: store.TypeString, Count: 4, FirstSeen: month, LastSeen: month, Example: "x"},
		{EventType: "widget_new_conversation", Path: "payload.id", Types: store.TypeString, Count: 9000, FirstSeen: month, LastSeen: month.AddDate(0, 1, 0), Example: "ev-1"},
		{EventType: "widget_new_conversation", Path: "payload.sent_once", Types: store.TypeNumber, Count: 1, FirstSeen: month, LastSeen: month, Example: "42"},
	}))
	b.getJSON(t, "/api/schema/widget_new_conversation", &a)
	require.Equal(t, "kept", a.Source)
	require.Equal(t, 0, a.EventsSampled)
	require.Equal(t, []string{"payload.id", "payload.sent_once"}, a.paths(), "the kept schema, not the sample, and not acme's")
	once := a.Fields[1]
	require.Equal(t, int64(1), once.Count)
	require.Equal(t, []string{"number"}, once.Types)
	require.True(t, once.FirstSeen.Equal(month), "first seen %s", once.FirstSeen)
	require.Equal(t, "42", once.Example)
	require.Equal(t, int64(9000), a.Fields[0].Count)

	b.getAs(t, tn.acme, "/api/schema/widget_new_conversation", http.StatusOK, &a)
	require.Equal(t, []string{"payload.acme_only"}, a.paths(), "an account token reads its own account's kept schema")
	b.getAs(t, tn.globex, "/api/schema/widget_new_conversation", http.StatusNotFound, nil)

	page := string(b.getAs(t, testToken, "/schema/widget_new_conversation", http.StatusOK, nil))
	require.Contains(t, page, "payload.sent_once")
	require.Contains(t, page, "2026-11-06 09:00", "first seen is shown")
	require.Contains(t, page, "however long ago")
	require.False(t, strings.Contains(page, "payload.acme_only"))
}
