package ingest

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/saleassist-pipeline/pipeline/internal/health"
	"github.com/saleassist-pipeline/pipeline/pkg/account"
)

// NotReady serves the ingest's port while it cannot publish yet: NATS was not reachable when it
// started, or the events stream could not be created yet (a cluster still forming). Every webhook
// is answered 503 with Retry-After and why, without its body being read, and is counted like any
// other answer; its connection is closed, so that the sender's retry meets whatever serves next.
// /readyz answers 503 saying why; everything else (/healthz 200: the process is alive and must
// not be restarted for waiting; /metrics) goes to next, the Server the program serves in
// NotReady's place once why reports nil.
func NotReady(next http.Handler, why func() error, m *Metrics, accounts *account.Registry) http.Handler {
	reason := func(context.Context) error {
		if err := why(); err != nil {
			return err
		}
		return errors.New("the events stream is being set up")
	}
	ready := health.Ready(publishReady(reason))
	webhook := health.Ready(func(ctx context.Context) error {
		return fmt.Errorf("the ingest cannot store events yet (%w); nothing was accepted: retry later with the same body", reason(ctx))
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch path := r.URL.Path; {
		case isWebhookPath(path):
			w.Header().Set("Connection", "close")
			webhook.ServeHTTP(w, r)
			acct, _ := accountOf(accounts, path)
			m.forAccount(labelOf(acct)).answered(http.StatusServiceUnavailable)
		case path == ReadyPath:
			ready.ServeHTTP(w, r)
		default:
			next.ServeHTTP(w, r)
		}
	})
}
