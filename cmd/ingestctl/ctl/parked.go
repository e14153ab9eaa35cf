package ctl

import (
	"context"
	"fmt"
	"strconv"

	"github.com/nats-io/nats.go"

	"github.com/saleassist-pipeline/pipeline/pkg/admin"
	"github.com/saleassist-pipeline/pipeline/pkg/queue"
)

// parked is what the commands on one kind of parked message (dead letters, quarantine; see
// pkg/admin's parked.go) differ by: how an entry's ID reads, and the operations that read and
// delete one. `show` and `delete` are one command each for both (parked_show.go,
// parked_delete.go).
type parked struct {
	group, noun string // "dlq", "dead letter"
	parse       func(string) (uint64, error)
	// read returns an entry's body as kept, and the headers show prints on stderr (none for a
	// quarantined request).
	read   func(*admin.Ops, context.Context, uint64) ([]byte, nats.Header, error)
	delete func(*admin.Ops, context.Context, uint64) error
}

var (
	deadLetters = parked{group: "dlq", noun: "dead letter", parse: parseDeadLetterID,
		read: readDeadLetter, delete: (*admin.Ops).DeleteDeadLetter}
	quarantine = parked{group: "quarantine", noun: "quarantine entry", parse: queue.ParseQuarantineID,
		read: readQuarantined, delete: (*admin.Ops).DeleteQuarantined}
)

func parseDeadLetterID(s string) (uint64, error) {
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("%q is not an id from `ingestctl dlq list`", s)
	}
	return n, nil
}

func readDeadLetter(ops *admin.Ops, ctx context.Context, id uint64) ([]byte, nats.Header, error) {
	m, err := ops.DeadLetterMsg(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	return m.Data, m.Header, nil
}

func readQuarantined(ops *admin.Ops, ctx context.Context, id uint64) ([]byte, nats.Header, error) {
	q, err := ops.QuarantinedEntry(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	return q.Body, nil, nil
}

// withEntry parses the command line of a command taking one entry's ID (and flags), and runs fn
// with the ID on the operations.
func (p parked) withEntry(c *CLI, f *flags, args []string, fn func(ops *admin.Ops, id uint64) error) error {
	id, err := p.id(f, args)
	if err != nil {
		return err
	}
	return c.withOps(func(ops *admin.Ops) error { return fn(ops, id) })
}

// id parses the command line of a command taking one entry's ID (and flags).
func (p parked) id(f *flags, args []string) (uint64, error) {
	pos, err := f.parse(args, 1)
	if err != nil {
		return 0, err
	}
	if len(pos) == 0 {
		return 0, f.fail("%s needs an ID (see `ingestctl %s list`)", f.name, p.group)
	}
	return p.parseID(f, pos[0])
}

func (p parked) parseID(f *flags, s string) (uint64, error) {
	id, err := p.parse(s)
	if err != nil {
		return 0, f.fail("%s: %v", f.name, err)
	}
	return id, nil
}
