package admin

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/saleassist-pipeline/pipeline/pkg/queue"
)

// parked is a stream of messages parked for an operator: the dead letters, the quarantine, the
// discarded dead letters. Listing, reading, deleting and moving one out (a replay, a discard) are
// the same on each, and written here once; what an entry is (decode) and where a moved one goes
// are the caller's. Every operation sees only the entries of o's account (Ops.ForAccount), and one
// of another account is missing in the same words as one that does not exist.
type parked[T any] struct {
	o      *Ops
	stream string // the stream's name
	hint   string // why the stream may not exist yet, for the error when it does not
	noun   string // one entry, in errors: "dead letter"
	cmd    string // its ingestctl command, named in errors: "dlq"
	decode func(*jetstream.RawStreamMsg) T
}

// deadLetters, quarantine and discarded are o's parked streams.
func (o *Ops) deadLetters() parked[DeadLetter] {
	return parked[DeadLetter]{o, o.cfg.DeadLetterStream, "has a worker run against this NATS?", "dead letter", "dlq", deadLetterOf}
}

func (o *Ops) quarantine() parked[QuarantineEntry] {
	return parked[QuarantineEntry]{o, o.cfg.QuarantineStream, "has an ingest run against this NATS?", "quarantine entry", "quarantine", quarantineEntryOf}
}

func (o *Ops) discarded() parked[Discarded] {
	return parked[Discarded]{o, queue.DefaultDiscardedStream, "nothing was discarded against this NATS", "discarded dead letter", "dlq", discardedOf}
}

// open opens the stream; ErrNoStream when it does not exist yet.
func (p parked[T]) open(ctx context.Context) (jetstream.Stream, error) {
	return p.o.stream(ctx, p.stream, p.hint)
}

// list decodes every entry, oldest first; none (and no error) when the stream does not exist.
func (p parked[T]) list(ctx context.Context) ([]T, error) {
	out := []T{}
	err := p.each(ctx, func(m *jetstream.RawStreamMsg) { out = append(out, p.decode(m)) })
	return out, err
}

// count counts the entries without decoding them.
func (p parked[T]) count(ctx context.Context) (uint64, error) {
	var n uint64
	err := p.each(ctx, func(*jetstream.RawStreamMsg) { n++ })
	return n, err
}

// each calls fn for every entry o sees, oldest first, skipping deleted ones (replayed or
// dropped); nothing when the stream does not exist.
func (p parked[T]) each(ctx context.Context, fn func(*jetstream.RawStreamMsg)) error {
	stream, err := p.open(ctx)
	if errors.Is(err, ErrNoStream) {
		return nil
	}
	if err != nil {
		return err
	}
	info, err := stream.Info(ctx)
	if err != nil {
		return fmt.Errorf("stream %s: %w", p.stream, err)
	}
	for seq := info.State.FirstSeq; info.State.Msgs > 0 && seq <= info.State.LastSeq; seq++ {
		m, err := stream.GetMsg(ctx, seq)
		if queue.IsNotFound(err) {
			continue
		}
		if err != nil {
			return fmt.Errorf("read %s %d: %w", p.noun, seq, err)
		}
		if p.o.sees(m.Header) {
			fn(m)
		}
	}
	return nil
}

// msg reads entry id as stored.
func (p parked[T]) msg(ctx context.Context, id uint64) (*jetstream.RawStreamMsg, error) {
	stream, err := p.open(ctx)
	if err != nil {
		return nil, err
	}
	return p.get(ctx, stream, id)
}

// get reads entry id of an open stream.
func (p parked[T]) get(ctx context.Context, stream jetstream.Stream, id uint64) (*jetstream.RawStreamMsg, error) {
	m, err := stream.GetMsg(ctx, id)
	if err == nil && !p.o.sees(m.Header) {
		err = jetstream.ErrMsgNotFound
	}
	if queue.IsNotFound(err) {
		return nil, missing{fmt.Sprintf("%s %d does not exist (replayed or deleted already? see `ingestctl %s list`)", p.noun, id, p.cmd)}
	}
	if err != nil {
		return nil, fmt.Errorf("read %s %d: %w", p.noun, id, err)
	}
	return m, nil
}

// delete drops entry id for good.
func (p parked[T]) delete(ctx context.Context, id uint64) error {
	stream, err := p.open(ctx)
	if err != nil {
		return err
	}
	if _, err := p.get(ctx, stream, id); err != nil {
		return err
	}
	if err := stream.DeleteMsg(ctx, id); err != nil {
		return fmt.Errorf("delete %s %d: %w", p.noun, id, err)
	}
	return nil
}

// move takes entry id out of the stream: put sends it on (republishes it, records it as
// discarded) and says what it did, for the error should removing the entry then fail. The entry
// is removed only once put succeeded, so a failure anywhere leaves it where it was.
func (p parked[T]) move(ctx context.Context, id uint64, put func(*jetstream.RawStreamMsg) (done string, err error)) error {
	stream, err := p.open(ctx)
	if err != nil {
		return err
	}
	m, err := p.get(ctx, stream, id)
	if err != nil {
		return err
	}
	done, err := put(m)
	if err != nil {
		return err
	}
	if err := stream.DeleteMsg(ctx, id); err != nil && !queue.IsNotFound(err) {
		return fmt.Errorf("%s, but removing %s %d failed: %w; delete it with `ingestctl %s delete %d`", done, p.noun, id, err, p.cmd, id)
	}
	return nil
}
