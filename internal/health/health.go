// Package health is the one liveness and readiness answer of every program (the ingest, the
// worker, the console), kept apart from the ingest's request path so that programs which serve
// no webhooks do not link it.
package health

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// RetryAfter is the Retry-After of 503 answers, in seconds.
const RetryAfter = "5"

// Health answers liveness probes (/healthz) with 200 {"status":"ok"}: the process serves.
func Health(w http.ResponseWriter, _ *http.Request) {
	WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// Ready answers readiness probes (/readyz) (the ingest: can publish; cmd/worker: NATS connected
// and the store not paused). check has two seconds: nil answers 200 {"status":"ready"}; an error
// answers 503 with Retry-After and the contract's error shape,
// {"error":"unavailable","message":"<the error>"}.
func Ready(check func(context.Context) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := check(ctx); err != nil {
			Unavailable(w, err.Error())
			return
		}
		WriteJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
}

// Unavailable answers 503 with Retry-After and {"error":"unavailable","message":msg}, and returns
// the status.
func Unavailable(w http.ResponseWriter, msg string) int {
	w.Header().Set("Retry-After", RetryAfter)
	return WriteJSON(w, http.StatusServiceUnavailable, struct {
		Error   string `json:"error"`
		Message string `json:"message"`
	}{"unavailable", msg})
}

// WriteJSON answers v as JSON with status, and returns the status.
func WriteJSON(w http.ResponseWriter, status int, v any) int {
	b, _ := json.Marshal(v)
	return Write(w, status, append(b, '\n'))
}

// Write sends b, JSON already, as the answer with status, and returns the status.
func Write(w http.ResponseWriter, status int, b []byte) int {
	h := w.Header()
	// Set directly: the names are canonical already, and Header.Set canonicalizes on every call.
	h["Content-Type"] = []string{"application/json"}
	h["Content-Length"] = []string{strconv.Itoa(len(b))}
	w.WriteHeader(status)
	_, _ = w.Write(b)
	return status
}
