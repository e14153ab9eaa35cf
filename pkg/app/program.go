// Package app wires the pipeline's programs: Ingest (cmd/ingest, with standalone mode), Worker
// (cmd/worker) and Console (cmd/console). Each is a Program with ParseFlags, Run and Close, so
// tests run the real program on :0 exactly as the binaries do, and the cmd/ mains stay a few
// lines long. Each program's Run adds its parts (embedded NATS, NATS connection, worker, console,
// pprof, HTTP server) to a group (group.go), each once with its start and its stop; Close stops
// them in reverse order. Settings are flags with env fallback (internal/envflag), NATS
// connections are described once (internal/natsconn), and /healthz and /readyz answer as the
// ingest's do (internal/health).
package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

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

// ShutdownTimeout bounds an orderly shutdown: in-flight requests answered, the worker's batch
// committed and acknowledged.
const ShutdownTimeout = 25 * time.Second

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

// newLogger returns the JSON logger every program writes to stderr.
func newLogger(w io.Writer, program string) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, nil)).With("program", program)
}

// newRegistry returns a metrics registry with the Go runtime and process collectors.
func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// httpServer is an HTTP server listening, served by listenHTTP.
type httpServer struct {
	srv *http.Server
	ln  net.Listener
}

// serverOption adjusts the server before it serves, and may wrap its listener.
type serverOption func(srv *http.Server, ln net.Listener) net.Listener

// listenHTTP serves h on addr with timeouts that keep slow or idle clients from holding
// connections, and reports a failure of Serve to fail.
func listenHTTP(addr string, h http.Handler, fail func(error), opts ...serverOption) (*httpServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	served := ln
	for _, o := range opts {
		served = o(srv, served)
	}
	go func() {
		if err := srv.Serve(served); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fail(fmt.Errorf("http server on %s: %w", ln.Addr(), err))
		}
	}()
	return &httpServer{srv: srv, ln: ln}, nil
}

// Addr is the address actually listened on (the real port when :0 was asked for).
func (s *httpServer) Addr() string { return s.ln.Addr().String() }

// shutdown stops accepting and waits for in-flight requests to be answered.
func (s *httpServer) shutdown(ctx context.Context) error {
	if s == nil {
		return nil
	}
	if err := s.srv.Shutdown(ctx); err != nil {
		_ = s.srv.Close()
		return fmt.Errorf("http shutdown: %w", err)
	}
	return nil
}
