package ingest

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the ingest's Prometheus metrics.
type Metrics struct {
	requests *prometheus.CounterVec
	// byCode holds requests' children for the codes the ingest answers, resolved once: the
	// lookup by label value (formatting, hashing, locking) ran on every request.
	byCode       map[int]prometheus.Counter
	duration     prometheus.Histogram
	publish      prometheus.Histogram
	duplicates   prometheus.Counter
	authFailures *prometheus.CounterVec
	panics       prometheus.Counter
	quarantined  *prometheus.CounterVec
}

// NewMetrics creates the ingest's metrics and registers them with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "saleassist_ingest_requests_total",
			Help: "Webhook requests answered, by HTTP status code.",
		}, []string{"code"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "saleassist_ingest_request_duration_seconds",
			Help:    "Time from a webhook request's arrival to its answer.",
			Buckets: prometheus.ExponentialBuckets(0.0002, 2.5, 12),
		}),
		publish: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "saleassist_ingest_publish_duration_seconds",
			Help:    "Time JetStream took to store (acknowledge) an event.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2.5, 12),
		}),
		duplicates: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "saleassist_ingest_duplicates_total",
			Help: "Events JetStream recognised as re-sends inside its duplicate window (answered 202 with duplicate=true).",
		}),
		authFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "saleassist_ingest_auth_failures_total",
			Help: "Requests refused with 401 or 403, by reason (missing, mismatch, missing_signature, bad_signature, source_ip).",
		}, []string{"reason"}),
		quarantined: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "saleassist_ingest_quarantined_total",
			Help: "Authenticated requests that could not be accepted and were kept in the quarantine stream, by reason (the error code answered).",
		}, []string{"reason"}),
		panics: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "saleassist_ingest_panics_total",
			Help: "Requests whose handling panicked (answered 500); each is logged.",
		}),
	}
	reg.MustRegister(m.requests, m.duration, m.publish, m.duplicates, m.authFailures, m.panics, m.quarantined)
	m.byCode = make(map[int]prometheus.Counter)
	for _, code := range []int{202, 400, 401, 403, 405, 413, 415, 422, 500, 503} {
		m.byCode[code] = m.requests.WithLabelValues(strconv.Itoa(code))
	}
	for _, r := range []string{ReasonMissingSecret, ReasonMismatch, ReasonMissingSignature, ReasonBadSignature, ReasonSourceIP} {
		m.authFailures.WithLabelValues(r)
	}
	for _, r := range []string{"invalid_json", "invalid_envelope", "invalid_gzip", "unsupported_media_type"} {
		m.quarantined.WithLabelValues(r)
	}
	return m
}

// answered counts a webhook request answered with code.
func (m *Metrics) answered(code int) {
	if c, ok := m.byCode[code]; ok {
		c.Inc()
		return
	}
	m.requests.WithLabelValues(strconv.Itoa(code)).Inc()
}
