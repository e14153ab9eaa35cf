package ingest

import (
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// NoAccount is the account label of requests tied to no configured account: a webhook URL whose
// token is unknown, or whose account is disabled.
const NoAccount = "none"

// Metrics are the ingest's Prometheus metrics. Those that count requests or events carry an
// account label whose values are the ids of configured accounts and NoAccount, never anything a
// sender chose, so the number of series stays bounded; an account's series go when it leaves the
// registry (Server prunes them).
type Metrics struct {
	requests     *prometheus.CounterVec
	duration     *prometheus.HistogramVec
	publish      *prometheus.HistogramVec
	duplicates   *prometheus.CounterVec
	authFailures *prometheus.CounterVec
	panics       prometheus.Counter
	quarantined  *prometheus.CounterVec

	mu        sync.RWMutex
	byAccount map[string]*accountMetrics
}

// accountMetrics are one account's children, resolved once: the lookup by label values
// (formatting, hashing, locking) ran on every request.
type accountMetrics struct {
	id string
	m  *Metrics
	// byCode holds requests' children for the codes the ingest answers; it is not changed after
	// it is made.
	byCode     map[int]prometheus.Counter
	duration   prometheus.Observer
	publish    prometheus.Observer
	duplicates prometheus.Counter
}

// answeredCodes are the statuses the webhook answers, made at zero for every account, so that a
// rate over them exists before the first such answer.
var answeredCodes = []int{202, 400, 401, 403, 404, 405, 413, 415, 422, 429, 500, 503}

// NewMetrics creates the ingest's metrics and registers them with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "saleassist_ingest_requests_total",
			Help: "Webhook requests answered, by account and HTTP status code (account=\"none\": a URL of no configured account).",
		}, []string{"account", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "saleassist_ingest_request_duration_seconds",
			Help:    "Time from a webhook request's arrival to its answer, by account.",
			Buckets: prometheus.ExponentialBuckets(0.0002, 2.5, 12),
		}, []string{"account"}),
		publish: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "saleassist_ingest_publish_duration_seconds",
			Help:    "Time JetStream took to store (acknowledge) an event, by account.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2.5, 12),
		}, []string{"account"}),
		duplicates: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "saleassist_ingest_duplicates_total",
			Help: "Events JetStream recognised as re-sends inside its duplicate window (answered 202 with duplicate=true), by account.",
		}, []string{"account"}),
		authFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "saleassist_ingest_auth_failures_total",
			Help: "Requests refused with 401 or 403, by account and reason (missing, mismatch, missing_signature, bad_signature, source_ip).",
		}, []string{"account", "reason"}),
		quarantined: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "saleassist_ingest_quarantined_total",
			Help: "Authenticated requests that could not be accepted and were kept in the quarantine stream, by account and reason (the error code answered).",
		}, []string{"account", "reason"}),
		panics: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "saleassist_ingest_panics_total",
			Help: "Requests whose handling panicked (answered 500); each is logged.",
		}),
		byAccount: map[string]*accountMetrics{},
	}
	reg.MustRegister(m.requests, m.duration, m.publish, m.duplicates, m.authFailures, m.panics, m.quarantined)
	return m
}

// forAccount returns the children of account id (a configured account's, or NoAccount), making
// them, at zero, on first use.
func (m *Metrics) forAccount(id string) *accountMetrics {
	m.mu.RLock()
	am := m.byAccount[id]
	m.mu.RUnlock()
	if am != nil {
		return am
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if am = m.byAccount[id]; am != nil {
		return am
	}
	am = &accountMetrics{id: id, m: m, byCode: make(map[int]prometheus.Counter, len(answeredCodes)),
		duration: m.duration.WithLabelValues(id), publish: m.publish.WithLabelValues(id),
		duplicates: m.duplicates.WithLabelValues(id)}
	for _, code := range answeredCodes {
		am.byCode[code] = m.requests.WithLabelValues(id, strconv.Itoa(code))
	}
	for _, r := range []string{ReasonMissingSecret, ReasonMismatch, ReasonMissingSignature, ReasonBadSignature, ReasonSourceIP} {
		m.authFailures.WithLabelValues(id, r)
	}
	for _, r := range []string{"invalid_json", "invalid_envelope", "invalid_gzip", "unsupported_media_type", "wrong_account"} {
		m.quarantined.WithLabelValues(id, r)
	}
	m.byAccount[id] = am
	return am
}

// keep makes the series of the accounts in ids (at zero, so that a rate over them exists before
// their first request) and removes those of every other account (NoAccount aside).
func (m *Metrics) keep(ids map[string]bool) {
	for id := range ids {
		m.forAccount(id)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for id := range m.byAccount {
		if id == NoAccount || ids[id] {
			continue
		}
		delete(m.byAccount, id)
		labels := prometheus.Labels{"account": id}
		m.requests.DeletePartialMatch(labels)
		m.duration.DeletePartialMatch(labels)
		m.publish.DeletePartialMatch(labels)
		m.duplicates.DeletePartialMatch(labels)
		m.authFailures.DeletePartialMatch(labels)
		m.quarantined.DeletePartialMatch(labels)
	}
}

// answered counts a webhook request answered with code.
func (am *accountMetrics) answered(code int) {
	if c, ok := am.byCode[code]; ok {
		c.Inc()
		return
	}
	am.m.requests.WithLabelValues(am.id, strconv.Itoa(code)).Inc()
}

func (am *accountMetrics) authFailed(reason string) {
	am.m.authFailures.WithLabelValues(am.id, reason).Inc()
}

func (am *accountMetrics) quarantinedFor(reason string) {
	am.m.quarantined.WithLabelValues(am.id, reason).Inc()
}
