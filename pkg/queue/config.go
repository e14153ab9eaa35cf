// Package queue is the pipeline's JetStream layer: the events stream, the publisher the ingest
// uses, the durable consumer the workers share, and the embedded server of standalone mode.
package queue

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/saleassist-pipeline/pipeline/pkg/account"
)

// Defaults for the events stream and its consumer. They are part of the operators' contract: the
// README names them, and ingestctl and dashboards look them up.
const (
	DefaultStream        = "SALEASSIST_EVENTS"
	DefaultSubjectPrefix = "saleassist.events"
	DefaultConsumer      = "saleassist-worker"
	DefaultMaxBytes      = 1 << 30 // 1 GiB of unprocessed events
	DefaultDuplicates    = 2 * time.Minute
	DefaultAckWait       = 30 * time.Second
)

// Config names the events stream and sets its limits. The zero value is not usable; start from
// DefaultConfig.
type Config struct {
	// Stream is the JetStream stream holding events until a worker has stored them.
	Stream string
	// SubjectPrefix is followed by the account and the event type:
	// saleassist.events.<account>.<event_type> (see Subject).
	SubjectPrefix string
	// Consumer is the durable pull consumer every worker process shares.
	Consumer string
	// MaxBytes bounds the backlog; when it is full, publishes fail (DiscardNew) and the ingest
	// answers 503, rather than old events being dropped.
	MaxBytes int64
	// Duplicates is the window in which JetStream drops a second message with the same
	// Nats-Msg-Id. The store's unique event id is the lasting dedupe.
	Duplicates time.Duration
	// Replicas is 1 standalone, 3 in a cluster.
	Replicas int
	// AckWait is how long a worker may hold a message before JetStream redelivers it.
	AckWait time.Duration
	// QuarantineStream keeps authenticated requests the ingest could not accept, on
	// QuarantineSubject, up to QuarantineMaxBytes.
	QuarantineStream   string
	QuarantineSubject  string
	QuarantineMaxBytes int64
	// DeadLetterStream keeps events the workers gave up on, on DeadLetterSubject, up to
	// DeadLetterMaxBytes.
	DeadLetterStream   string
	DeadLetterSubject  string
	DeadLetterMaxBytes int64
}

// DefaultConfig returns the configuration standalone mode uses.
func DefaultConfig() Config {
	return Config{
		Stream:        DefaultStream,
		SubjectPrefix: DefaultSubjectPrefix,
		Consumer:      DefaultConsumer,
		MaxBytes:      DefaultMaxBytes,
		Duplicates:    DefaultDuplicates,
		Replicas:      1,
		AckWait:       DefaultAckWait,

		QuarantineStream:   DefaultQuarantineStream,
		QuarantineSubject:  DefaultQuarantineSubject,
		QuarantineMaxBytes: DefaultQuarantineMaxBytes,

		DeadLetterStream:   DefaultDeadLetterStream,
		DeadLetterSubject:  DefaultDeadLetterSubject,
		DeadLetterMaxBytes: DefaultDeadLetterMaxBytes,
	}
}

// StreamConfig is the events stream: file storage, work-queue retention (an event leaves the
// stream once a worker has acknowledged it, so MaxBytes bounds the backlog, not the history —
// history lives in the store), and DiscardNew so that overload surfaces as a publish error.
func (c Config) StreamConfig() jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        c.Stream,
		Description: "SaleAssist webhooks accepted by the ingest, awaiting a worker",
		Subjects:    []string{c.SubjectPrefix + ".>"},
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.WorkQueuePolicy,
		Discard:     jetstream.DiscardNew,
		MaxBytes:    c.MaxBytes,
		Duplicates:  c.Duplicates,
		Replicas:    c.Replicas,
	}
}

// ConsumerConfig is the durable pull consumer shared by all workers: explicit acks (sent only
// after the store committed), and no delivery limit on the server: the worker itself moves an
// event that failed MaxDeliver times to the dead-letter stream (with why), where JetStream would
// merely stop delivering it.
func (c Config) ConsumerConfig() jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		Durable:       c.Consumer,
		Description:   "SaleAssist pipeline workers",
		FilterSubject: c.SubjectPrefix + ".>",
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       c.AckWait,
		MaxDeliver:    -1,
		MaxAckPending: 4096,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	}
}

// AccountConsumer names the durable consumer of one account's events: the default account keeps
// the consumer of before accounts (Consumer), every other account has Consumer-<id>.
func (c Config) AccountConsumer(accountID string) string {
	if id := accountOrDefault(accountID); id != account.Default {
		return c.Consumer + "-" + id
	}
	return c.Consumer
}

// ConsumerAccount is the account whose consumer is named name (AccountConsumer's form), and
// false for a name of another form.
func (c Config) ConsumerAccount(name string) (string, bool) {
	if name == c.Consumer {
		return account.Default, true
	}
	id, ok := strings.CutPrefix(name, c.Consumer+"-")
	if !ok || account.ValidID(id) != nil || id == account.Default {
		return "", false
	}
	return id, true
}

// AccountFilter is the subjects of one account's events. The default account's also holds the
// subjects of before accounts (saleassist.events.<event_type>, one token after the prefix).
// The filters of two accounts never overlap, as a work-queue stream requires of its consumers.
func (c Config) AccountFilter(accountID string) []string {
	id := accountOrDefault(accountID)
	if id == account.Default {
		return []string{c.SubjectPrefix + ".*", c.SubjectPrefix + "." + id + ".>"}
	}
	return []string{c.SubjectPrefix + "." + id + ".>"}
}

// AccountConsumerConfig is ConsumerConfig narrowed to one account's events (AccountConsumer,
// AccountFilter): workers fetch from each account's consumer in turn, so one account's backlog
// cannot starve another's events.
func (c Config) AccountConsumerConfig(accountID string) jetstream.ConsumerConfig {
	cc := c.ConsumerConfig()
	cc.Durable = c.AccountConsumer(accountID)
	cc.Description = "SaleAssist pipeline workers, account " + accountOrDefault(accountID)
	cc.FilterSubject = ""
	cc.FilterSubjects = c.AccountFilter(accountID)
	if len(cc.FilterSubjects) == 1 {
		cc.FilterSubject, cc.FilterSubjects = cc.FilterSubjects[0], nil
	}
	return cc
}

// EnsureStream creates the events stream and the quarantine stream, or updates them to c, and
// returns the events stream. The ingest calls it: the streams' limits are its configuration.
func EnsureStream(ctx context.Context, js jetstream.JetStream, c Config) (jetstream.Stream, error) {
	if _, err := js.CreateOrUpdateStream(ctx, c.QuarantineStreamConfig()); err != nil {
		return nil, fmt.Errorf("create or update stream %s: %w", c.QuarantineStream, err)
	}
	s, err := js.CreateOrUpdateStream(ctx, c.StreamConfig())
	if err != nil {
		return nil, fmt.Errorf("create or update stream %s: %w", c.Stream, err)
	}
	return s, nil
}

// LookupStream returns the events stream, creating it with c when it does not exist yet (a worker
// started before any ingest). An existing stream is left as the ingest configured it.
func LookupStream(ctx context.Context, js jetstream.JetStream, c Config) (jetstream.Stream, error) {
	s, err := js.Stream(ctx, c.Stream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		s, err = js.CreateStream(ctx, c.StreamConfig())
		if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			s, err = js.Stream(ctx, c.Stream)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("look up stream %s: %w", c.Stream, err)
	}
	return s, nil
}
