package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// HTTPServer is an HTTP server listening, served by ListenHTTP.
type HTTPServer struct {
	srv *http.Server
	ln  net.Listener
}

// ServerOption adjusts the server before it serves, and may wrap its listener.
type ServerOption func(srv *http.Server, ln net.Listener) net.Listener

// ListenHTTP serves h on addr with timeouts that keep slow or idle clients from holding
// connections, and reports a failure of Serve to fail.
func ListenHTTP(addr string, h http.Handler, fail func(error), opts ...ServerOption) (*HTTPServer, error) {
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
	return &HTTPServer{srv: srv, ln: ln}, nil
}

// Addr is the address actually listened on (the real port when :0 was asked for).
func (s *HTTPServer) Addr() string { return s.ln.Addr().String() }

// Shutdown stops accepting and waits for in-flight requests to be answered; a nil server has
// nothing to stop.
func (s *HTTPServer) Shutdown(ctx context.Context) error {
	if s == nil {
		return nil
	}
	if err := s.srv.Shutdown(ctx); err != nil {
		_ = s.srv.Close()
		return fmt.Errorf("http shutdown: %w", err)
	}
	return nil
}
