// Package worker runs the consuming side of the pipeline: it takes batches of events from the
// shared durable consumer, routes each to its handler, writes the batch to the store in one
// transaction, and acknowledges each message only after that commit.
package worker

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/saleassist-pipeline/pipeline/pkg/store"
)

// Outcomes, the values of the outcome label.
const (
	OutcomeStored      = "stored"
	OutcomeDuplicate   = "duplicate"
	OutcomeUnknownType = "unknown_type"
	// OutcomeInvalid is an event dead-lettered as invalid: nothing could be made of it (no
	// payload object, or no person in an event type that names one). An event stored with
	// schema violations counts as stored (or unknown_type), and in
	// saleassist_worker_events_invalid_total.
	OutcomeInvalid = "invalid"
	OutcomeFailed  = "failed"
	// OutcomeDeadLettered is an event moved to the dead-letter stream for another reason than
	// its schema (which counts as invalid).
	OutcomeDeadLettered = "dead_lettered"
)

// Dead-letter reasons, the values of the Saleassist-Dlq-Reason header and of the reason label.
const (
	ReasonInvalid     = "invalid"
	ReasonPermanent   = "permanent"
	ReasonUndecodable = "undecodable"
	ReasonMaxDeliver  = "max_deliver"
	// ReasonUnstorable is an event the store refused for its data, which no retry can change
	// (store.IsDataError: PostgreSQL's class 22 data exception, a CHECK constraint, a value
	// out of a column's range); the Saleassist-Dlq-Error header holds the store's error.
	ReasonUnstorable = "unstorable"
)

// Metrics are the worker's Prometheus metrics.
type Metrics struct {
	events      *prometheus.CounterVec
	invalid     *prometheus.CounterVec
	handle      prometheus.Histogram
	batch       prometheus.Histogram
	store       prometheus.Histogram
	batchSize   prometheus.Histogram
	age         prometheus.Histogram
	redelivered prometheus.Counter
	deadLetters *prometheus.CounterVec
	pending     *prometheus.GaugeVec
	ackPending  *prometheus.GaugeVec
	lag         *prometheus.GaugeVec
	// mappingInvalid is 1 for an account whose own mapping does not compile (its events wait).
	mappingInvalid *prometheus.GaugeVec
	// paused is 1 for the reason the worker is paused on, 0 for every other (all 0 when it is not).
	paused        *prometheus.GaugeVec
	pausedSeconds prometheus.Counter
	deliveries    prometheus.Histogram
}

// NewMetrics creates the worker's metrics and registers them with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "saleassist_worker_events_total",
			Help: "Events handled by the worker, by account (configured accounts by id, others as \"other\"), event_type (known types by name, others as \"other\") and outcome (stored, duplicate, unknown_type; invalid and dead_lettered: moved to the dead-letter stream; failed: an attempt that will be retried). Events stored with problems count as stored or unknown_type here, and in saleassist_worker_events_invalid_total.",
		}, []string{"account", "event_type", "outcome"}),
		invalid: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "saleassist_worker_events_invalid_total",
			Help: "Events stored with problems recorded in events.invalid (schema violations outside the person's identity, a SaleAssist time too far in the future), by account and event_type (known types by name, others as \"other\"). `ingestctl events invalid` lists them.",
		}, []string{"account", "event_type"}),
		handle: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "saleassist_worker_handle_duration_seconds",
			Help:    "Time to decode, validate and map one event (its handler), before the store.",
			Buckets: prometheus.ExponentialBuckets(0.00001, 4, 10),
		}),
		batch: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "saleassist_worker_batch_duration_seconds",
			Help:    "Time to route one batch, store it (one transaction, after any batch ahead of it) and acknowledge it.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 3, 10),
		}),
		store: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "saleassist_worker_store_duration_seconds",
			Help:    "Time of one batch's database transaction (commit included).",
			Buckets: prometheus.ExponentialBuckets(0.0002, 3, 11),
		}),
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "saleassist_worker_batch_size",
			Help:    "Messages per batch.",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256, 512},
		}),
		age: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "saleassist_worker_event_age_seconds",
			Help:    "Time from the ingest accepting an event to the worker storing it.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 10),
		}),
		redelivered: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "saleassist_worker_redeliveries_total",
			Help: "Messages received that JetStream had delivered before (a worker died, timed out or asked for a retry).",
		}),
		deadLetters: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "saleassist_worker_dead_letters_total",
			Help: "Events moved to the dead-letter stream, by account and reason (invalid, permanent, undecodable, max_deliver, unstorable).",
		}, []string{"account", "reason"}),
		pending: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "saleassist_worker_consumer_pending",
			Help: "Messages in the stream not yet delivered to any worker, by account (its consumer's).",
		}, []string{"account"}),
		ackPending: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "saleassist_worker_consumer_ack_pending",
			Help: "Messages delivered to workers and not yet acknowledged, by account.",
		}, []string{"account"}),
		lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "saleassist_worker_consumer_lag",
			Help: "Events accepted but not yet stored, by account: pending plus ack pending of its consumer. Every worker reports the shared consumers' values: use max by (account), and sum over accounts for the whole backlog.",
		}, []string{"account"}),
	}
	m.paused = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "saleassist_worker_paused",
		Help: "1 while the worker is paused because its store is unavailable, for the reason (unreachable, shutdown, starting, read_only, too_many_connections, disk_full, server_error, busy, timeout); 0 otherwise. Paused, it fetches nothing and probes the store until it answers.",
	}, []string{"reason"})
	m.pausedSeconds = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "saleassist_worker_paused_seconds_total",
		Help: "Seconds the worker spent paused on an unavailable store.",
	})
	m.deliveries = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "saleassist_worker_event_deliveries",
		Help:    "Deliveries an event took until it was stored (or found a duplicate): 1 when it was stored at its first.",
		Buckets: []float64{1, 2, 3, 5, 10, 20},
	})
	m.mappingInvalid = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "saleassist_worker_account_mapping_invalid",
		Help: "1 while an account's own mapping does not compile: its events wait in its consumer, spending no delivery, until `ingestctl accounts set-mapping` fixes it; 0 otherwise.",
	}, []string{"account"})
	reg.MustRegister(m.events, m.invalid, m.handle, m.batch, m.store, m.batchSize, m.age, m.redelivered, m.deadLetters, m.pending, m.ackPending, m.lag, m.paused, m.pausedSeconds, m.deliveries, m.mappingInvalid)
	for _, r := range store.UnavailableReasons {
		m.paused.WithLabelValues(r)
	}
	return m
}

// OtherAccount is the account label of events whose account is not configured (any more): an
// account removed while its events were drained, or a message published by something else.
const OtherAccount = "other"

// initAccount creates the series of an account with their zero values, so that dashboards and
// alerts see the account before its first event. knownTypes are the event types with a handler.
func (m *Metrics) initAccount(acct string, knownTypes []string) {
	for _, t := range append(knownTypes, "other") {
		for _, o := range []string{OutcomeStored, OutcomeDuplicate, OutcomeUnknownType, OutcomeInvalid, OutcomeFailed, OutcomeDeadLettered} {
			if o == OutcomeUnknownType && t != "other" {
				continue
			}
			m.events.WithLabelValues(acct, t, o)
		}
		m.invalid.WithLabelValues(acct, t)
	}
	for _, r := range []string{ReasonInvalid, ReasonPermanent, ReasonUndecodable, ReasonMaxDeliver, ReasonUnstorable} {
		m.deadLetters.WithLabelValues(acct, r)
	}
	m.mappingInvalid.WithLabelValues(acct)
}
