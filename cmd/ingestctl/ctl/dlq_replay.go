package ctl

import (
	"context"
	"fmt"
	"os"

	"github.com/saleassist-pipeline/pipeline/pkg/admin"
	"github.com/saleassist-pipeline/pipeline/pkg/queue"
)

// DLQReplayCommand is `ingestctl dlq replay ID [--body FILE] [--unchanged]` and
// `ingestctl dlq replay --all [--unchanged] [--account ID]`: dead letters republished to the
// events stream, each removed once that is acknowledged.
type DLQReplayCommand struct{ *CLI }

// Run runs the command.
func (c *DLQReplayCommand) Run(ctx context.Context, args []string) error {
	fs := newFlags("dlq replay", "ID [--body FILE] [--unchanged] | --all [--unchanged] [--account ID]",
		"Republishes dead letter ID to the events stream (with a corrected body), or with --all every\n"+
			"dead letter whose cause was transient (max_deliver); each is removed once acknowledged. A dead\n"+
			"letter whose reason says the event is bad (invalid, permanent, undecodable, unstorable) needs\n"+
			"--body, or --unchanged after a fix to the pipeline.")
	all := fs.Bool("all", false, "every dead letter whose cause was transient (with --unchanged: every one)")
	unchanged := fs.Bool("unchanged", false, "replay as it is although its reason says the event is bad, after a fix")
	bodyFile := fs.String("body", "", "`FILE` holding the corrected event (UTF-8 JSON), for one ID")
	acct := fs.String("account", "", "with --all: that account's dead letters only")
	pos, err := fs.parse(args, 1)
	if err != nil {
		return err
	}
	switch {
	case len(pos) == 0 && !*all:
		return fs.fail("dlq replay needs an ID (or --all)")
	case len(pos) == 1 && *all:
		return fs.fail("dlq replay takes an ID or --all, not both")
	case *acct != "" && !*all:
		return fs.fail("dlq replay --account goes with --all: one dead letter is named by its ID alone")
	case *all && *bodyFile != "":
		return fs.fail("dlq replay --body replaces one dead letter's body: give an ID, not --all")
	}
	opts := admin.ReplayOptions{Unchanged: *unchanged}
	if *bodyFile != "" {
		if opts.Body, err = os.ReadFile(*bodyFile); err != nil {
			return fmt.Errorf("read corrected body: %w", err)
		}
	}
	var id uint64
	if !*all {
		if id, err = deadLetters.parseID(fs, pos[0]); err != nil {
			return err
		}
	}
	return c.withOps(func(ops *admin.Ops) error {
		if !*all {
			return c.replay(ctx, ops, id, opts)
		}
		return c.replayAll(ctx, ops.ForAccount(*acct), opts)
	})
}

// replayAll replays every dead letter ops sees whose cause was transient, or every one with
// opts.Unchanged, and counts those it left.
func (c *DLQReplayCommand) replayAll(ctx context.Context, ops *admin.Ops, opts admin.ReplayOptions) error {
	letters, err := ops.DeadLetters(ctx)
	if err != nil {
		return err
	}
	replayed, skipped := 0, 0
	for _, d := range letters {
		if !opts.Unchanged && !queue.TransientReason(d.Reason) {
			skipped++
			continue
		}
		if err := c.replay(ctx, ops, d.ID, opts); err != nil {
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

func (c *DLQReplayCommand) replay(ctx context.Context, ops *admin.Ops, id uint64, opts admin.ReplayOptions) error {
	d, err := ops.ReplayDeadLetter(ctx, id, opts)
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
