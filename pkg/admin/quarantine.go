package admin

import (
	"context"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/saleassist-pipeline/pipeline/pkg/event"
	"github.com/saleassist-pipeline/pipeline/pkg/ingest"
	"github.com/saleassist-pipeline/pipeline/pkg/queue"
)

// quarantine runs `ingestctl quarantine <verb> …`.
func (c *CLI) quarantine(ctx context.Context, verb string, args []string) error {
	var (
		jsonOut  bool
		bodyFile string
		id       uint64
	)
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "--json" && verb == "list":
			jsonOut = true
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
	stream, err := c.js.Stream(ctx, c.cfg.QuarantineStream)
	if err != nil {
		return fmt.Errorf("quarantine stream %s: %w (has an ingest run against this NATS?)", c.cfg.QuarantineStream, err)
	}
	switch verb {
	case "list":
		return c.quarantineList(ctx, stream, jsonOut)
	case "show":
		q, err := getQuarantined(ctx, stream, id)
		if err != nil {
			return err
		}
		_, err = c.Stdout.Write(q.Body)
		return err
	case "replay":
		return c.quarantineReplay(ctx, stream, id, bodyFile)
	case "delete":
		if _, err := getQuarantined(ctx, stream, id); err != nil {
			return err
		}
		if err := stream.DeleteMsg(ctx, id); err != nil {
			return fmt.Errorf("delete quarantine entry %d: %w", id, err)
		}
		fmt.Fprintf(c.Stdout, "deleted quarantine entry %d\n", id)
		return nil
	}
	return usageError{fmt.Sprintf("unknown quarantine command %q", verb)}
}

// listed is one line of `quarantine list`.
type listed struct {
	ID         uint64    `json:"id"`
	ReceivedAt time.Time `json:"received_at"`
	Reason     string    `json:"reason"`
	Error      string    `json:"error"`
	Bytes      int       `json:"bytes"`
	RemoteAddr string    `json:"remote_addr,omitempty"`
}

func (c *CLI) quarantineList(ctx context.Context, stream jetstream.Stream, jsonOut bool) error {
	entries := []listed{}
	err := eachMsg(ctx, stream, "quarantine entry", func(m *jetstream.RawStreamMsg) {
		q := queue.QuarantineEntry(m)
		entries = append(entries, listed{q.ID, q.ReceivedAt, q.Reason, q.Error, len(q.Body), q.RemoteAddr})
	})
	if err != nil {
		return err
	}
	if jsonOut {
		return c.printJSON(entries)
	}
	tw := tabwriter.NewWriter(c.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tRECEIVED\tREASON\tBYTES\tERROR")
	for _, e := range entries {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%s\n", e.ID, e.ReceivedAt.Format(time.RFC3339), e.Reason, e.Bytes, clip(e.Error, 100))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(c.Stdout, "%d in quarantine\n", len(entries))
	return nil
}

// quarantineReplay submits a kept body (or a corrected one) the way the ingest would, and removes
// it from quarantine only once JetStream has acknowledged the event.
func (c *CLI) quarantineReplay(ctx context.Context, stream jetstream.Stream, id uint64, bodyFile string) error {
	q, err := getQuarantined(ctx, stream, id)
	if err != nil {
		return err
	}
	var body []byte
	if bodyFile != "" {
		if body, err = os.ReadFile(bodyFile); err != nil {
			return fmt.Errorf("read corrected body: %w", err)
		}
		if int64(len(body)) > c.maxBody {
			return fmt.Errorf("%s is %d bytes; the ingest accepts at most %d (-max-body)", bodyFile, len(body), c.maxBody)
		}
	} else if body, err = decodeKept(q, c.maxBody); err != nil {
		return fmt.Errorf("quarantine entry %d: %w; save a corrected body with `ingestctl quarantine show %d > fixed.json`, edit it (as UTF-8), and replay with --body fixed.json", id, err, id)
	}
	head, err := event.ParseHead(body)
	if err != nil {
		return fmt.Errorf("quarantine entry %d is still not an acceptable event: %v; save it with `ingestctl quarantine show %d > fixed.json`, fix it, and replay with --body fixed.json", id, err, id)
	}
	pub, err := queue.NewPublisher(c.conn, c.cfg, 5*time.Second)
	if err != nil {
		return err
	}
	received := q.ReceivedAt
	if received.IsZero() {
		received = time.Now().UTC()
	}
	ack, err := pub.Publish(ctx, &event.Event{ID: head.ID, Type: head.Type, ReceivedAt: received, Body: body})
	if err != nil {
		return fmt.Errorf("replay quarantine entry %d: %w; it stays in quarantine", id, err)
	}
	if err := stream.DeleteMsg(ctx, id); err != nil && !queue.IsNotFound(err) {
		return fmt.Errorf("event %s was accepted, but removing quarantine entry %d failed: %w; delete it with `ingestctl quarantine delete %d`", head.ID, id, err, id)
	}
	fmt.Fprintf(c.Stdout, "replayed quarantine entry %d as event %s (%s, duplicate: %t); removed from quarantine\n", id, head.ID, head.Type, ack.Duplicate)
	return nil
}

// decodeKept reads a kept body as the ingest does: undoes its Content-Encoding, then transcodes it
// from its declared charset to UTF-8.
func decodeKept(q *queue.Quarantined, limit int64) ([]byte, error) {
	body, err := ingest.DecodeContent(q.Header.Get("Content-Encoding"), q.Body, limit)
	if err != nil {
		return nil, err
	}
	return ingest.Transcode(ingest.ContentCharset(q.Header.Get("Content-Type")), body, limit)
}

func getQuarantined(ctx context.Context, stream jetstream.Stream, id uint64) (*queue.Quarantined, error) {
	m, err := stream.GetMsg(ctx, id)
	if queue.IsNotFound(err) {
		return nil, fmt.Errorf("quarantine entry %d does not exist (replayed or deleted already? see `ingestctl quarantine list`)", id)
	}
	if err != nil {
		return nil, fmt.Errorf("read quarantine entry %d: %w", id, err)
	}
	return queue.QuarantineEntry(m), nil
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
