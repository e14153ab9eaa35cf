package console

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the console's own Prometheus metrics, served on its /metrics (open, like
// /healthz: they are counts, never lead data nor tokens).
type metrics struct {
	// replays counts replays of dead letters and quarantined requests, from the pages and the API
	// alike, by outcome: replayed (back in the events stream), refused (a 4xx: the entry needs a
	// changed body, the body is not an acceptable event, the entry is gone), failed (a 5xx:
	// JetStream unreachable or refusing).
	replays *prometheus.CounterVec
	// signInFailures counts refused sign-ins: wrong_token, account_disabled, or rate_limited.
	signInFailures *prometheus.CounterVec
	handler        http.Handler
}

// Replay kinds and outcomes, the label values of saleassist_console_replays_total.
const (
	kindDeadLetter  = "dead_letter"
	kindQuarantine  = "quarantine"
	outcomeReplayed = "replayed"
	outcomeRefused  = "refused"
	outcomeFailed   = "failed"
)

func newMetrics(reg *prometheus.Registry) (*metrics, error) {
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	m := &metrics{
		replays: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "saleassist_console_replays_total",
			Help: "Replays asked of the console, by kind (dead_letter, quarantine) and outcome (replayed, refused, failed)."},
			[]string{"kind", "outcome"}),
		signInFailures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "saleassist_console_signin_failures_total",
			Help: "Refused sign-ins, by reason (wrong_token, account_disabled, rate_limited)."}, []string{"reason"}),
		handler: promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}),
	}
	for _, c := range []prometheus.Collector{m.replays, m.signInFailures} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	// Every series exists from the start at 0, so a rate() over it never starts from nothing.
	for _, k := range []string{kindDeadLetter, kindQuarantine} {
		for _, o := range []string{outcomeReplayed, outcomeRefused, outcomeFailed} {
			m.replays.WithLabelValues(k, o)
		}
	}
	for _, r := range []string{"wrong_token", "account_disabled", "rate_limited"} {
		m.signInFailures.WithLabelValues(r)
	}
	return m, nil
}

// countReplay counts one replay of kind that ended with err (nil: replayed).
func (m *metrics) countReplay(kind string, err *apiError) {
	outcome := outcomeReplayed
	switch {
	case err == nil:
	case err.Status < http.StatusInternalServerError:
		outcome = outcomeRefused
	default:
		outcome = outcomeFailed
	}
	m.replays.WithLabelValues(kind, outcome).Inc()
}
