// Package app is what the pipeline's programs share: Main, which runs a Program as a process
// (flags, signals, exit codes); the Process every program embeds, with its environment, its
// output and its JSON log, and its Group of parts, started in order and stopped in reverse, which
// gives every program its Failed and Close; the HTTP server with its timeouts; pprof; the metrics
// registry. The programs live one a package below it, each with the same files (program.go: New,
// Program, Run and the order of its parts; config.go: Config and its flags with env fallback) and
// the same type names:
//
//	ingestapp   cmd/ingest: the webhook server; standalone also the embedded NATS server, and
//	            in-process the worker and the console (it imports workerapp and consoleapp)
//	workerapp   cmd/worker: one more consumer storing leads; Start runs one in any program
//	consoleapp  cmd/console: the operator's console; Start serves one in any program
//
// so each cmd/ main is one line and links only its own program's packages: the worker and the
// console never link the ingest's request path nor the NATS server (internal/layering pins it).
// Tests run the real programs on :0 exactly as the binaries do; the whole-pipeline tests are
// this package's (package app_test).
package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/saleassist-pipeline/pipeline/internal/envflag"
)

// LookupEnv reads one environment variable; os.LookupEnv in the binaries, a map in tests.
type LookupEnv = envflag.LookupEnv

// Program is what a cmd/ main runs: ParseFlags, then Run (start everything and return), then
// wait for a signal or a failure, then Close (stop everything in order).
type Program interface {
	ParseFlags(args []string) error
	Run(ctx context.Context) error
	// Failed delivers the error of a component that stopped on its own; the program must stop.
	Failed() <-chan error
	Close() error
}

// Process is what every program embeds: its run Group (the parts; Failed and Close), where it
// reads its settings (Env) and where it writes (Stdout: the start-up banner, for the operator;
// Stderr: the JSON log). A program's New fills them with the process's own; tests replace them.
type Process struct {
	Group
	Env    LookupEnv
	Stdout io.Writer
	Stderr io.Writer
}

// NewLogger returns the program's JSON logger on Stderr, and gives it to the group.
func (p *Process) NewLogger(program string) *slog.Logger {
	log := slog.New(slog.NewJSONHandler(p.Stderr, nil)).With("program", program)
	p.SetLogger(log)
	return log
}

// Main runs p as a process: it returns the exit code. The first SIGINT or SIGTERM starts an
// orderly shutdown; a second one exits at once.
func Main(p Program, args []string) int {
	if err := p.ParseFlags(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(os.Stderr, "error:", err)
		return 2
	}
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := p.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		_ = p.Close()
		return 1
	}
	code := 0
	select {
	case <-sigs:
	case err := <-p.Failed():
		fmt.Fprintln(os.Stderr, "error:", err)
		code = 1
	}
	go func() {
		<-sigs
		fmt.Fprintln(os.Stderr, "second signal: exiting at once")
		os.Exit(130)
	}()
	if err := p.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "error during shutdown:", err)
		code = 1
	}
	return code
}

// NewRegistry returns a metrics registry with the Go runtime and process collectors.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}
