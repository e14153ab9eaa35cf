package queue_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/pkg/queue"
)

// A rejected request whose body and headers exceed the server's max_payload is kept without its
// largest request headers (Content-Type last), which the entry names; one whose body alone cannot
// fit gets ErrTooLargeToKeep, which is not ErrUnavailable: retrying would not help.
func TestQuarantine_FitsMaxPayload(t *testing.T) {
	t.Parallel()
	b := setup(t)
	p := b.publisher(t, b.cfg, 0)
	maxPayload := int(b.nc.MaxPayload())
	rejected := func(bodyLen int) *queue.Rejected {
		h := http.Header{}
		h.Set("Content-Type", "application/json")
		h.Set("User-Agent", "SaleAssist")
		h.Set("X-Big-1", strings.Repeat("1", 3000))
		h.Set("X-Big-2", strings.Repeat("2", 2000))
		return &queue.Rejected{Reason: "invalid_json", Message: strings.Repeat("why ", 1000),
			Body: bytes.Repeat([]byte("b"), bodyLen), Header: h, RemoteAddr: "192.0.2.1", ReceivedAt: time.Now()}
	}

	id, err := p.Quarantine(t.Context(), rejected(maxPayload-3000))
	require.NoError(t, err)
	s, err := b.js.Stream(t.Context(), b.cfg.QuarantineStream)
	require.NoError(t, err)
	m, err := s.GetMsg(t.Context(), id)
	require.NoError(t, err)
	q := queue.QuarantineEntry(m)
	require.Len(t, q.Body, maxPayload-3000)
	require.Equal(t, "X-Big-1, X-Big-2", m.Header.Get(queue.HeaderQuarantineDropped))
	require.Equal(t, "application/json", q.Header.Get("Content-Type"))
	require.Equal(t, "SaleAssist", q.Header.Get("User-Agent"))
	require.LessOrEqual(t, len(q.Error), 1024+len("…"), "the error is clipped")

	// Everything fits: nothing dropped.
	id, err = p.Quarantine(t.Context(), rejected(1000))
	require.NoError(t, err)
	m, err = s.GetMsg(t.Context(), id)
	require.NoError(t, err)
	require.Empty(t, m.Header.Get(queue.HeaderQuarantineDropped))
	require.Equal(t, strings.Repeat("1", 3000), queue.QuarantineEntry(m).Header.Get("X-Big-1"))

	_, err = p.Quarantine(t.Context(), rejected(maxPayload-10))
	require.ErrorIs(t, err, queue.ErrTooLargeToKeep)
	require.NotErrorIs(t, err, queue.ErrUnavailable)
	require.ErrorContains(t, err, "max_payload")
}

// A quarantined request carries the account whose URL it came to; one without (kept by an ingest
// from before accounts, or Rejected.Account left empty) belongs to the default account.
func TestQuarantine_Account(t *testing.T) {
	t.Parallel()
	b := setup(t)
	p := b.publisher(t, b.cfg, 0)
	s, err := b.js.Stream(t.Context(), b.cfg.QuarantineStream)
	require.NoError(t, err)
	for acct, want := range map[string]string{"acme": "acme", "": "default"} {
		id, err := p.Quarantine(t.Context(), &queue.Rejected{Reason: "wrong_account", Message: "m", Body: []byte("{}"), Account: acct, ReceivedAt: time.Now()})
		require.NoError(t, err)
		m, err := s.GetMsg(t.Context(), id)
		require.NoError(t, err)
		require.Equal(t, want, m.Header.Get(queue.HeaderAccount))
		require.Equal(t, want, queue.QuarantineEntry(m).Account)
	}
}
