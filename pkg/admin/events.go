package admin

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/saleassist-pipeline/pipeline/pkg/account"
	"github.com/saleassist-pipeline/pipeline/pkg/store"
	"github.com/saleassist-pipeline/pipeline/pkg/store/storeurl"
)

// DefaultInvalidLimit is how many events `events invalid` lists unless --limit says otherwise.
const DefaultInvalidLimit = 100

// InvalidEvent is one event stored with problems: a line of `events invalid`.
type InvalidEvent struct {
	EventID    string    `json:"event_id"`
	EventType  string    `json:"event_type"`
	LeadID     int64     `json:"lead_id,omitempty"`
	ReceivedAt time.Time `json:"received_at"`
	// Invalid is what was wrong with the event as sent (events.invalid): schema violations,
	// prefixed "schema: ", and a SaleAssist time not believed, prefixed "seen_at: ".
	Invalid string `json:"invalid"`
}

// InvalidEvents returns up to limit events st stored with problems, newest first. It is the
// operation behind `ingestctl events invalid`; it prints nothing.
func InvalidEvents(ctx context.Context, st store.Store, limit int) ([]InvalidEvent, error) {
	evs, err := st.InvalidEvents(ctx, account.Default, limit)
	if err != nil {
		return nil, err
	}
	out := make([]InvalidEvent, len(evs))
	for i, ev := range evs {
		out[i] = InvalidEvent{EventID: ev.EventID, EventType: ev.EventType, LeadID: ev.LeadID,
			ReceivedAt: ev.ReceivedAt, Invalid: ev.Invalid}
	}
	return out, nil
}

// events runs `ingestctl events <verb> …`.
func (c *CLI) events(ctx context.Context, verb string, args []string) error {
	if verb != "invalid" {
		return usageError{fmt.Sprintf("unknown events command %q", verb)}
	}
	jsonOut, limit := false, DefaultInvalidLimit
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "--json":
			jsonOut = true
		case a == "--limit" && i+1 < len(args):
			n, err := strconv.Atoi(args[i+1])
			if err != nil || n < 1 {
				return usageError{fmt.Sprintf("events invalid: --limit %q is not a positive number", args[i+1])}
			}
			limit = n
			i++
		default:
			return usageError{fmt.Sprintf("events invalid: unexpected argument %q", a)}
		}
	}
	st, err := c.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	list, err := InvalidEvents(ctx, st, limit)
	if err != nil {
		return err
	}
	if jsonOut {
		return c.printJSON(list)
	}
	tw := tabwriter.NewWriter(c.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "EVENT\tTYPE\tRECEIVED\tLEAD\tINVALID")
	for _, e := range list {
		lead := "-"
		if e.LeadID != 0 {
			lead = strconv.FormatInt(e.LeadID, 10)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", e.EventID, e.EventType, e.ReceivedAt.Format(time.RFC3339), lead, clip(e.Invalid, 160))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(c.Stdout, "%d events with problems (newest first, at most %d; --json for the whole text)\n", len(list), limit)
	return nil
}

// openStore opens the leads database: -db / DATABASE_URL (a SQLite file, or postgres://…, as the
// worker's; storeurl decides), else DATA_DIR/leads.db of a standalone ingest. It refuses a SQLite
// file that does not exist rather than creating an empty one.
func (c *CLI) openStore(ctx context.Context) (store.Store, error) {
	url := c.db
	if url == "" {
		url = filepath.Join(c.dataDir, "leads.db")
	}
	kind, path, err := storeurl.KindOf(url)
	if err != nil {
		return nil, fmt.Errorf("events: %w", err)
	}
	if kind == storeurl.SQLite {
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("no leads database at %s: give -db (or DATABASE_URL), or -data-dir of a standalone ingest", path)
		}
	}
	return storeurl.Open(ctx, url, storeurl.Options{})
}
