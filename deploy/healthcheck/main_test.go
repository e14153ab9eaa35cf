package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestHealthcheck(t *testing.T) {
	t.Parallel()
	var status atomic.Int32
	status.Store(http.StatusOK)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(int(status.Load()))
		_, _ = w.Write([]byte(`{"error":"unavailable"}`))
	}))
	defer srv.Close()
	env := func(u string) func(string) string {
		return func(k string) string {
			if k == "HEALTHCHECK_URL" {
				return u
			}
			return ""
		}
	}
	var stderr bytes.Buffer
	require.Equal(t, 0, run(nil, env(srv.URL+"/readyz"), &stderr), stderr.String())
	require.Equal(t, 0, run([]string{srv.URL}, env(""), &stderr), "the argument wins over the environment")
	status.Store(http.StatusServiceUnavailable)
	stderr.Reset()
	require.Equal(t, 1, run(nil, env(srv.URL), &stderr))
	require.Contains(t, stderr.String(), "503")
	require.Equal(t, 2, run(nil, env(""), &stderr), "no URL at all")

	// Nothing listening: fails, and within the timeout.
	srv.Close()
	start := time.Now()
	require.Equal(t, 1, run([]string{"-timeout", "1s", srv.URL}, env(""), &stderr))
	require.Less(t, time.Since(start), 5*time.Second)
}
