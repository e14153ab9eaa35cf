package admin

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/saleassist-pipeline/pipeline/pkg/queue"
)

// deadLetter is one line of `dlq list`.
type deadLetter struct {
	ID           uint64    `json:"id"`
	EventID      string    `json:"event_id"`
	EventType    string    `json:"event_type"`
	Reason       string    `json:"reason"`
	Error        string    `json:"error"`
	Deliveries   int       `json:"deliveries"`
	FirstFailure time.Time `json:"first_failure"`
	Subject      string    `json:"subject"`
	StreamSeq    uint64    `json:"stream_seq"`
}

func deadLetterOf(m *jetstream.RawStreamMsg) deadLetter {
	h := m.Header
	d := deadLetter{ID: m.Sequence,
		EventID:   queue.DecodeHeaderValue(h.Get(queue.HeaderEventID)),
		EventType: queue.DecodeHeaderValue(h.Get(queue.HeaderEventType)),
		Reason:    h.Get(queue.HeaderDLQReason), Error: h.Get(queue.HeaderDLQError), Subject: h.Get(queue.HeaderDLQSubject)}
	d.Deliveries, _ = strconv.Atoi(h.Get(queue.HeaderDLQDeliveries))
	d.StreamSeq, _ = strconv.ParseUint(h.Get(queue.HeaderDLQStreamSeq), 10, 64)
	d.FirstFailure, _ = time.Parse(time.RFC3339Nano, h.Get(queue.HeaderDLQFirstFailure))
	return d
}

// dlq runs `ingestctl dlq <verb> …`.
func (c *CLI) dlq(ctx context.Context, verb string, args []string) error {
	var (
		jsonOut, all bool
		id           uint64
	)
	for _, a := range args {
		switch {
		case a == "--json" && verb == "list":
			jsonOut = true
		case a == "--all" && verb == "replay":
			all = true
		case id == 0 && verb != "list":
			n, err := strconv.ParseUint(a, 10, 64)
			if err != nil || n == 0 {
				return usageError{fmt.Sprintf("dlq %s: %q is not an id from `ingestctl dlq list`", verb, a)}
			}
			id = n
		default:
			return usageError{fmt.Sprintf("dlq %s: unexpected argument %q", verb, a)}
		}
	}
	switch {
	case verb != "list" && verb != "show" && verb != "replay" && verb != "delete":
		return usageError{fmt.Sprintf("unknown dlq command %q", verb)}
	case verb != "list" && id == 0 && !all:
		return usageError{fmt.Sprintf("dlq %s needs an ID (or --all for replay)", verb)}
	case all && id != 0:
		return usageError{"dlq replay takes an ID or --all, not both"}
	}
	closeConn, err := c.connect()
	if err != nil {
		return err
	}
	defer closeConn()
	stream, err := c.js.Stream(ctx, c.cfg.DeadLetterStream)
	if err != nil {
		return fmt.Errorf("dead-letter stream %s: %w (has a worker run against this NATS?)", c.cfg.DeadLetterStream, err)
	}
	switch verb {
	case "list":
		return c.dlqList(ctx, stream, jsonOut)
	case "show":
		m, err := getDeadLetter(ctx, stream, id)
		if err != nil {
			return err
		}
		keys := make([]string, 0, len(m.Header))
		for k := range m.Header {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(c.Stderr, "%s: %s\n", k, m.Header.Get(k))
		}
		_, err = c.Stdout.Write(m.Data)
		return err
	case "delete":
		if _, err := getDeadLetter(ctx, stream, id); err != nil {
			return err
		}
		if err := stream.DeleteMsg(ctx, id); err != nil {
			return fmt.Errorf("delete dead letter %d: %w", id, err)
		}
		fmt.Fprintf(c.Stdout, "deleted dead letter %d\n", id)
		return nil
	}
	if !all {
		return c.dlqReplay(ctx, stream, id)
	}
	letters, err := c.deadLetters(ctx, stream)
	if err != nil {
		return err
	}
	for _, d := range letters {
		if err := c.dlqReplay(ctx, stream, d.ID); err != nil {
			return fmt.Errorf("%w (the dead letters before it were replayed)", err)
		}
	}
	fmt.Fprintf(c.Stdout, "replayed %d dead letters\n", len(letters))
	return nil
}

func (c *CLI) deadLetters(ctx context.Context, stream jetstream.Stream) ([]deadLetter, error) {
	out := []deadLetter{}
	err := eachMsg(ctx, stream, "dead letter", func(m *jetstream.RawStreamMsg) { out = append(out, deadLetterOf(m)) })
	return out, err
}

func (c *CLI) dlqList(ctx context.Context, stream jetstream.Stream, jsonOut bool) error {
	letters, err := c.deadLetters(ctx, stream)
	if err != nil {
		return err
	}
	if jsonOut {
		return c.printJSON(letters)
	}
	tw := tabwriter.NewWriter(c.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tEVENT\tTYPE\tREASON\tDELIVERIES\tFIRST FAILURE\tERROR")
	for _, d := range letters {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%s\t%s\n", d.ID, d.EventID, d.EventType, d.Reason, d.Deliveries,
			d.FirstFailure.Format(time.RFC3339), clip(d.Error, 100))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(c.Stdout, "%d dead letters\n", len(letters))
	return nil
}

// dlqReplay republishes a dead letter to the events stream with a fresh Nats-Msg-Id (the
// original id may still sit in the broker's duplicate window, which would swallow it; the store's
// event-id dedupe still protects the leads) and removes it only once that is acknowledged.
func (c *CLI) dlqReplay(ctx context.Context, stream jetstream.Stream, id uint64) error {
	m, err := getDeadLetter(ctx, stream, id)
	if err != nil {
		return err
	}
	d := deadLetterOf(m)
	subject := d.Subject
	if subject == "" {
		subject = c.cfg.Subject(d.EventType)
	}
	h := nats.Header{}
	for k, v := range m.Header {
		if !strings.HasPrefix(k, "Saleassist-Dlq-") {
			h[k] = v
		}
	}
	// The id as it travels (escaped), so that NATS keeps this Nats-Msg-Id as written too.
	h.Set(jetstream.MsgIDHeader, fmt.Sprintf("%s/replay/dlq-%d/%d", m.Header.Get(queue.HeaderEventID), id, time.Now().UnixNano()))
	if _, err := c.js.PublishMsg(ctx, &nats.Msg{Subject: subject, Header: h, Data: m.Data}); err != nil {
		return fmt.Errorf("replay dead letter %d: %w; it stays in the dead-letter stream", id, err)
	}
	if err := stream.DeleteMsg(ctx, id); err != nil && !queue.IsNotFound(err) {
		return fmt.Errorf("event %s was republished, but removing dead letter %d failed: %w; delete it with `ingestctl dlq delete %d`", d.EventID, id, err, id)
	}
	fmt.Fprintf(c.Stdout, "replayed dead letter %d (event %s, %s)\n", id, d.EventID, d.Reason)
	return nil
}

func getDeadLetter(ctx context.Context, stream jetstream.Stream, id uint64) (*jetstream.RawStreamMsg, error) {
	m, err := stream.GetMsg(ctx, id)
	if queue.IsNotFound(err) {
		return nil, fmt.Errorf("dead letter %d does not exist (replayed or deleted already? see `ingestctl dlq list`)", id)
	}
	if err != nil {
		return nil, fmt.Errorf("read dead letter %d: %w", id, err)
	}
	return m, nil
}
