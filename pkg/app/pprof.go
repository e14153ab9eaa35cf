package app

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
)

// startPprof serves Go's profiling endpoints (/debug/pprof/…) on their own address, for
// measuring; off unless PPROF_ADDR is set, and never on the webhook port. An address that is
// not loopback is allowed (a profiler may run elsewhere) but warned about: profiles reveal memory.
func startPprof(addr string, log *slog.Logger, fail func(error)) (*httpServer, error) {
	if addr == "" {
		return nil, nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("PPROF_ADDR=%q: %w (want host:port, e.g. 127.0.0.1:6060)", addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		log.Warn("pprof endpoints listen beyond loopback; anyone who reaches them can read memory profiles", "addr", addr)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	// Profiles take a while: no write timeout beyond what the profile asks for.
	s, err := listenHTTP(addr, mux, fail, func(srv *http.Server, ln net.Listener) net.Listener {
		srv.WriteTimeout = 0
		return ln
	})
	if err != nil {
		return nil, err
	}
	log.Info("pprof endpoints on", "addr", s.Addr())
	return s, nil
}

// addPprof adds the profiling endpoints to g as a part of their own when addr is set; *srv is
// where the running server is kept (the program's field).
func addPprof(g *group, addr string, log *slog.Logger, srv **httpServer) {
	if addr == "" {
		return
	}
	g.add("pprof", func(context.Context) error {
		var err error
		*srv, err = startPprof(addr, log, g.fail)
		return err
	}, func(ctx context.Context) error { return (*srv).shutdown(ctx) })
}
