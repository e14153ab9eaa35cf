package admin

import (
	"context"
	"errors"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/saleassist-pipeline/pipeline"
	"github.com/saleassist-pipeline/pipeline/pkg/accept"
	"github.com/saleassist-pipeline/pipeline/pkg/account"
	"github.com/saleassist-pipeline/pipeline/pkg/queue"
)

// quarantine runs `ingestctl quarantine <verb> …`.
func (c *CLI) quarantine(ctx context.Context, verb string, args []string) error {
	var (
		jsonOut        bool
		bodyFile, acct string
		id             uint64
	)
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "--json" && verb == "list":
			jsonOut = true
		case (a == "--account" || a == "-account") && verb == "list" && i+1 < len(args):
			i++
			acct = args[i]
		case (a == "--body" || a == "-body") && verb == "replay" && i+1 < len(args):
			i++
			bodyFile = args[i]
		case id == 0 && verb != "list":
			var err error
			if id, err = queue.ParseQuarantineID(a); err != nil {
				return usageError{err.Error()}
			}
		default:
			return usageError{fmt.Sprintf("quarantine %s: unexpected argument %q", verb, a)}
		}
	}
	if verb != "list" && id == 0 {
		return usageError{fmt.Sprintf("quarantine %s needs an ID (see `ingestctl quarantine list`)", verb)}
	}
	closeConn, err := c.connect()
	if err != nil {
		return err
	}
	defer closeConn()
	switch verb {
	case "list":
		return c.quarantineList(ctx, c.ops.ForAccount(acct), jsonOut)
	case "show":
		q, err := c.ops.QuarantinedEntry(ctx, id)
		if err != nil {
			return err
		}
		_, err = c.Stdout.Write(q.Body)
		return err
	case "replay":
		var body []byte
		if bodyFile != "" {
			if body, err = os.ReadFile(bodyFile); err != nil {
				return fmt.Errorf("read corrected body: %w", err)
			}
		}
		r, err := c.ops.ReplayQuarantined(ctx, id, body)
		if err != nil {
			return err
		}
		fmt.Fprintf(c.Stdout, "replayed quarantine entry %d as event %s (%s, duplicate: %t); removed from quarantine\n", id, r.EventID, r.EventType, r.Duplicate)
		return nil
	case "delete":
		if err := c.ops.DeleteQuarantined(ctx, id); err != nil {
			return err
		}
		fmt.Fprintf(c.Stdout, "deleted quarantine entry %d\n", id)
		return nil
	}
	return usageError{fmt.Sprintf("unknown quarantine command %q", verb)}
}

// QuarantineEntry is an authenticated request the ingest could not accept: one line of
// `quarantine list`, one row of the console's quarantine.
type QuarantineEntry struct {
	ID uint64 `json:"id"`
	// Account is the account whose webhook URL the request came to.
	Account    string    `json:"account"`
	ReceivedAt time.Time `json:"received_at"`
	Reason     string    `json:"reason"`
	Error      string    `json:"error"`
	Bytes      int       `json:"bytes"`
	RemoteAddr string    `json:"remote_addr,omitempty"`
}

func (c *CLI) quarantineList(ctx context.Context, ops *Ops, jsonOut bool) error {
	entries, err := ops.Quarantine(ctx)
	if err != nil {
		return err
	}
	if jsonOut {
		return c.printJSON(entries)
	}
	tw := tabwriter.NewWriter(c.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tACCOUNT\tRECEIVED\tREASON\tBYTES\tERROR")
	for _, e := range entries {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%s\n", e.ID, e.Account, e.ReceivedAt.Format(time.RFC3339), e.Reason, e.Bytes, clip(e.Error, 100))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(c.Stdout, "%d in quarantine\n", len(entries))
	return nil
}

// quarantineStream opens the quarantine stream.
func (o *Ops) quarantineStream(ctx context.Context) (jetstream.Stream, error) {
	return o.stream(ctx, o.cfg.QuarantineStream, "has an ingest run against this NATS?")
}

// Quarantine lists what the ingest quarantined, oldest first; none (and no error) when the
// stream does not exist yet.
func (o *Ops) Quarantine(ctx context.Context) ([]QuarantineEntry, error) {
	entries := []QuarantineEntry{}
	stream, err := o.quarantineStream(ctx)
	if errors.Is(err, ErrNoStream) {
		return entries, nil
	}
	if err != nil {
		return nil, err
	}
	err = eachMsg(ctx, stream, "quarantine entry", func(m *jetstream.RawStreamMsg) {
		if !o.sees(m.Header) {
			return
		}
		q := queue.QuarantineEntry(m)
		entries = append(entries, QuarantineEntry{q.ID, queue.AccountOf(m.Header), q.ReceivedAt, q.Reason, q.Error, len(q.Body), q.RemoteAddr})
	})
	return entries, err
}

// QuarantinedEntry returns quarantine entry id: the request's body exactly as received, and its
// kept headers.
func (o *Ops) QuarantinedEntry(ctx context.Context, id uint64) (*queue.Quarantined, error) {
	stream, err := o.quarantineStream(ctx)
	if err != nil {
		return nil, err
	}
	q, _, err := o.getQuarantined(ctx, stream, id)
	return q, err
}

// DeleteQuarantined drops quarantine entry id for good.
func (o *Ops) DeleteQuarantined(ctx context.Context, id uint64) error {
	stream, err := o.quarantineStream(ctx)
	if err != nil {
		return err
	}
	if _, _, err := o.getQuarantined(ctx, stream, id); err != nil {
		return err
	}
	if err := stream.DeleteMsg(ctx, id); err != nil {
		return fmt.Errorf("delete quarantine entry %d: %w", id, err)
	}
	return nil
}

// Replayed is what a quarantine replay submitted.
type Replayed struct {
	EventID   string `json:"event_id"`
	EventType string `json:"event_type"`
	// Duplicate says JetStream already had this event id within its duplicate window.
	Duplicate bool `json:"duplicate"`
}

// ReplayQuarantined submits a kept body, or body instead when it is not nil (a corrected one),
// the way the ingest would, and removes the entry from quarantine only once JetStream has
// acknowledged the event.
func (o *Ops) ReplayQuarantined(ctx context.Context, id uint64, body []byte) (Replayed, error) {
	stream, err := o.quarantineStream(ctx)
	if err != nil {
		return Replayed{}, err
	}
	q, acct, err := o.getQuarantined(ctx, stream, id)
	if err != nil {
		return Replayed{}, err
	}
	owner, err := o.replayAccount(ctx, acct, id)
	if err != nil {
		return Replayed{}, err
	}
	// The kept request is read exactly as the webhook read it (accept.Body is the webhook's own
	// code), headers and all; a corrected body is UTF-8 JSON, as ingestctl and the console say.
	req, what := accept.FromHeader(q.Header, q.Body), fmt.Sprintf("quarantine entry %d", id)
	if body != nil {
		req, what = accept.Request{ContentType: "application/json; charset=utf-8", Raw: body}, fmt.Sprintf("the corrected body for quarantine entry %d", id)
	}
	a, rej := accept.Body(req, o.maxBody)
	if rej != nil {
		return Replayed{}, fmt.Errorf("%w: %s is still not an acceptable event (%s: %s); it stays in quarantine: save it with `ingestctl quarantine show %d > fixed.json`, "+
			"fix it (as UTF-8 JSON), and replay with --body fixed.json", ErrNotReplayable, what, rej.Code, rej.Message, id)
	}
	// The account whose URL it came to must take it, as the webhook checks (accept.ForAccount): a
	// wrong_account entry is replayed only once its client id is the account's.
	if rej := accept.ForAccount(a, owner); rej != nil {
		return Replayed{}, fmt.Errorf("%w: %s does not belong to account %q (%s: %s); it stays in quarantine: add the client id to the account "+
			"(`ingestctl accounts`) if it is the account's, or have SaleAssist send it to the right account's URL and delete the entry (`ingestctl quarantine delete %d`)",
			ErrNotReplayable, what, acct, rej.Code, rej.Message, id)
	}
	head := a.Head
	body = a.Body
	pub, err := queue.NewPublisher(o.conn, o.cfg, publishTimeout)
	if err != nil {
		return Replayed{}, err
	}
	received := q.ReceivedAt
	if received.IsZero() {
		received = time.Now().UTC()
	}
	ack, err := pub.Publish(ctx, &pipeline.Event{ID: head.ID, Type: head.Type, ReceivedAt: received, Body: body, Account: acct})
	if err != nil {
		return Replayed{}, fmt.Errorf("replay quarantine entry %d: %w; it stays in quarantine", id, err)
	}
	if err := stream.DeleteMsg(ctx, id); err != nil && !queue.IsNotFound(err) {
		return Replayed{}, fmt.Errorf("event %s was accepted, but removing quarantine entry %d failed: %w; delete it with `ingestctl quarantine delete %d`", head.ID, id, err, id)
	}
	return Replayed{EventID: head.ID, EventType: head.Type, Duplicate: ack.Duplicate}, nil
}

// replayAccount is the account a quarantine entry of account id is replayed into, as the
// accounts bucket has it now: the default account without an entry is the environment's, which
// takes any client id; an account removed since cannot take it.
func (o *Ops) replayAccount(ctx context.Context, id string, entry uint64) (*account.Account, error) {
	kv, err := o.accounts(ctx)
	if err != nil {
		return nil, err
	}
	a, err := kv.Get(ctx, id)
	switch {
	case errors.Is(err, account.ErrNotFound) && id == account.Default:
		a = account.EnvDefault(nil, "", "")
	case errors.Is(err, account.ErrNotFound):
		return nil, fmt.Errorf("%w: quarantine entry %d came to account %q, which no longer exists; nothing can be replayed into it: delete the entry (`ingestctl quarantine delete %d`)",
			ErrNotReplayable, entry, id, entry)
	case err != nil:
		return nil, err
	}
	return &a, nil
}

// getQuarantined reads quarantine entry id and the account it came to; one of an account o does
// not see is missing, in the same words as one that does not exist.
func (o *Ops) getQuarantined(ctx context.Context, stream jetstream.Stream, id uint64) (*queue.Quarantined, string, error) {
	m, err := stream.GetMsg(ctx, id)
	if err == nil && !o.sees(m.Header) {
		err = jetstream.ErrMsgNotFound
	}
	if queue.IsNotFound(err) {
		return nil, "", missing{fmt.Sprintf("quarantine entry %d does not exist (replayed or deleted already? see `ingestctl quarantine list`)", id)}
	}
	if err != nil {
		return nil, "", fmt.Errorf("read quarantine entry %d: %w", id, err)
	}
	return queue.QuarantineEntry(m), queue.AccountOf(m.Header), nil
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
