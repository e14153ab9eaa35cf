package worker_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/text/unicode/norm"

	"github.com/saleassist-pipeline/pipeline"
	"github.com/saleassist-pipeline/pipeline/internal/testkit"
	"github.com/saleassist-pipeline/pipeline/pkg/account"
)

// withPerson returns the fixture as event id, with people_detail's fields replaced by person's
// and payload's top-level fields by payload's (a nil value deletes the field).
func (b *testBundle) withPerson(t *testing.T, id string, person, payload map[string]any) *pipeline.Event {
	t.Helper()
	body := testkit.EditFixture(t, id, func(_, p, pd map[string]any) {
		for k, v := range person {
			pd[k] = v
		}
		for k, v := range payload {
			if v == nil {
				delete(p, k)
				continue
			}
			p[k] = v
		}
	})
	return testkit.NewEvent(id, wnc, body)
}

// leadOf returns the lead the stored event id is linked to.
func (b *testBundle) leadOf(t *testing.T, id string) int64 {
	t.Helper()
	ev, err := b.store.Event(context.Background(), account.Default, id)
	require.NoError(t, err)
	return ev.LeadID
}

// Placeholder emails and phones are not identities. Before the fix, three strangers whose form
// said "null", "N/A" or "NULL" for an email became one lead, each overwriting the last one's
// phone; and two strangers with phone "0000000000" and no email became one lead.
func TestPlaceholderIdentitiesDoNotMergePeople(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.start(t)

	noAlt := map[string]any{"unique_field_value": nil}
	people := []*pipeline.Event{
		b.withPerson(t, "ph-1", map[string]any{"name": "Asha", "email": "null", "mobile_number": "+919876543210"}, noAlt),
		b.withPerson(t, "ph-2", map[string]any{"name": "Ravi", "email": "N/A", "mobile_number": "+918765432109"}, noAlt),
		b.withPerson(t, "ph-3", map[string]any{"name": "Meena", "email": "NULL", "mobile_number": "+917654321098"}, noAlt),
		b.withPerson(t, "ph-4", map[string]any{"name": "Kiran", "email": "", "mobile_number": "0000000000"}, noAlt),
		b.withPerson(t, "ph-5", map[string]any{"name": "Zoya", "email": "-", "mobile_number": "0000000000"}, noAlt),
	}
	for _, ev := range people {
		b.publish(t, b.qc.NewMsg(ev))
	}
	require.Eventually(t, func() bool { return b.storedEvents(t) == int64(len(people)) }, waitFor, tick)
	b.requireSettled(t)

	seen := map[int64]string{}
	for _, ev := range people {
		id := b.leadOf(t, ev.ID)
		require.NotZero(t, id, ev.ID)
		require.NotContains(t, seen, id, "%s joined the lead of %s", ev.ID, seen[id])
		seen[id] = ev.ID
		l, err := b.store.Lead(context.Background(), account.Default, id)
		require.NoError(t, err)
		require.Empty(t, l.Email, ev.ID)
		if ev.ID != "ph-4" { // "" is no value at all, not a placeholder to keep
			require.Contains(t, l.Attributes, "email", "the placeholder as sent is kept: %s", ev.ID)
		}
	}
	l, err := b.store.Lead(context.Background(), account.Default, b.leadOf(t, "ph-1"))
	require.NoError(t, err)
	require.Equal(t, "Asha", l.Name)
	require.Equal(t, "+919876543210", l.MobileNumber, "no one else's phone")
	l, err = b.store.Lead(context.Background(), account.Default, b.leadOf(t, "ph-4"))
	require.NoError(t, err)
	require.Empty(t, l.MobileNumber)
	require.JSONEq(t, `"0000000000"`, string(l.Attributes["mobile_number"]))
}

// The same email in NFC and in NFD is one person. Before the fix it made two leads.
func TestEmailInNFCAndNFDIsOneLead(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.start(t)

	nfc := "josé.müller@exemplo.com.br"
	nfd := norm.NFD.String("José.Müller@Exemplo.com.br")
	require.NotEqual(t, nfc, nfd)
	b.publish(t, b.qc.NewMsg(b.withPerson(t, "nfc-1", map[string]any{"email": nfc}, nil)))
	b.publish(t, b.qc.NewMsg(b.withPerson(t, "nfd-1", map[string]any{"email": nfd}, nil)))
	require.Eventually(t, func() bool { return b.storedEvents(t) == 2 }, waitFor, tick)
	b.requireSettled(t)

	require.Equal(t, b.leadOf(t, "nfc-1"), b.leadOf(t, "nfd-1"))
	l, err := b.store.LeadByEmail(context.Background(), account.Default, nfc)
	require.NoError(t, err)
	require.Equal(t, nfc, l.Email)
}

// A SaleAssist time far in the future does not freeze the lead. Before the fix, after one event
// dated year 3000 a real, later update could only fill gaps: the name stayed the old one.
func TestFarFutureTimeDoesNotFreezeLead(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.start(t)

	const year3000 = 32503680000000
	future := b.withPerson(t, "future-1", map[string]any{"name": "Old Name"}, map[string]any{"updated_on": year3000})
	b.publish(t, b.qc.NewMsg(future))
	require.Eventually(t, func() bool { return b.storedEvents(t) == 1 }, waitFor, tick)

	later := b.withPerson(t, "later-1", map[string]any{"name": "New Name"}, map[string]any{"updated_on": time.Now().UnixMilli()})
	later.ReceivedAt = time.Now().UTC().Add(time.Second)
	b.publish(t, b.qc.NewMsg(later))
	require.Eventually(t, func() bool { return b.storedEvents(t) == 2 }, waitFor, tick)
	b.requireSettled(t)

	require.Equal(t, b.leadOf(t, "future-1"), b.leadOf(t, "later-1"))
	l, err := b.store.Lead(context.Background(), account.Default, b.leadOf(t, "later-1"))
	require.NoError(t, err)
	require.Equal(t, "New Name", l.Name, "the real update wins")
	require.True(t, l.SeenAt.Before(time.Now().Add(time.Hour)), "seen_at %v is not from the future", l.SeenAt)

	ev, err := b.store.Event(context.Background(), account.Default, "future-1")
	require.NoError(t, err)
	require.Contains(t, ev.Invalid, "seen_at: SaleAssist time 3000-01-01T00:00:00Z is more than MAX_CLOCK_SKEW (24h0m0s) after arrival")
	ev, err = b.store.Event(context.Background(), account.Default, "later-1")
	require.NoError(t, err)
	require.Empty(t, ev.Invalid)
}
