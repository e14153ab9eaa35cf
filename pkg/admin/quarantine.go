package admin

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/saleassist-pipeline/pipeline"
	"github.com/saleassist-pipeline/pipeline/pkg/accept"
	"github.com/saleassist-pipeline/pipeline/pkg/account"
	"github.com/saleassist-pipeline/pipeline/pkg/queue"
)

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

func quarantineEntryOf(m *jetstream.RawStreamMsg) QuarantineEntry {
	q := queue.QuarantineEntry(m)
	return QuarantineEntry{q.ID, queue.AccountOf(m.Header), q.ReceivedAt, q.Reason, q.Error, len(q.Body), q.RemoteAddr}
}

// Quarantine lists what the ingest quarantined, oldest first; none (and no error) when the
// stream does not exist yet.
func (o *Ops) Quarantine(ctx context.Context) ([]QuarantineEntry, error) {
	return o.quarantine().list(ctx)
}

// QuarantinedEntry returns quarantine entry id: the request's body exactly as received, and its
// kept headers.
func (o *Ops) QuarantinedEntry(ctx context.Context, id uint64) (*queue.Quarantined, error) {
	m, err := o.quarantine().msg(ctx, id)
	if err != nil {
		return nil, err
	}
	return queue.QuarantineEntry(m), nil
}

// DeleteQuarantined drops quarantine entry id for good.
func (o *Ops) DeleteQuarantined(ctx context.Context, id uint64) error {
	return o.quarantine().delete(ctx, id)
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
	var r Replayed
	err := o.quarantine().move(ctx, id, func(m *jetstream.RawStreamMsg) (string, error) {
		ev, err := o.reaccept(ctx, m, body)
		if err != nil {
			return "", err
		}
		pub, err := queue.NewPublisher(o.conn, o.cfg, publishTimeout)
		if err != nil {
			return "", err
		}
		ack, err := pub.Publish(ctx, ev)
		if err != nil {
			return "", fmt.Errorf("replay quarantine entry %d: %w; it stays in quarantine", id, err)
		}
		r = Replayed{EventID: ev.ID, EventType: ev.Type, Duplicate: ack.Duplicate}
		return "event " + ev.ID + " was accepted", nil
	})
	if err != nil {
		return Replayed{}, err
	}
	return r, nil
}

// reaccept reads quarantined request m, or body instead when it is not nil, as the webhook
// would, for the account whose URL it came to.
func (o *Ops) reaccept(ctx context.Context, m *jetstream.RawStreamMsg, body []byte) (*pipeline.Event, error) {
	q, acct, id := queue.QuarantineEntry(m), queue.AccountOf(m.Header), m.Sequence
	owner, err := o.replayAccount(ctx, acct, id)
	if err != nil {
		return nil, err
	}
	// The kept request is read exactly as the webhook read it (accept.Body is the webhook's own
	// code), headers and all; a corrected body is UTF-8 JSON, as ingestctl and the console say.
	req, what := accept.FromHeader(q.Header, q.Body), fmt.Sprintf("quarantine entry %d", id)
	if body != nil {
		req, what = accept.Request{ContentType: "application/json; charset=utf-8", Raw: body}, fmt.Sprintf("the corrected body for quarantine entry %d", id)
	}
	a, rej := accept.Body(req, o.maxBody)
	if rej != nil {
		return nil, fmt.Errorf("%w: %s is still not an acceptable event (%s: %s); it stays in quarantine: save it with `ingestctl quarantine show %d > fixed.json`, "+
			"fix it (as UTF-8 JSON), and replay with --body fixed.json", ErrNotReplayable, what, rej.Code, rej.Message, id)
	}
	// The account whose URL it came to must take it, as the webhook checks (accept.ForAccount): a
	// wrong_account entry is replayed only once its client id is the account's.
	if rej := accept.ForAccount(a, owner); rej != nil {
		return nil, fmt.Errorf("%w: %s does not belong to account %q (%s: %s); it stays in quarantine: add the client id to the account "+
			"(`ingestctl accounts`) if it is the account's, or have SaleAssist send it to the right account's URL and delete the entry (`ingestctl quarantine delete %d`)",
			ErrNotReplayable, what, acct, rej.Code, rej.Message, id)
	}
	received := q.ReceivedAt
	if received.IsZero() {
		received = time.Now().UTC()
	}
	return &pipeline.Event{ID: a.Head.ID, Type: a.Head.Type, ReceivedAt: received, Body: a.Body, Account: acct}, nil
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
