package mapping

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/text/unicode/norm"

	"github.com/saleassist-pipeline/pipeline/internal/testkit"
)

// personDoc is an envelope whose people_detail holds the given fields, decoded as the worker
// decodes it.
func personDoc(t *testing.T, person map[string]any, payload map[string]any) map[string]any {
	t.Helper()
	p := map[string]any{"id": "e1", "people_detail": person}
	for k, v := range payload {
		p[k] = v
	}
	b, err := json.Marshal(map[string]any{"event_type": "widget_new_conversation", "payload": p})
	require.NoError(t, err)
	return testkit.Document(t, b)
}

// A placeholder email or phone is no identity: the lead's key stays empty (so the store cannot
// match strangers on it) and the value, as sent, stays in the attributes under its own key.
// Before the fix the lead's email was "null" and every such event joined one lead.
func TestPlaceholderIdentitiesAreNotKeys(t *testing.T) {
	t.Parallel()
	m := setup(t).mapper
	now := time.Now()

	for _, email := range []string{"null", "NULL", "None", "na", "N/A", "-", "undefined", "nil",
		" n.a. ", "test@test.com", "NoEmail@gmail.com", "noreply@company.in", "@", "x@", "@x.in"} {
		l, err := m.FromEvent("widget_new_conversation", personDoc(t, map[string]any{"name": "Asha", "email": email, "mobile_number": "9876543210"}, nil), now)
		require.NoError(t, err)
		require.Empty(t, l.Email, "email %q", email)
		require.Equal(t, "+919876543210", l.MobileNumber, "email %q", email)
		raw, _ := json.Marshal(email)
		require.JSONEq(t, string(raw), string(l.Attributes["email"]), "the value as sent is kept: %q", email)
	}
	for _, phone := range []any{"null", "none", "-", "n/a", "0000000000", "0", "9999999999",
		"+91 00000 00000", "+919999999999", json.Number("0"), "000-000-0000", "12"} {
		l, err := m.FromEvent("widget_new_conversation", personDoc(t, map[string]any{"email": "asha@x.in", "mobile_number": phone}, map[string]any{"unique_field_value": phone}), now)
		require.NoError(t, err)
		require.Empty(t, l.MobileNumber, "phone %v", phone)
		require.Empty(t, l.AltPhone, "phone %v", phone)
		require.Empty(t, l.PhoneKey(), "phone %v", phone)
		require.Equal(t, "asha@x.in", l.Email)
		require.Contains(t, l.Attributes, "mobile_number", "the value as sent is kept: %v", phone)
	}

	// Only placeholders: the person is still there (name), with no key to match on.
	l, err := m.FromEvent("widget_new_conversation", personDoc(t, map[string]any{"name": "Ravi", "email": "none", "mobile_number": "null"}, nil), now)
	require.NoError(t, err)
	require.Equal(t, "Ravi", l.Name)
	require.Empty(t, l.Email)
	require.Empty(t, l.PhoneKey())

	// A placeholder on the first path of first_of lets the next one fill the target.
	mp, err := ParseMapping("m.yaml", []byte("version: 1\nlead:\n  email: {first_of: [payload.people_detail.email, payload.people_detail.work_email]}\n"))
	require.NoError(t, err)
	m2, err := NewMapper("IN", WithMapping(mp))
	require.NoError(t, err)
	l, err = m2.FromEvent("x", personDoc(t, map[string]any{"email": "N/A", "work_email": "Ravi@Work.in"}, nil), now)
	require.NoError(t, err)
	require.Equal(t, "ravi@work.in", l.Email)
}

// Real addresses and numbers, including ones that look odd, stay identities.
func TestRealIdentitiesAreKept(t *testing.T) {
	t.Parallel()
	for _, email := range []string{"prakashm@athenabpo.in", "a@b.c", "na.sharma@gmail.com", "test.user@company.in",
		"null.pointer@dev.io", "x@example.com", "n@a"} {
		require.False(t, IsPlaceholderEmail(email), email)
	}
	for _, phone := range []string{"+919876543210", "9876543210", "+910987654321", "+44 20 7946 0000",
		"98100 00000", "+1 555 000 0000", "1234"} {
		require.False(t, IsPlaceholderPhone(phone), phone)
	}
}

// The same address in NFC and in NFD (a combining accent) is one key. Before the fix they were
// two, so one person became two leads.
func TestEmailNFCAndNFDAreOneKey(t *testing.T) {
	t.Parallel()
	nfc, nfd := "josé@exemplo.com.br", norm.NFD.String("José@Exemplo.com.br")
	require.NotEqual(t, nfc, nfd)
	require.Equal(t, nfc, NormalizeEmail(nfd))
	require.Equal(t, nfc, NormalizeEmail(nfc))

	m := setup(t).mapper
	for _, in := range []string{nfc, nfd, norm.NFD.String(nfc), "JOSÉ@exemplo.com.br"} {
		l, err := m.FromEvent("widget_new_conversation", personDoc(t, map[string]any{"email": in}, nil), time.Now())
		require.NoError(t, err)
		require.Equal(t, nfc, l.Email, "%+q", in)
	}
	// A capital whose decomposed form lower-cases differently (U+0130) is one key too.
	for _, in := range []string{"\u0130la@x.tr", "I\u0307la@x.tr"} {
		l, err := m.FromEvent("widget_new_conversation", personDoc(t, map[string]any{"email": in}, nil), time.Now())
		require.NoError(t, err)
		require.Equal(t, NormalizeEmail("\u0130la@x.tr"), l.Email, "%+q", in)
		require.Equal(t, NormalizeEmail("\u0130la@x.tr"), NormalizeEmail(in), "%+q", in)
	}
	// Even a mapping that turns the default transforms off keeps the key in NFC.
	mp, err := ParseMapping("m.yaml", []byte("version: 1\nlead:\n  email: {path: payload.people_detail.email, transforms: []}\n"))
	require.NoError(t, err)
	m2, err := NewMapper("IN", WithMapping(mp))
	require.NoError(t, err)
	l, err := m2.FromEvent("x", personDoc(t, map[string]any{"email": norm.NFD.String(nfc)}, nil), time.Now())
	require.NoError(t, err)
	require.Equal(t, nfc, l.Email)
}
