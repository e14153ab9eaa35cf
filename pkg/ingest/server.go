// Package ingest is the HTTP side of the pipeline: it authenticates a SaleAssist webhook, checks
// and decodes just enough of it to identify and route it, publishes it to JetStream, and answers
// 202 only once JetStream has stored it. Its /healthz and /readyz are internal/health's, the one
// answer of every program.
package ingest

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/saleassist-pipeline/pipeline"
	"github.com/saleassist-pipeline/pipeline/internal/health"
	"github.com/saleassist-pipeline/pipeline/internal/ratelog"
	"github.com/saleassist-pipeline/pipeline/pkg/accept"
	"github.com/saleassist-pipeline/pipeline/pkg/account"
	"github.com/saleassist-pipeline/pipeline/pkg/queue"
)

// Paths served by the ingest.
const (
	WebhookPath = "/webhooks/saleassist"
	HealthPath  = "/healthz"
	ReadyPath   = "/readyz"
	MetricsPath = "/metrics"
)

// DefaultMaxBody is the largest request body accepted (1 MiB): accept.DefaultMaxBody, the
// limit a quarantine replay shares.
const DefaultMaxBody = accept.DefaultMaxBody

// DefaultSecretHeader is the custom header SaleAssist is told to send the secret in.
const DefaultSecretHeader = "X-Webhook-Secret"

// RetryAfter is the Retry-After of 503 answers, in seconds.
const RetryAfter = health.RetryAfter

// Publisher stores events and rejected requests durably; queue.Publisher is the implementation.
// Both methods return only after JetStream stored what they were given (nil error), or when it is
// certainly not acknowledged (error).
type Publisher interface {
	Publish(ctx context.Context, ev *pipeline.Event) (queue.Ack, error)
	Quarantine(ctx context.Context, r *queue.Rejected) (uint64, error)
}

// Config configures the ingest's request handling.
type Config struct {
	// Auth authenticates requests; required.
	Auth *Auth
	// Accounts are the accounts served, read afresh on every request; required. It must hold
	// account.Default for WebhookPath to be served (account.Follow sees to that).
	Accounts *account.Registry
	// MaxBody is the largest body accepted, in bytes, after decompression.
	MaxBody int64
}

// Server answers webhook, health, readiness and metrics requests.
type Server struct {
	cfg     Config
	pub     Publisher
	metrics *Metrics
	log     *slog.Logger
	router  *mux.Router
	now     func() time.Time

	limiters *limiters
	watch    *registryWatch

	// Failures that repeat once per request during an outage or an attack are logged as a few
	// lines per state change (internal/ratelog); the metrics count every one.
	publishFailing, quarantineFailing ratelog.Failing
	refusals                          map[string]*ratelog.Failing // by Failure.Reason: a fixed set
	// unknownURLs (a sender at a revoked or mistyped URL) and overRate (an account past its
	// bucket) repeat once per request too.
	unknownURLs, overRate ratelog.Failing
}

// NewServer returns the ingest's HTTP handler. ready reports whether events can be published
// right now (for /readyz); metricsHandler serves /metrics.
func NewServer(cfg Config, pub Publisher, ready func(context.Context) error, m *Metrics, metricsHandler http.Handler, log *slog.Logger) *Server {
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	s := &Server{cfg: cfg, pub: pub, metrics: m, log: log, now: time.Now,
		limiters: newLimiters(), watch: newRegistryWatch(cfg.Accounts)}
	s.publishFailing.Log, s.quarantineFailing.Log = log, log
	for _, l := range []*ratelog.Failing{&s.unknownURLs, &s.overRate} {
		l.Log, l.Every, l.Idle = log, time.Minute, time.Minute
	}
	s.syncAccounts(cfg.Accounts.IDs())
	s.refusals = map[string]*ratelog.Failing{}
	for _, reason := range []string{ReasonMissingSecret, ReasonMismatch, ReasonMissingSignature, ReasonBadSignature, ReasonSourceIP} {
		s.refusals[reason] = &ratelog.Failing{Log: log, Every: time.Minute, Idle: time.Minute}
	}
	r := mux.NewRouter()
	r.HandleFunc(WebhookPath, s.webhook)
	r.PathPrefix(accountPrefix).HandlerFunc(s.webhook)
	r.HandleFunc(HealthPath, health.Health).Methods(http.MethodGet, http.MethodHead)
	r.Handle(ReadyPath, health.Ready(publishReady(ready))).Methods(http.MethodGet, http.MethodHead)
	r.Handle(MetricsPath, metricsHandler).Methods(http.MethodGet, http.MethodHead)
	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", "no such endpoint: "+r.URL.Path+"; webhooks go to POST "+WebhookPath)
	})
	r.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", "GET, HEAD")
		writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", r.Method+" is not allowed on "+r.URL.Path+"; use GET")
	})
	s.router = r
	return s
}

// ServeHTTP implements http.Handler. Served on a listener from GuardFraming, it also refuses
// requests framed by both Content-Length and Transfer-Encoding.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if checkFraming(w, r) {
		return
	}
	s.router.ServeHTTP(w, r)
}

// publishReady is the ingest's readiness: ready reports whether events can be published now.
func publishReady(ready func(context.Context) error) func(context.Context) error {
	return func(ctx context.Context) error {
		if err := ready(ctx); err != nil {
			return fmt.Errorf("cannot publish to JetStream: %w", err)
		}
		return nil
	}
}

// syncAccounts keeps the per-account state (token buckets, metric series) to the accounts ids:
// made for each, removed for any other.
func (s *Server) syncAccounts(ids []string) {
	set := make(map[string]bool, len(ids))
	for _, id := range ids {
		set[id] = true
	}
	s.limiters.keep(set)
	s.metrics.keep(set)
}

// panicked answers a panic (v, recovered while handling a webhook) with a logged, counted 500
// instead of a dropped connection.
func (s *Server) panicked(w http.ResponseWriter, am *accountMetrics, v any) {
	if v == http.ErrAbortHandler {
		panic(v)
	}
	s.metrics.panics.Inc()
	am.answered(http.StatusInternalServerError)
	s.log.Error("panic while handling webhook", "panic", v, "account", am.id)
	writeError(w, http.StatusInternalServerError, "internal", "the server failed unexpectedly; nothing was accepted, retry later")
}
