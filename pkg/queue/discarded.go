package queue

import "github.com/nats-io/nats.go/jetstream"

// Defaults of the discarded stream: dead letters an operator discarded, with the reason given,
// kept as a record of what was given up on and why.
const (
	DefaultDiscardedStream   = "SALEASSIST_DISCARDED"
	DefaultDiscardedSubject  = "saleassist.discarded"
	DefaultDiscardedMaxBytes = 256 << 20
)

// Headers a discarded dead letter carries on top of the dead letter's own.
const (
	// HeaderDiscardReason is the operator's reason for discarding it.
	HeaderDiscardReason = "Saleassist-Discard-Reason"
	// HeaderDiscardedAt is when it was discarded (RFC 3339).
	HeaderDiscardedAt = "Saleassist-Discarded-At"
	// HeaderDiscardedFrom is the dead letter's id (its sequence in the dead-letter stream).
	HeaderDiscardedFrom = "Saleassist-Discarded-From"
	// HeaderReplayOf marks an event republished from a dead letter ("dlq/<id>"), so the worker
	// can count replays by outcome.
	HeaderReplayOf = "Saleassist-Replay-Of"
)

// DiscardedStreamConfig keeps discarded dead letters up to DefaultDiscardedMaxBytes; when it is
// full, a discard fails (and the dead letter stays) rather than an older record being dropped.
func (c Config) DiscardedStreamConfig() jetstream.StreamConfig {
	return c.keepStream(DefaultDiscardedStream, DefaultDiscardedSubject, DefaultDiscardedMaxBytes,
		"dead letters an operator discarded, with the reason")
}
