package app

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"

	"github.com/saleassist-pipeline/pipeline/internal/loopback"
)

// AddPprof adds Go's profiling endpoints (/debug/pprof/…) to g as a part of their own, on their
// own address, for measuring; nothing when addr (PPROF_ADDR) is empty, and never on the program's
// own port. An address that is not loopback is allowed (a profiler may run elsewhere) but warned
// about: profiles reveal memory.
func AddPprof(g *Group, addr string, log *slog.Logger) {
	if addr == "" {
		return
	}
	var srv *HTTPServer
	g.Add("pprof", func(context.Context) error {
		var err error
		srv, err = startPprof(addr, log, g.Fail)
		return err
	}, func(ctx context.Context) error { return srv.Shutdown(ctx) })
}

// startPprof serves the profiling endpoints on addr.
func startPprof(addr string, log *slog.Logger, fail func(error)) (*HTTPServer, error) {
	local, err := loopback.Is(addr)
	if err != nil {
		return nil, fmt.Errorf("PPROF_ADDR=%q: %w (want host:port, e.g. 127.0.0.1:6060)", addr, err)
	}
	if !local {
		log.Warn("pprof endpoints listen beyond loopback; anyone who reaches them can read memory profiles", "addr", addr)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	// Profiles take a while: no write timeout beyond what the profile asks for.
	s, err := ListenHTTP(addr, mux, fail, func(srv *http.Server, ln net.Listener) net.Listener {
		srv.WriteTimeout = 0
		return ln
	})
	if err != nil {
		return nil, err
	}
	log.Info("pprof endpoints on", "addr", s.Addr())
	return s, nil
}
