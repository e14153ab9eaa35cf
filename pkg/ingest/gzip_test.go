package ingest_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/internal/testkit"
	"github.com/saleassist-pipeline/pipeline/pkg/ingest"
)

// TestWebhookGzip posts the fixture gzip-compressed: it is accepted and stored decompressed, byte
// for byte the fixture, whatever the spelling of the encoding.
func TestWebhookGzip(t *testing.T) {
	t.Parallel()
	fix := testkit.Fixture(t)

	for _, enc := range []string{"gzip", "x-gzip", "GZIP", " gzip "} {
		t.Run(strings.TrimSpace(enc), func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			zipped := testkit.Gzip(t, fix)
			require.NotEqual(t, fix, zipped)
			res := b.do(t, http.MethodPost, ingest.WebhookPath, bytes.NewReader(zipped),
				ingest.DefaultSecretHeader, testSecret, "Content-Type", jsonUTF8, "Content-Encoding", enc)
			require.Equal(t, testkit.FixtureID, requireAccepted(t, res).EventID)
			require.Equal(t, uint64(1), b.msgs(t))
			msg, err := b.stream.GetLastMsgForSubject(t.Context(), "saleassist.events.default.widget_new_conversation")
			require.NoError(t, err)
			require.True(t, bytes.Equal(fix, msg.Data), "the stored event must be the decompressed fixture")
		})
	}

	t.Run("LimitAppliesAfterDecompression", func(t *testing.T) {
		t.Parallel()
		// Compressed, the fixture fits the limit; decompressed it does not.
		zipped := testkit.Gzip(t, fix)
		limit := int64(len(fix) - 1)
		require.Less(t, int64(len(zipped)), limit)
		b := setup(t, withMaxBody(limit))
		res := b.do(t, http.MethodPost, ingest.WebhookPath, bytes.NewReader(zipped),
			ingest.DefaultSecretHeader, testSecret, "Content-Type", jsonUTF8, "Content-Encoding", "gzip")
		requireError(t, res, http.StatusRequestEntityTooLarge, "too_large")
		require.Zero(t, b.msgs(t))

		// One byte more and it fits exactly.
		b = setup(t, withMaxBody(limit+1))
		res = b.do(t, http.MethodPost, ingest.WebhookPath, bytes.NewReader(zipped),
			ingest.DefaultSecretHeader, testSecret, "Content-Type", jsonUTF8, "Content-Encoding", "gzip")
		requireAccepted(t, res)
		require.Equal(t, uint64(1), b.msgs(t))
	})
}
