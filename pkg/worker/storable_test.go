package worker_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/internal/testkit"

	"github.com/saleassist-pipeline/pipeline/pkg/account"
)

// A valid JSON string may hold \u0000. An event with one in a name, an attribute key and value,
// the email and the meeting is stored on both stores alike, with U+FFFD in its place and the
// event saying so (store.Storable), never retried and dead-lettered. Before the fix PostgreSQL
// refused it (invalid byte sequence … 0x00, unsupported Unicode escape sequence) on every
// delivery: accepted, never stored.
func TestNULInTextIsStoredOnEveryStore(t *testing.T) {
	t.Parallel()
	onEveryStore(t, func(t *testing.T, b *testBundle) {
		body := testkit.EditFixture(t, "nul-1", func(_, payload, person map[string]any) {
			person["name"] = "Prakash\x00 M"
			person["email"] = "nul\x00@example.com"
			person["no\x00te"] = "a\x00b"
			payload["meta"].([]any)[0].(map[string]any)["timezone"] = "Asia/Calcutta\x00"
		})
		require.Contains(t, string(body), `\u0000`)
		b.publish(t, b.qc.NewMsg(testkit.NewEvent("nul-1", wnc, body)))

		require.Eventually(t, func() bool { return b.storedEvents(t) == 1 }, waitFor, tick, "the event is stored")
		b.requireSettled(t)
		require.Empty(t, b.deadLetters(t))

		ev, err := b.store.Event(context.Background(), account.Default, "nul-1")
		require.NoError(t, err)
		require.Contains(t, ev.Invalid, "text: U+0000 or bytes not UTF-8 replaced by U+FFFD in name, email, attributes, meeting.timezone")
		require.Equal(t, string(body), string(ev.Payload), "the payload is kept as sent")
		l, err := b.store.Lead(context.Background(), account.Default, ev.LeadID)
		require.NoError(t, err)
		require.Equal(t, "Prakash\uFFFD M", l.Name)
		require.Equal(t, "nul\uFFFD@example.com", l.Email)
		require.Equal(t, "\"a\uFFFDb\"", string(l.Attributes["no\uFFFDte"]))
		require.False(t, strings.Contains(l.Name+l.Email, "\x00"))
	})
}
