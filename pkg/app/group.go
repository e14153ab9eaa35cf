package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Group is a program's running parts, each registered once with its start and its stop. Every
// program embeds one (in its Process), so that Failed and Close, which every Program has, are
// written here once.
// Start starts the parts in the order they were added; Close stops the started ones in the reverse
// order, as defer would: a part added later depends on those added before it (the webhook server
// publishes over the NATS connection, which needs the embedded server), so it must stop first.
// Each program documents its order where it adds its parts. The first part to fail on its own is
// delivered on Failed; Main (or a test) then calls Close, which stops everything. The zero Group
// is ready to use.
//
// Why not github.com/oklog/run: its Group.Run blocks for the program's life and has no start
// phase, while our Program is Run-then-Close (Run returns once listening, so tests run the real
// main on :0, read its address and call Close). With oklog/run, a listen error could not be
// told from a late failure, Close would need an extra actor and a goroutine to end Run, and the
// ordered stop would still need blocking interrupts in a hand-kept order. Starting in order and
// stopping in reverse is the part of it we need, in a few lines.
type Group struct {
	// log (SetLogger) hears the failures that come after the first, which Failed does not carry,
	// and Close's "stopped".
	log     *slog.Logger
	parts   []part
	started []part
	once    sync.Once
	failed  chan error
}

// part is one component: start brings it up and returns once it runs (a part whose start fails
// undoes what it did); stop (nil: nothing to stop) brings it down within ctx.
type part struct {
	name  string
	start func(ctx context.Context) error
	stop  func(ctx context.Context) error
}

// Add registers a part. start may read what earlier parts' starts set up; stop may be nil.
func (g *Group) Add(name string, start, stop func(ctx context.Context) error) {
	g.parts = append(g.parts, part{name: name, start: start, stop: stop})
}

// SetLogger gives the group the program's log, as soon as the program has one.
func (g *Group) SetLogger(log *slog.Logger) { g.log = log }

// Start starts the parts in order and stops at the first error, which it returns unchanged (the
// parts' errors already say what to fix). The parts started so far stay started: Close stops
// them.
func (g *Group) Start(ctx context.Context) error {
	for _, p := range g.parts {
		if err := p.start(ctx); err != nil {
			return err
		}
		g.started = append(g.started, p)
	}
	return nil
}

// Fail reports that a running part stopped on its own. The first report is delivered on Failed;
// later ones (often a consequence of the first) are logged, so no part ever blocks on it.
func (g *Group) Fail(err error) {
	select {
	case g.failedChan() <- err:
	default:
		if g.log != nil {
			g.log.Error("another part failed too", "err", err)
		}
	}
}

// Failed delivers the first error of a part that stopped on its own; the program must stop.
func (g *Group) Failed() <-chan error { return g.failedChan() }

func (g *Group) failedChan() chan error {
	g.once.Do(func() { g.failed = make(chan error, 1) })
	return g.failed
}

// ShutdownTimeout bounds an orderly shutdown: in-flight requests answered, the worker's batch
// committed and acknowledged.
const ShutdownTimeout = 25 * time.Second

// Close stops the started parts in reverse order within ShutdownTimeout (no acknowledged event
// lost: see each program's Run for why its order is the right one), and says so in the log.
func (g *Group) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
	defer cancel()
	err := g.stop(ctx)
	if g.log != nil {
		g.log.Info("stopped")
	}
	return err
}

// stop stops the started parts in reverse order, each one even if an earlier stop failed, and
// returns their errors joined, each named by its part. A second stop has nothing left to stop.
func (g *Group) stop(ctx context.Context) error {
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
