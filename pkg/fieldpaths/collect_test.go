package fieldpaths_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/internal/testkit"
	"github.com/saleassist-pipeline/pipeline/pkg/fieldpaths"
	"github.com/saleassist-pipeline/pipeline/pkg/mapping"
	"github.com/saleassist-pipeline/pipeline/pkg/store"
)

func collector(t *testing.T) *fieldpaths.Collector {
	t.Helper()
	m, err := mapping.NewMapper("IN")
	require.NoError(t, err)
	return fieldpaths.NewCollector(fieldpaths.NewMasker(m))
}

func byPath(fields []store.Field) map[string]store.Field {
	out := map[string]store.Field{}
	for _, f := range fields {
		out[f.Account+" "+f.EventType+" "+f.Path] = f
	}
	return out
}

// TestCollectorCountsPathsPerEvent: a path counts once per event however many array elements
// hold it; times widen; types accumulate; keys that are not plain are quoted as MAPPING_FILE
// paths write them; examples are masked.
func TestCollectorCountsPathsPerEvent(t *testing.T) {
	t.Parallel()
	c := collector(t)
	t1 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	require.NoError(t, c.Add("", "t", t1, []byte(`{"payload":{"items":[{"sku":"a"},{"sku":"b"}],"v":1,"people_detail":{"email":"priya@example.com"}}}`)))
	require.NoError(t, c.Add("", "t", t1.Add(time.Hour), []byte(`{"payload":{"items":[],"v":"x","a.b":null,"k\u0065y":true}}`)))
	require.NoError(t, c.Add("brand", "t", t1, []byte(`{"payload":{"v":2}}`)))
	f := byPath(c.Fields())
	require.Equal(t, int64(1), f["default t payload.items[0].sku"].Count, "two elements, one event")
	require.Equal(t, int64(2), f["default t payload.items"].Count)
	v := f["default t payload.v"]
	require.Equal(t, int64(2), v.Count)
	require.Equal(t, []string{"number", "string"}, v.Types.Names())
	require.Equal(t, t1, v.FirstSeen)
	require.Equal(t, t1.Add(time.Hour), v.LastSeen)
	require.Equal(t, "1", v.Example, "the first example is kept")
	require.Contains(t, f, `default t payload["a.b"]`)
	require.Contains(t, f, `default t payload.key`, "an escaped key is read unescaped")
	email := f["default t payload.people_detail.email"]
	require.True(t, email.Masked)
	require.Equal(t, "p•••@example.com", email.Example)
	require.Equal(t, int64(1), f["brand t payload.v"].Count, "each account's paths are its own")
	require.Equal(t, 3, c.Len())
}

// TestCollectorFixture walks the documented sample: its lead's paths are there, and no example
// shows its email or phone.
func TestCollectorFixture(t *testing.T) {
	t.Parallel()
	c := collector(t)
	require.NoError(t, c.Add("", "widget_new_conversation", time.Now(), testkit.Fixture(t)))
	f := byPath(c.Fields())
	for _, p := range []string{"payload.id", "payload.people_detail.email", "payload.people_detail.mobile_number", "payload.meta[0].id"} {
		require.Contains(t, f, "default widget_new_conversation "+p)
	}
	for _, fld := range f {
		require.NotContains(t, fld.Example, "@gmail.com", fld.Path)
	}
}

// TestCollectorBounds: nothing deeper than MaxDepth is walked, at most MaxPaths paths per type
// are kept, and a body that is not JSON is an error.
func TestCollectorBounds(t *testing.T) {
	t.Parallel()
	c := collector(t)
	deep := strings.Repeat(`{"a":`, 100) + "1" + strings.Repeat("}", 100)
	require.NoError(t, c.Add("", "deep", time.Now(), []byte(deep)))
	require.Len(t, c.Fields(), fieldpaths.MaxDepth, "a, a.a, … down to MaxDepth levels")
	var b strings.Builder
	b.WriteString(`{"p":{`)
	for i := range fieldpaths.MaxPaths + 10 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"k` + strconv.Itoa(i) + `":1`)
	}
	b.WriteString("}}")
	c = collector(t)
	require.NoError(t, c.Add("", "wide", time.Now(), []byte(b.String())))
	require.Len(t, c.Fields(), fieldpaths.MaxPaths)
	require.Equal(t, 11, c.Dropped)
	require.Error(t, c.Add("", "bad", time.Now(), []byte(`{"a":`)))
}
