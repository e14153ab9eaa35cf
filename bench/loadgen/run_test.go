package loadgen

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// TestRun checks the generator's bookkeeping against a local server, not its speed.
func TestRun(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	ids := map[string]bool{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.Header.Get("X-Webhook-Secret") != "s" || r.Header.Get("Content-Type") != "application/json" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		mu.Lock()
		dup := ids[string(b)]
		ids[string(b)] = true
		mu.Unlock()
		if dup {
			w.WriteHeader(http.StatusConflict)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	body, err := NewBody([]byte(`{"event_type":"x","payload":{"id":"ID"}}`), "ID", "")
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{URL: srv.URL, Body: body, SecretHeader: "X-Webhook-Secret", Secret: "s", Conns: 4, Requests: 200, Duration: 10 * time.Second}
	r, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if r.Requests < 200 || r.OK != r.Requests || r.Non2xx != 0 || r.Errors != 0 || r.Latency.Count() != uint64(r.Requests) {
		t.Errorf("closed loop: %+v", r)
	}
	cfg.Requests, cfg.Rate, cfg.Duration = 0, 200, 500*time.Millisecond
	r, err = Run(context.Background(), cfg) // same Body: ids must not repeat
	if err != nil {
		t.Fatal(err)
	}
	if r.Requests < 90 || r.Requests > 101 || r.Non2xx != 0 {
		t.Errorf("open loop at 200/s for 0.5 s: %d answers, %d non-2xx", r.Requests, r.Non2xx)
	}
	cfg.Secret = "wrong"
	if r, _ = Run(context.Background(), cfg); r.Non2xx != r.Requests || r.Sample == "" {
		t.Errorf("wrong secret: %d non-2xx of %d, sample %q", r.Non2xx, r.Requests, r.Sample)
	}
}
