package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline"
	"github.com/saleassist-pipeline/pipeline/pkg/store"
)

func testNewLead(t *testing.T, s store.Store) {
	want := pipeline.Lead{
		SourceID: "p-1", Name: "Asha Rao", Email: "asha@example.com", MobileNumber: "+919876543210",
		AltPhone: "+919812345678", Address: "12 MG Road", Pincode: "560001", City: "Bengaluru",
		State: "Karnataka", Country: "India", UTMSource: "google", UTMMedium: "cpc",
		UTMCampaign: "summer", UTMTerm: "sofa", UTMContent: "ad-1", ProductCategory: "furniture",
		ProductSKU: "SKU-9", Attributes: attrs("widget_id", `"w-1"`, "visits", `3`),
		SeenAt: t0,
	}
	l := want
	rec := record("ev-1", &l)
	before := time.Now().Add(-time.Second)
	id := stored(t, s, rec)
	require.NotZero(t, id)

	got := getLead(t, s, id)
	requireLead(t, want, got)
	require.False(t, got.CreatedAt.Before(before), "created_at %v", got.CreatedAt)
	require.False(t, got.UpdatedAt.Before(got.CreatedAt))

	byEmail, err := s.LeadByEmail(t.Context(), "", "asha@example.com")
	require.NoError(t, err)
	require.Equal(t, id, byEmail.ID)

	ev, err := s.Event(t.Context(), "", "ev-1")
	require.NoError(t, err)
	require.Equal(t, "ev-1", ev.EventID)
	require.Equal(t, rec.EventType, ev.EventType)
	require.Equal(t, id, ev.LeadID)
	require.True(t, rec.ReceivedAt.Equal(ev.ReceivedAt), "received_at %v", ev.ReceivedAt)
	require.JSONEq(t, string(rec.Payload), string(ev.Payload))
	require.Empty(t, ev.Invalid)
}

func testSameEmail(t *testing.T, s store.Store) {
	a := stored(t, s, record("ev-1", &pipeline.Lead{Email: "asha@example.com", Name: "Asha", SeenAt: t0}))
	b := stored(t, s, record("ev-2", &pipeline.Lead{Email: "asha@example.com", City: "Pune", SeenAt: t0.Add(time.Minute)}))
	require.Equal(t, a, b)
	require.Equal(t, store.Counts{Leads: 1, Events: 2}, counts(t, s))
	got := getLead(t, s, a)
	require.Equal(t, "Asha", got.Name)
	require.Equal(t, "Pune", got.City)
}

func testPhoneOnly(t *testing.T, s store.Store) {
	a := stored(t, s, record("ev-1", &pipeline.Lead{MobileNumber: "+919876543210", Name: "Ravi", SeenAt: t0}))
	b := stored(t, s, record("ev-2", &pipeline.Lead{MobileNumber: "+919876543210", SeenAt: t0.Add(time.Minute)}))
	require.Equal(t, a, b)
	// The phone key is AltPhone when there is no mobile number; it matches a stored mobile.
	c := stored(t, s, record("ev-3", &pipeline.Lead{AltPhone: "+919876543210", SeenAt: t0.Add(2 * time.Minute)}))
	require.Equal(t, a, c)
	// A stored alt_phone matches too.
	d := stored(t, s, record("ev-4", &pipeline.Lead{MobileNumber: "+911111111111", AltPhone: "+912222222222", SeenAt: t0}))
	e := stored(t, s, record("ev-5", &pipeline.Lead{MobileNumber: "+912222222222", SeenAt: t0}))
	require.Equal(t, d, e)
	require.NotEqual(t, a, d)
	require.Equal(t, store.Counts{Leads: 2, Events: 5}, counts(t, s))
	require.Equal(t, "Ravi", getLead(t, s, a).Name)
}

func testEmailLessThenEmail(t *testing.T, s store.Store) {
	a := stored(t, s, record("ev-1", &pipeline.Lead{MobileNumber: "+919876543210", Name: "Ravi", SeenAt: t0}))
	b := stored(t, s, record("ev-2", &pipeline.Lead{MobileNumber: "+919876543210", Email: "ravi@example.com", SeenAt: t0.Add(time.Minute)}))
	require.Equal(t, a, b)
	got, err := s.LeadByEmail(t.Context(), "", "ravi@example.com")
	require.NoError(t, err)
	require.Equal(t, a, got.ID)
	require.Equal(t, "Ravi", got.Name)
	// Now an email-less event with the phone still joins the lead that gained the email.
	c := stored(t, s, record("ev-3", &pipeline.Lead{MobileNumber: "+919876543210", SeenAt: t0.Add(2 * time.Minute)}))
	require.Equal(t, a, c)
	require.Equal(t, int64(1), counts(t, s).Leads)
}

func testSamePhoneDifferentEmail(t *testing.T, s store.Store) {
	a := stored(t, s, record("ev-1", &pipeline.Lead{MobileNumber: "+919876543210", Email: "a@example.com", SeenAt: t0}))
	b := stored(t, s, record("ev-2", &pipeline.Lead{MobileNumber: "+919876543210", Email: "b@example.com", SeenAt: t0.Add(time.Minute)}))
	require.NotEqual(t, a, b)
	require.Equal(t, "a@example.com", getLead(t, s, a).Email)
	require.Equal(t, "b@example.com", getLead(t, s, b).Email)
	// An email-less event with the shared phone joins the most recently updated of them.
	c := stored(t, s, record("ev-3", &pipeline.Lead{MobileNumber: "+919876543210", SeenAt: t0.Add(2 * time.Minute)}))
	require.Equal(t, b, c)
	require.Equal(t, store.Counts{Leads: 2, Events: 3}, counts(t, s))
}

func testPhoneMatchSkipsOtherEmail(t *testing.T, s store.Store) {
	const shared = "+919876543210"
	other := stored(t, s, record("ev-1", &pipeline.Lead{MobileNumber: shared, Email: "a@example.com", SeenAt: t0}))
	// An email-less lead that later gets the shared phone as its alternative number.
	anon := stored(t, s, record("ev-2", &pipeline.Lead{MobileNumber: "+911111111111", SeenAt: t0}))
	require.NotEqual(t, other, anon)
	require.Equal(t, anon, stored(t, s, record("ev-3", &pipeline.Lead{MobileNumber: "+911111111111", AltPhone: shared, SeenAt: t0})))
	// a@'s lead becomes the most recently updated one with the shared phone.
	require.Equal(t, other, stored(t, s, record("ev-4", &pipeline.Lead{Email: "a@example.com", SeenAt: t0})))

	// c@ cannot be a@'s lead, but may be the email-less one, which therefore gains the email.
	c := stored(t, s, record("ev-5", &pipeline.Lead{MobileNumber: shared, Email: "c@example.com", SeenAt: t0}))
	require.Equal(t, anon, c)
	require.Equal(t, "c@example.com", getLead(t, s, anon).Email)
	require.Equal(t, "a@example.com", getLead(t, s, other).Email)
	require.Equal(t, int64(2), counts(t, s).Leads)
}

func testNoEmailNoPhone(t *testing.T, s store.Store) {
	a := stored(t, s, record("ev-1", &pipeline.Lead{Name: "Visitor", SeenAt: t0}))
	b := stored(t, s, record("ev-2", &pipeline.Lead{Name: "Visitor", SeenAt: t0}))
	require.NotEqual(t, a, b)
	require.NotZero(t, a)
	require.Equal(t, int64(2), counts(t, s).Leads)
}

func testNewerWinsOlderFills(t *testing.T, s store.Store) {
	const email = "asha@example.com"
	id := stored(t, s, record("ev-1", &pipeline.Lead{Email: email, Name: "A", City: "Mumbai",
		Attributes: attrs("k1", `1`, "k2", `2`), SeenAt: t0}))

	// Newer: non-empty values overwrite, empty ones leave the stored value alone.
	stored(t, s, record("ev-2", &pipeline.Lead{Email: email, Name: "B", Pincode: "400001",
		Attributes: attrs("k1", `10`, "k3", `3`), SeenAt: t0.Add(time.Hour)}))
	want := pipeline.Lead{Email: email, Name: "B", City: "Mumbai", Pincode: "400001",
		Attributes: attrs("k1", `10`, "k2", `2`, "k3", `3`), SeenAt: t0.Add(time.Hour)}
	requireLead(t, want, getLead(t, s, id))

	// Older (delivered out of order): only fills what is missing; seen_at does not go back.
	stored(t, s, record("ev-3", &pipeline.Lead{Email: email, Name: "C", City: "Delhi", State: "Maharashtra",
		Attributes: attrs("k1", `99`, "k4", `"four"`), SeenAt: t0.Add(-time.Hour)}))
	want.State = "Maharashtra"
	want.Attributes["k4"] = []byte(`"four"`)
	requireLead(t, want, getLead(t, s, id))

	// Same time as stored counts as newer: the later delivery wins.
	stored(t, s, record("ev-4", &pipeline.Lead{Email: email, Name: "D", SeenAt: t0.Add(time.Hour)}))
	want.Name = "D"
	requireLead(t, want, getLead(t, s, id))

	before := getLead(t, s, id)
	stored(t, s, record("ev-5", &pipeline.Lead{Email: email, SeenAt: t0.Add(-2 * time.Hour)}))
	after := getLead(t, s, id)
	require.False(t, after.UpdatedAt.Before(before.UpdatedAt))
	require.True(t, after.CreatedAt.Equal(before.CreatedAt))
}
