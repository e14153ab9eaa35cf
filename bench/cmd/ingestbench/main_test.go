package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
)

func TestScrape(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, `# HELP saleassist_worker_consumer_lag Events accepted but not yet stored.
# TYPE saleassist_worker_consumer_lag gauge
saleassist_worker_consumer_lag 42
saleassist_worker_consumer_lag_other 7
saleassist_worker_events_total{event_type="other",outcome="stored"} 0
saleassist_worker_events_total{event_type="widget new",outcome="stored"} 1.5e3
saleassist_worker_events_total{event_type="x",outcome="duplicate"} 3
`)
	}))
	defer srv.Close()
	m, err := scrape(context.Background(), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if m.lag != 42 || m.processed != 1503 {
		t.Errorf("got %+v, want lag 42 processed 1503", m)
	}
}

func TestMedianAndRSS(t *testing.T) {
	t.Parallel()
	if median([]float64{3, 1, 2}) != 2 || median([]float64{4, 1, 2, 3}) != 2.5 || median(nil) != 0 {
		t.Error("median")
	}
	rss, hwm, err := readRSS(os.Getpid())
	if err != nil || rss <= 0 || hwm < rss {
		t.Errorf("readRSS: rss %d hwm %d err %v", rss, hwm, err)
	}
}

func TestProcCPU(t *testing.T) {
	t.Parallel()
	before, err := procCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	// Burn some CPU so that at least one clock tick passes.
	deadline := selfCPU() + 50*clockTick
	for x := 0; selfCPU() < deadline; x++ {
		_ = x * x
	}
	after, err := procCPU(os.Getpid())
	if err != nil || after <= before {
		t.Errorf("procCPU %s → %s (err %v): want it to grow", before, after, err)
	}
}
