package admin

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/saleassist-pipeline/pipeline/pkg/queue"
)

// Ops are the operators' actions on a pipeline's JetStream: status, and listing, replaying and
// deleting dead letters and quarantined requests. Each returns data and prints nothing, so
// ingestctl (which prints it) and the console (which renders it) are two faces of one
// implementation. Ops is safe for concurrent use.
type Ops struct {
	conn *nats.Conn
	js   jetstream.JetStream
	cfg  queue.Config
	// maxBody is the largest body a quarantine replay submits, as the ingest's MAX_BODY_BYTES.
	maxBody int64
	// account, when not empty, limits the dead-letter and quarantine operations to that account's
	// entries (ForAccount); empty sees every account's.
	account string
}

// NewOps returns the operations over nc, on the streams cfg names. maxBody bounds a replayed
// quarantine body as the ingest's MAX_BODY_BYTES does.
func NewOps(nc *nats.Conn, cfg queue.Config, maxBody int64) (*Ops, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("jetstream context: %w", err)
	}
	return &Ops{conn: nc, js: js, cfg: cfg, maxBody: maxBody}, nil
}

// ErrNotFound is wrapped by the errors of operations on an entry that does not exist (replayed
// or deleted already), so callers can tell it from a failure.
var ErrNotFound = errors.New("no such entry")

// ErrNoStream is wrapped when the stream itself does not exist yet: nothing was ever dead-lettered
// or quarantined against this NATS. Listings treat that as empty.
var ErrNoStream = errors.New("stream not found")

// ErrNotReplayable is wrapped when a kept or corrected body is still not an event the webhook
// would accept: replaying it again unchanged cannot help.
var ErrNotReplayable = errors.New("not replayable as it is")

// missing is an error whose text is written for the operator and which is ErrNotFound.
type missing struct{ msg string }

func (m missing) Error() string { return m.msg }
func (m missing) Unwrap() error { return ErrNotFound }

// stream opens a stream by name; what and hint complete the error when it does not exist.
func (o *Ops) stream(ctx context.Context, name, hint string) (jetstream.Stream, error) {
	s, err := o.js.Stream(ctx, name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, fmt.Errorf("stream %s: %w (%s)", name, ErrNoStream, hint)
	}
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", name, err)
	}
	return s, nil
}

// Status reads the streams' sizes, the shared consumer's backlog, and how many dead letters
// and quarantined requests wait for an operator.
func (o *Ops) Status(ctx context.Context) (Status, error) {
	var st Status
	for _, name := range []string{o.cfg.Stream, o.cfg.DeadLetterStream, o.cfg.QuarantineStream} {
		ss := StreamStatus{Name: name}
		s, err := o.js.Stream(ctx, name)
		switch {
		case errors.Is(err, jetstream.ErrStreamNotFound):
		case err != nil:
			return Status{}, fmt.Errorf("stream %s: %w", name, err)
		default:
			info := s.CachedInfo()
			ss.Exists, ss.Messages, ss.Bytes, ss.MaxBytes = true, info.State.Msgs, info.State.Bytes, info.Config.MaxBytes
		}
		st.Streams = append(st.Streams, ss)
	}
	st.DeadLetters, st.Quarantined = st.Streams[1].Messages, st.Streams[2].Messages
	workers, err := queue.ReadWorkers(ctx, o.js)
	if err != nil {
		return Status{}, err
	}
	sort.Slice(workers, func(i, j int) bool { return workers[i].ID < workers[j].ID })
	st.Workers = append([]queue.WorkerState{}, workers...)
	if st.Streams[0].Exists {
		if st.Consumer, st.Accounts, err = o.consumers(ctx); err != nil {
			return Status{}, err
		}
	}
	return st, nil
}

// ConsumerName is the shared worker consumer's name, for messages.
func (o *Ops) ConsumerName() string { return o.cfg.Consumer }

// Lag is the consumer's backlog: pending plus acknowledgements outstanding; 0 without consumer.
func (c *ConsumerStatus) Lag() uint64 {
	if c == nil {
		return 0
	}
	return c.Pending + uint64(max(c.AckPending, 0))
}

// publishTimeout bounds a replay's wait for JetStream's acknowledgement.
const publishTimeout = 5 * time.Second
