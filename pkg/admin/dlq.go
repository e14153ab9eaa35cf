package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/saleassist-pipeline/pipeline/pkg/accept"
	"github.com/saleassist-pipeline/pipeline/pkg/queue"
)

// DeadLetter is an event the workers gave up on: one line of `dlq list`, one row of the
// console's dead letters.
type DeadLetter struct {
	ID        uint64 `json:"id"`
	EventID   string `json:"event_id"`
	EventType string `json:"event_type"`
	// Account is the account the event was sent to (its Saleassist-Account header).
	Account      string    `json:"account"`
	Reason       string    `json:"reason"`
	Error        string    `json:"error"`
	Deliveries   int       `json:"deliveries"`
	FirstFailure time.Time `json:"first_failure"`
	Subject      string    `json:"subject"`
	StreamSeq    uint64    `json:"stream_seq"`
}

func deadLetterOf(m *jetstream.RawStreamMsg) DeadLetter {
	h := m.Header
	d := DeadLetter{ID: m.Sequence,
		EventID:   queue.DecodeHeaderValue(h.Get(queue.HeaderEventID)),
		EventType: queue.DecodeHeaderValue(h.Get(queue.HeaderEventType)), Account: queue.AccountOf(h),
		Reason: h.Get(queue.HeaderDLQReason), Error: h.Get(queue.HeaderDLQError), Subject: h.Get(queue.HeaderDLQSubject)}
	d.Deliveries, _ = strconv.Atoi(h.Get(queue.HeaderDLQDeliveries))
	d.StreamSeq, _ = strconv.ParseUint(h.Get(queue.HeaderDLQStreamSeq), 10, 64)
	d.FirstFailure, _ = time.Parse(time.RFC3339Nano, h.Get(queue.HeaderDLQFirstFailure))
	return d
}

// dlq runs `ingestctl dlq <verb> …`.
func (c *CLI) dlq(ctx context.Context, verb string, args []string) error {
	var (
		jsonOut, all, unchanged bool
		bodyFile, reason, acct  string
		hasReason               bool
		id                      uint64
	)
	for i := 0; i < len(args); i++ {
		a := args[i]
		flagValue := func() (string, bool) {
			if i+1 < len(args) {
				i++
				return args[i], true
			}
			return "", false
		}
		switch {
		case (a == "--json" || a == "-json") && (verb == "list" || verb == "discarded"):
			jsonOut = true
		case (a == "--all" || a == "-all") && verb == "replay":
			all = true
		case (a == "--account" || a == "-account") && (verb == "list" || verb == "discarded" || verb == "replay"):
			v, ok := flagValue()
			if !ok {
				return usageError{"dlq " + verb + " --account needs an account id (see `ingestctl accounts list`)"}
			}
			acct = v
		case (a == "--unchanged" || a == "-unchanged") && verb == "replay":
			unchanged = true
		case (a == "--body" || a == "-body") && verb == "replay":
			v, ok := flagValue()
			if !ok {
				return usageError{"dlq replay --body needs a FILE holding the corrected event (UTF-8 JSON)"}
			}
			bodyFile = v
		case (a == "--reason" || a == "-reason") && verb == "discard":
			v, ok := flagValue()
			if !ok {
				return usageError{"dlq discard --reason needs the reason, in quotes"}
			}
			reason, hasReason = v, true
		case id == 0 && verb != "list" && verb != "discarded" && !strings.HasPrefix(a, "-"):
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
	case verb != "list" && verb != "show" && verb != "replay" && verb != "delete" && verb != "discard" && verb != "discarded":
		return usageError{fmt.Sprintf("unknown dlq command %q", verb)}
	case verb != "list" && verb != "discarded" && id == 0 && !all:
		return usageError{fmt.Sprintf("dlq %s needs an ID (or --all for replay)", verb)}
	case all && id != 0:
		return usageError{"dlq replay takes an ID or --all, not both"}
	case acct != "" && verb == "replay" && !all:
		return usageError{"dlq replay --account goes with --all: one dead letter is named by its ID alone"}
	case all && bodyFile != "":
		return usageError{"dlq replay --body replaces one dead letter's body: give an ID, not --all"}
	case verb == "discard" && !hasReason:
		return usageError{"dlq discard needs --reason TEXT: why the event is given up on is recorded with it"}
	}
	var body []byte
	if bodyFile != "" {
		var err error
		if body, err = os.ReadFile(bodyFile); err != nil {
			return fmt.Errorf("read corrected body: %w", err)
		}
	}
	closeConn, err := c.connect()
	if err != nil {
		return err
	}
	defer closeConn()
	ops := c.ops.ForAccount(acct)
	switch verb {
	case "list":
		return c.dlqList(ctx, ops, jsonOut)
	case "discarded":
		return c.dlqDiscarded(ctx, ops, jsonOut)
	case "show":
		m, err := c.ops.DeadLetterMsg(ctx, id)
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
		if err := c.ops.DeleteDeadLetter(ctx, id); err != nil {
			return err
		}
		fmt.Fprintf(c.Stdout, "deleted dead letter %d\n", id)
		return nil
	case "discard":
		d, err := c.ops.DiscardDeadLetter(ctx, id, reason)
		if err != nil {
			return err
		}
		fmt.Fprintf(c.Stdout, "discarded dead letter %d (event %s): %s\n", id, d.EventID, d.DiscardReason)
		return nil
	}
	opts := ReplayOptions{Body: body, Unchanged: unchanged}
	if !all {
		return c.dlqReplay(ctx, id, opts)
	}
	letters, err := ops.DeadLetters(ctx)
	if err != nil {
		return err
	}
	replayed, skipped := 0, 0
	for _, d := range letters {
		if !unchanged && !queue.TransientReason(d.Reason) {
			skipped++
			continue
		}
		if err := c.dlqReplay(ctx, d.ID, opts); err != nil {
			return fmt.Errorf("%w (the dead letters before it were replayed)", err)
		}
		replayed++
	}
	fmt.Fprintf(c.Stdout, "replayed %s", plural(replayed, "dead letter"))
	if skipped > 0 {
		fmt.Fprintf(c.Stdout, "; left %s whose reason says the event itself is bad (replay each with --body FILE, discard it, or use --unchanged after a fix)", plural(skipped, "dead letter"))
	}
	fmt.Fprintln(c.Stdout)
	return nil
}

// plural is "1 dead letter", "2 dead letters".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

func (c *CLI) dlqList(ctx context.Context, ops *Ops, jsonOut bool) error {
	letters, err := ops.DeadLetters(ctx)
	if err != nil {
		return err
	}
	if jsonOut {
		return c.printJSON(letters)
	}
	tw := tabwriter.NewWriter(c.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tACCOUNT\tEVENT\tTYPE\tREASON\tDELIVERIES\tFIRST FAILURE\tERROR")
	for _, d := range letters {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", d.ID, d.Account, d.EventID, d.EventType, d.Reason, d.Deliveries,
			d.FirstFailure.Format(time.RFC3339), clip(d.Error, 100))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(c.Stdout, plural(len(letters), "dead letter"))
	return nil
}

func (c *CLI) dlqDiscarded(ctx context.Context, ops *Ops, jsonOut bool) error {
	list, err := ops.DiscardedDeadLetters(ctx)
	if err != nil {
		return err
	}
	if jsonOut {
		return c.printJSON(list)
	}
	tw := tabwriter.NewWriter(c.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "WAS\tACCOUNT\tEVENT\tTYPE\tDLQ REASON\tDISCARDED\tWHY")
	for _, d := range list {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", d.ID, d.Account, d.EventID, d.EventType, d.Reason, d.DiscardedAt.Format(time.RFC3339), clip(d.DiscardReason, 100))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(c.Stdout, plural(len(list), "discarded dead letter"))
	return nil
}

func (c *CLI) dlqReplay(ctx context.Context, id uint64, opts ReplayOptions) error {
	d, err := c.ops.ReplayDeadLetter(ctx, id, opts)
	if err != nil {
		return err
	}
	how := "as it was"
	if opts.Body != nil {
		how = "with the corrected body"
	}
	fmt.Fprintf(c.Stdout, "replayed dead letter %d (event %s, dead-lettered as %s) %s\n", id, d.EventID, d.Reason, how)
	return nil
}

// deadLetterStream opens the dead-letter stream.
func (o *Ops) deadLetterStream(ctx context.Context) (jetstream.Stream, error) {
	return o.stream(ctx, o.cfg.DeadLetterStream, "has a worker run against this NATS?")
}

// DeadLetters lists the dead letters, oldest first; none (and no error) when the stream does not
// exist yet.
func (o *Ops) DeadLetters(ctx context.Context) ([]DeadLetter, error) {
	out := []DeadLetter{}
	stream, err := o.deadLetterStream(ctx)
	if errors.Is(err, ErrNoStream) {
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	err = eachMsg(ctx, stream, "dead letter", func(m *jetstream.RawStreamMsg) {
		if o.sees(m.Header) {
			out = append(out, deadLetterOf(m))
		}
	})
	return out, err
}

// DeadLetterMsg returns dead letter id as stored: the event body and its headers.
func (o *Ops) DeadLetterMsg(ctx context.Context, id uint64) (*jetstream.RawStreamMsg, error) {
	stream, err := o.deadLetterStream(ctx)
	if err != nil {
		return nil, err
	}
	return o.getDeadLetter(ctx, stream, id)
}

// DeadLetter returns dead letter id as listed, with its body as stored (for the console's edit
// page).
func (o *Ops) DeadLetter(ctx context.Context, id uint64) (DeadLetter, []byte, error) {
	m, err := o.DeadLetterMsg(ctx, id)
	if err != nil {
		return DeadLetter{}, nil, err
	}
	return deadLetterOf(m), m.Data, nil
}

// DeleteDeadLetter drops dead letter id for good.
func (o *Ops) DeleteDeadLetter(ctx context.Context, id uint64) error {
	stream, err := o.deadLetterStream(ctx)
	if err != nil {
		return err
	}
	if _, err := o.getDeadLetter(ctx, stream, id); err != nil {
		return err
	}
	if err := stream.DeleteMsg(ctx, id); err != nil {
		return fmt.Errorf("delete dead letter %d: %w", id, err)
	}
	return nil
}

// ReplayOptions say how a dead letter is replayed.
type ReplayOptions struct {
	// Body, when not nil, replaces the event's body: a corrected event, UTF-8 JSON. It is checked
	// as the ingest checks a webhook (envelope, id, type) before it is published, and its
	// payload.id, if it has one, must be the dead letter's event id, so that replaying twice
	// cannot store twice.
	Body []byte
	// Unchanged replays a dead letter whose reason is permanent as it is: for after a fix to the
	// pipeline itself (a handler, a schema, the store). Without it such a replay is refused,
	// since it would only fail the same way again.
	Unchanged bool
}

// ErrNeedsChange is wrapped when a dead letter whose reason says the event itself is bad
// (invalid, permanent, undecodable, unstorable) is replayed unchanged: it would come straight
// back under a new id.
var ErrNeedsChange = errors.New("replaying it unchanged would fail the same way")

// ReplayDeadLetter republishes a dead letter to the events stream, as it is or with opts.Body
// instead of its body, and removes it only once that is acknowledged. It returns what the dead
// letter was. A dead letter whose reason is permanent is replayed only with a changed body or
// opts.Unchanged (ErrNeedsChange otherwise); one whose cause was transient (max_deliver, e.g.
// during an outage) goes through unchanged.
//
// The message gets a fresh Nats-Msg-Id (the original id may still sit in the broker's duplicate
// window, which would swallow it); the store's event-id dedupe still protects the leads, and the
// event id stays the original one. HeaderReplayOf marks it, for the workers' replay counts.
func (o *Ops) ReplayDeadLetter(ctx context.Context, id uint64, opts ReplayOptions) (DeadLetter, error) {
	stream, err := o.deadLetterStream(ctx)
	if err != nil {
		return DeadLetter{}, err
	}
	m, err := o.getDeadLetter(ctx, stream, id)
	if err != nil {
		return DeadLetter{}, err
	}
	d := deadLetterOf(m)
	if opts.Body == nil && !opts.Unchanged && !queue.TransientReason(d.Reason) {
		return DeadLetter{}, fmt.Errorf("%w: dead letter %d (event %s) was dead-lettered as %s (%s); %s. Replay it with a corrected body "+
			"(`ingestctl dlq show %d > fixed.json`, edit, `ingestctl dlq replay %d --body fixed.json`, or Edit and replay in the console), "+
			"discard it with a reason (`ingestctl dlq discard %d --reason TEXT`), or, once the pipeline itself was fixed, replay it as it is with --unchanged",
			ErrNeedsChange, id, d.EventID, d.Reason, clip(d.Error, 300), ErrNeedsChange, id, id, id)
	}
	subject := d.Subject
	if subject == "" {
		subject = o.cfg.Subject(queue.AccountOf(m.Header), d.EventType)
	}
	h := nats.Header{}
	for k, v := range m.Header {
		if !strings.HasPrefix(k, "Saleassist-Dlq-") {
			h[k] = v
		}
	}
	data := m.Data
	if opts.Body != nil {
		a, rej := accept.Body(accept.Request{ContentType: "application/json; charset=utf-8", Raw: opts.Body}, o.maxBody)
		if rej != nil {
			return DeadLetter{}, fmt.Errorf("%w: the corrected body for dead letter %d is not an acceptable event (%s: %s); it stays a dead letter",
				ErrNotReplayable, id, rej.Code, rej.Message)
		}
		if !opts.Unchanged && !queue.TransientReason(d.Reason) && sameBody(a.Body, m.Data) {
			return DeadLetter{}, fmt.Errorf("%w: the corrected body for dead letter %d is the body it has (spaces aside), so it would be dead-lettered as %s again; "+
				"change what made it fail (%s), or, once the pipeline itself was fixed, replay it as it is (--unchanged; Replay unchanged in the console)",
				ErrNeedsChange, id, d.Reason, clip(d.Error, 300))
		}
		if !a.Head.IDFromBody && a.Head.ID != d.EventID {
			return DeadLetter{}, fmt.Errorf("%w: the corrected body's payload.id is %q, the dead letter's event is %q: keep the event id "+
				"(or leave payload.id out), so that a second replay cannot store it twice; it stays a dead letter", ErrNotReplayable, a.Head.ID, d.EventID)
		}
		data = a.Body
		if a.Head.Type != d.EventType {
			h.Set(queue.HeaderEventType, queue.EncodeHeaderValue(a.Head.Type))
			subject = o.cfg.Subject(queue.AccountOf(m.Header), a.Head.Type)
		}
	}
	h.Set(queue.HeaderReplayOf, "dlq/"+strconv.FormatUint(id, 10))
	// The id as it travels (escaped), so that NATS keeps this Nats-Msg-Id as written too.
	h.Set(jetstream.MsgIDHeader, fmt.Sprintf("%s/replay/dlq-%d/%d", m.Header.Get(queue.HeaderEventID), id, time.Now().UnixNano()))
	pctx, cancel := context.WithTimeout(ctx, publishTimeout)
	defer cancel()
	if _, err := o.js.PublishMsg(pctx, &nats.Msg{Subject: subject, Header: h, Data: data}); err != nil {
		return DeadLetter{}, fmt.Errorf("replay dead letter %d: %w; it stays in the dead-letter stream", id, err)
	}
	if err := stream.DeleteMsg(ctx, id); err != nil && !queue.IsNotFound(err) {
		return DeadLetter{}, fmt.Errorf("event %s was republished, but removing dead letter %d failed: %w; delete it with `ingestctl dlq delete %d`", d.EventID, id, err, id)
	}
	return d, nil
}

// sameBody reports whether two bodies are the same JSON, insignificant spaces aside (or the same
// bytes, when either is not JSON): a "corrected" body that only re-indents the event is not a
// change.
func sameBody(a, b []byte) bool {
	var ca, cb bytes.Buffer
	if json.Compact(&ca, a) != nil || json.Compact(&cb, b) != nil {
		return bytes.Equal(a, b)
	}
	return bytes.Equal(ca.Bytes(), cb.Bytes())
}

// Discarded is a dead letter an operator gave up on, with the reason they gave.
type Discarded struct {
	DeadLetter
	// DiscardReason is the operator's reason; DiscardedAt when.
	DiscardReason string    `json:"discard_reason"`
	DiscardedAt   time.Time `json:"discarded_at"`
	// Seq is the record's id in the discarded stream.
	Seq uint64 `json:"seq"`
}

// maxDiscardReason bounds the reason kept with a discarded dead letter.
const maxDiscardReason = 500

// DiscardDeadLetter moves dead letter id, with reason, to the discarded stream (a record of what
// was given up on and why, shown in the console and by `ingestctl dlq discarded`), then removes
// it from the dead letters. The reason is required.
func (o *Ops) DiscardDeadLetter(ctx context.Context, id uint64, reason string) (Discarded, error) {
	reason = strings.Join(strings.Fields(reason), " ")
	switch {
	case reason == "":
		return Discarded{}, fmt.Errorf("%w: discarding dead letter %d needs a reason (--reason TEXT): it is recorded, and shown with the discarded event", ErrNotReplayable, id)
	case !utf8.ValidString(reason):
		return Discarded{}, fmt.Errorf("%w: the reason is not valid UTF-8", ErrNotReplayable)
	case len(reason) > maxDiscardReason:
		return Discarded{}, fmt.Errorf("%w: the reason is %d bytes; at most %d are kept: shorten it", ErrNotReplayable, len(reason), maxDiscardReason)
	}
	stream, err := o.deadLetterStream(ctx)
	if err != nil {
		return Discarded{}, err
	}
	m, err := o.getDeadLetter(ctx, stream, id)
	if err != nil {
		return Discarded{}, err
	}
	if _, err := o.js.Stream(ctx, queue.DefaultDiscardedStream); err != nil {
		cfg := o.cfg.DiscardedStreamConfig()
		if _, err := o.js.CreateOrUpdateStream(ctx, cfg); err != nil {
			return Discarded{}, fmt.Errorf("create stream %s: %w", cfg.Name, err)
		}
	}
	h := nats.Header{}
	for k, v := range m.Header {
		if k != jetstream.MsgIDHeader {
			h[k] = v
		}
	}
	now := time.Now().UTC()
	h.Set(queue.HeaderDiscardReason, reason)
	h.Set(queue.HeaderDiscardedAt, now.Format(time.RFC3339Nano))
	h.Set(queue.HeaderDiscardedFrom, strconv.FormatUint(id, 10))
	// Deduplicated by the dead letter's id, so a discard retried after a failed delete is kept once.
	h.Set(jetstream.MsgIDHeader, fmt.Sprintf("discard/%s/%d", o.cfg.DeadLetterStream, id))
	pctx, cancel := context.WithTimeout(ctx, publishTimeout)
	defer cancel()
	ack, err := o.js.PublishMsg(pctx, &nats.Msg{Subject: queue.DefaultDiscardedSubject, Header: h, Data: m.Data})
	if err != nil {
		return Discarded{}, fmt.Errorf("discard dead letter %d: %w; it stays a dead letter", id, err)
	}
	if err := stream.DeleteMsg(ctx, id); err != nil && !queue.IsNotFound(err) {
		return Discarded{}, fmt.Errorf("dead letter %d was recorded as discarded, but removing it failed: %w; delete it with `ingestctl dlq delete %d`", id, err, id)
	}
	return Discarded{DeadLetter: deadLetterOf(m), DiscardReason: reason, DiscardedAt: now, Seq: ack.Sequence}, nil
}

// DiscardedDeadLetters lists the discarded dead letters, oldest first; none when nothing was ever
// discarded.
func (o *Ops) DiscardedDeadLetters(ctx context.Context) ([]Discarded, error) {
	out := []Discarded{}
	stream, err := o.stream(ctx, queue.DefaultDiscardedStream, "nothing was discarded against this NATS")
	if errors.Is(err, ErrNoStream) {
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	err = eachMsg(ctx, stream, "discarded dead letter", func(m *jetstream.RawStreamMsg) {
		if !o.sees(m.Header) {
			return
		}
		d := Discarded{DeadLetter: deadLetterOf(m), DiscardReason: m.Header.Get(queue.HeaderDiscardReason), Seq: m.Sequence}
		d.ID, _ = strconv.ParseUint(m.Header.Get(queue.HeaderDiscardedFrom), 10, 64)
		d.DiscardedAt, _ = time.Parse(time.RFC3339Nano, m.Header.Get(queue.HeaderDiscardedAt))
		out = append(out, d)
	})
	return out, err
}

// getDeadLetter reads dead letter id; one of an account o does not see is missing, in the same
// words as one that does not exist.
func (o *Ops) getDeadLetter(ctx context.Context, stream jetstream.Stream, id uint64) (*jetstream.RawStreamMsg, error) {
	m, err := stream.GetMsg(ctx, id)
	if err == nil && !o.sees(m.Header) {
		err = jetstream.ErrMsgNotFound
	}
	if queue.IsNotFound(err) {
		return nil, missing{fmt.Sprintf("dead letter %d does not exist (replayed or deleted already? see `ingestctl dlq list`)", id)}
	}
	if err != nil {
		return nil, fmt.Errorf("read dead letter %d: %w", id, err)
	}
	return m, nil
}
