package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
)

// group is a program's running parts, each registered once with its start and its stop. Run
// starts them in the order they were added; Stop stops the started ones in the reverse order, as
// defer would: a part added later depends on those added before it (the webhook server publishes
// over the NATS connection, which needs the embedded server), so it must stop first. Each program
// documents its order where it adds its parts. The first part to fail on its own is delivered on
// Failed; Main (or a test) then calls the program's Close, which stops everything.
//
// Why not github.com/oklog/run: its Group.Run blocks for the program's life and has no start
// phase, while our Program is Run-then-Close (Run returns once listening, so tests run the real
// main on :0, read its address and call Close). With oklog/run, a listen error could not be
// told from a late failure, Close would need an extra actor and a goroutine to end Run, and the
// ordered stop would still need blocking interrupts in a hand-kept order. Starting in order and
// stopping in reverse is the part of it we need, in a few lines.
type group struct {
	log     *slog.Logger
	parts   []part
	started []part
	failed  chan error
}

// part is one component: start brings it up and returns once it runs (a part whose start fails
// undoes what it did); stop (nil: nothing to stop) brings it down within ctx.
type part struct {
	name  string
	start func(ctx context.Context) error
	stop  func(ctx context.Context) error
}

// newGroup returns an empty group. Its log, set once the program has one, hears the failures
// that come after the first, which Failed does not carry.
func newGroup() *group { return &group{failed: make(chan error, 1)} }

// add registers a part. start may read what earlier parts' starts set up.
func (g *group) add(name string, start, stop func(ctx context.Context) error) {
	g.parts = append(g.parts, part{name: name, start: start, stop: stop})
}

// run starts the parts in order and stops at the first error, which it returns unchanged (the
// parts' errors already say what to fix). The parts started so far stay started: Close stops
// them.
func (g *group) run(ctx context.Context) error {
	for _, p := range g.parts {
		if err := p.start(ctx); err != nil {
			return err
		}
		g.started = append(g.started, p)
	}
	return nil
}

// fail reports that a running part stopped on its own. The first report is delivered on Failed;
// later ones (often a consequence of the first) are logged, so no part ever blocks on it.
func (g *group) fail(err error) {
	select {
	case g.failed <- err:
	default:
		if g.log != nil {
			g.log.Error("another part failed too", "err", err)
		}
	}
}

// Failed delivers the first error of a part that stopped on its own.
func (g *group) Failed() <-chan error { return g.failed }

// stop stops the started parts in reverse order, each one even if an earlier stop failed, and
// returns their errors joined, each named by its part. A second stop has nothing left to stop.
func (g *group) stop(ctx context.Context) error {
	var errs []error
	for i := len(g.started) - 1; i >= 0; i-- {
		if p := g.started[i]; p.stop != nil {
			if err := p.stop(ctx); err != nil {
				errs = append(errs, fmt.Errorf("stop %s: %w", p.name, err))
			}
		}
	}
	g.started = nil
	return errors.Join(errs...)
}
