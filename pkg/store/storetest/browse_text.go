package storetest

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline"
	"github.com/saleassist-pipeline/pipeline/pkg/store"
)

// The text fragment search (store.LeadFilter.Text): name, email and city, any case, LIKE's
// wildcards literal, accents, short fragments, ORed with the exact filters.
func testLeadsText(t *testing.T, s BrowsingStore) {
	jose := stored(t, s, record("ev-1", &pipeline.Lead{Name: "José Núñez", Email: "jose@example.com", City: "São Paulo", SeenAt: t0}))
	asha := stored(t, s, record("ev-2", &pipeline.Lead{Name: "Asha Rao", Email: "asha.r@gmail.com", City: "Pune", SeenAt: t0}))
	ravi := stored(t, s, record("ev-3", &pipeline.Lead{Name: "Ravi 100%", MobileNumber: "+919000000001", City: "Mumbai", SeenAt: t0}))
	xav := stored(t, s, record("ev-4", &pipeline.Lead{Name: "Xavier_", Email: "x_y@example.com", City: "Delhi", SeenAt: t0}))

	for _, tc := range []struct {
		f    store.LeadFilter
		want []int64
	}{
		{store.LeadFilter{Text: "rao"}, []int64{asha}},
		{store.LeadFilter{Text: "RAO"}, []int64{asha}},
		{store.LeadFilter{Text: "gmail"}, []int64{asha}},    // email
		{store.LeadFilter{Text: "GMAIL.CO"}, []int64{asha}}, // email, any case
		{store.LeadFilter{Text: "pune"}, []int64{asha}},     // city
		{store.LeadFilter{Text: "mumba"}, []int64{ravi}},    // city
		{store.LeadFilter{Text: "example.com"}, []int64{xav, jose}},
		{store.LeadFilter{Text: "são"}, []int64{jose}}, // accents
		{store.LeadFilter{Text: "núñez"}, []int64{jose}},
		{store.LeadFilter{Text: "NÚÑEZ"}, []int64{jose}}, // case beyond ASCII
		{store.LeadFilter{Text: "nunez"}, []int64{}},     // accents are not ignored
		{store.LeadFilter{Text: "100%"}, []int64{ravi}},  // % is itself
		{store.LeadFilter{Text: "%"}, []int64{ravi}},
		{store.LeadFilter{Text: "_"}, []int64{xav}}, // _ is itself
		{store.LeadFilter{Text: "r_"}, []int64{xav}},
		{store.LeadFilter{Text: "x_y@"}, []int64{xav}},
		{store.LeadFilter{Text: "e"}, []int64{xav, asha, jose}}, // one character: a walk
		{store.LeadFilter{Text: "MU"}, []int64{ravi}},           // two
		{store.LeadFilter{Text: "ñ"}, []int64{jose}},
		{store.LeadFilter{Text: "rao pune"}, []int64{}}, // never across two fields
		{store.LeadFilter{Text: "zzz"}, []int64{}},
		{store.LeadFilter{Text: "rao", Email: "x_y@example.com"}, []int64{xav, asha}},
		{store.LeadFilter{Text: "rao", Phone: "+919000000001"}, []int64{ravi, asha}},
	} {
		got := leads(t, s, store.LeadQuery{Filter: tc.f})
		require.Equal(t, tc.want, leadIDs(got), "%+v", tc.f)
	}
}

// textLeads is how many leads testLeadsTextIndexed stores: more than a store walks in page order
// before it asks its index (SQLite's textWalkBound), so the rare leads, stored first and so
// last in page order, are found through the index.
const textLeads = 1100

// A fragment found through the index: pages by cursor through the results, in page order,
// another account's leads never listed, a lead whose name changed found by its new name and no
// longer by its old one, a common fragment still a full page.
func testLeadsTextIndexed(t *testing.T, s BrowsingStore) {
	recs := make([]pipeline.Record, 0, textLeads)
	for i := range textLeads {
		l := &pipeline.Lead{Name: fmt.Sprintf("Lead %d", i), Email: fmt.Sprintf("l%d@example.com", i), City: "Pune", SeenAt: t0}
		if i < 5 {
			l = &pipeline.Lead{Name: fmt.Sprintf("Zoë Quintana %d", i), Email: fmt.Sprintf("zq%d@rare.example", i), City: "Ootacamund", SeenAt: t0}
		}
		recs = append(recs, record(fmt.Sprintf("ev-%d", i), l))
	}
	res := apply(t, s, recs...)
	// Another account's lead with the same fragments.
	stored(t, s, in("acme", record("ev-acme", &pipeline.Lead{Name: "Zoë Quintana", Email: "zq@rare.example", City: "Ootacamund", SeenAt: t0})))
	var rare []int64 // in page order: one batch, one updated_at, so by id descending
	for i := 4; i >= 0; i-- {
		rare = append(rare, res[i].LeadID)
	}
	all := func(f store.LeadFilter, limit int) []int64 {
		t.Helper()
		q := store.LeadQuery{Filter: f, Limit: limit}
		var got []int64
		for range 10 {
			p := leads(t, s, q)
			for _, l := range p.Leads {
				require.Equal(t, "default", l.Account)
			}
			got = append(got, leadIDs(p)...)
			if p.Next == nil {
				return got
			}
			c, err := store.ParseCursor(p.Next.String())
			require.NoError(t, err)
			q.After = &c
		}
		t.Fatalf("%+v: more pages than leads", f)
		return nil
	}
	for _, text := range []string{"QUINTANA", "quintana", "zoë", "ZOË Q", "rare.exa", "@RARE", "ootaca", "Camund"} {
		require.Equal(t, rare, all(store.LeadFilter{Text: text}, 2), text)
	}
	require.Equal(t, rare[1:2], all(store.LeadFilter{Text: "Quintana 3"}, 2))
	var walked []int64 // EachLead, the CSV export's pages of MaxPageSize
	require.NoError(t, store.EachLead(t.Context(), s, "", store.LeadFilter{Text: "quintana"}, func(l *store.LeadSummary) error {
		walked = append(walked, l.ID)
		return nil
	}))
	require.Equal(t, rare, walked)
	n := 0
	require.NoError(t, store.EachLead(t.Context(), s, "", store.LeadFilter{Text: "lead 10"}, func(*store.LeadSummary) error {
		n++
		return nil
	}))
	require.Equal(t, 1+10+100, n, "Lead 10, Lead 100–109, Lead 1000–1099")
	require.Equal(t, []int64{}, append([]int64{}, all(store.LeadFilter{Text: "quintanas"}, 2)...))
	// ORed with an exact email of a lead early in page order.
	require.Equal(t, append([]int64{res[textLeads-1].LeadID}, rare...),
		all(store.LeadFilter{Text: "ootacamund", Email: fmt.Sprintf("l%d@example.com", textLeads-1)}, 4))
	// A common fragment: a full first page, in page order.
	p := leads(t, s, store.LeadQuery{Filter: store.LeadFilter{Text: "lead 1"}, Limit: 3})
	require.Len(t, p.Leads, 3)
	require.NotNil(t, p.Next)
	require.Equal(t, "Lead 1099", p.Leads[0].Name)
	// In the other account, only its own lead.
	q := leads(t, s, store.LeadQuery{Account: "acme", Filter: store.LeadFilter{Text: "quintana"}})
	require.Len(t, q.Leads, 1)
	require.Equal(t, "acme", q.Leads[0].Account)

	// Renamed and moved: the lead is found by its new name, email and city, not its old ones.
	moved := rare[2]
	stored(t, s, record("ev-moved", &pipeline.Lead{Name: "Yara Brandt", Email: "zq2@rare.example", City: "Kochi", SeenAt: t0.Add(1)}))
	require.Equal(t, []int64{rare[0], rare[1], rare[3], rare[4]}, all(store.LeadFilter{Text: "quintana"}, 2))
	require.Equal(t, []int64{rare[0], rare[1], rare[3], rare[4]}, all(store.LeadFilter{Text: "ootacamund"}, 2))
	require.Equal(t, []int64{moved}, all(store.LeadFilter{Text: "brandt"}, 2))
	require.Equal(t, []int64{moved}, all(store.LeadFilter{Text: "kochi"}, 2))
}
