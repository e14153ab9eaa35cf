package ingest_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/pkg/ingest"
	"github.com/saleassist-pipeline/pipeline/pkg/queue"
)

// cannotKeep is the real publisher, except that quarantining always finds the request too large
// for one NATS message: what a NATS server whose max_payload shrank below the body limit says.
type cannotKeep struct{ ingest.Publisher }

func (cannotKeep) Quarantine(context.Context, *queue.Rejected) (uint64, error) {
	return 0, fmt.Errorf("%w: its body is larger than the NATS server's max_payload", queue.ErrTooLargeToKeep)
}

// A request that can never be kept is answered with its own 4xx, saying it was not kept and why,
// never with a 503 whose retries could not help.
func TestRejectTooLargeToKeepIsFinal(t *testing.T) {
	t.Parallel()
	b := setup(t, withPublisher(func(p ingest.Publisher) ingest.Publisher { return cannotKeep{p} }))
	res := b.post(t, []byte(`{"event_type":`))
	msg := requireError(t, res, http.StatusBadRequest, "invalid_json")
	require.Contains(t, msg, "not kept")
	require.Contains(t, msg, "max_payload")
	require.Empty(t, res.header.Get("Retry-After"))
	require.False(t, res.contains("quarantine_id"))
}
