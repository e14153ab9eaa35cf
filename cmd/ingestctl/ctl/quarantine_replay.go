package ctl

import (
	"context"
	"fmt"
	"os"

	"github.com/saleassist-pipeline/pipeline/pkg/admin"
)

// QuarantineReplayCommand is `ingestctl quarantine replay ID [--body FILE]`: the request
// submitted again, as kept or corrected, and removed from quarantine once accepted.
type QuarantineReplayCommand struct{ *CLI }

// Run runs the command.
func (c *QuarantineReplayCommand) Run(ctx context.Context, args []string) error {
	fs := newFlags("quarantine replay", "ID [--body FILE]", "Submits quarantine entry ID again as the webhook would, as kept or with a corrected body,\ninto the account whose URL it came to; it is removed from quarantine once accepted.")
	bodyFile := fs.String("body", "", "`FILE` holding the corrected request body (UTF-8 JSON)")
	return quarantine.withEntry(c.CLI, fs, args, func(ops *admin.Ops, id uint64) error {
		var body []byte
		if *bodyFile != "" {
			var err error
			if body, err = os.ReadFile(*bodyFile); err != nil {
				return fmt.Errorf("read corrected body: %w", err)
			}
		}
		r, err := ops.ReplayQuarantined(ctx, id, body)
		if err != nil {
			return err
		}
		fmt.Fprintf(c.Stdout, "replayed quarantine entry %d as event %s (%s, duplicate: %t); removed from quarantine\n", id, r.EventID, r.EventType, r.Duplicate)
		return nil
	})
}
