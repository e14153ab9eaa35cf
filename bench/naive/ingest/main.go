// Command ingest is the benchmark's naive baseline: the webhook receiver one would write by hand.
// It embeds nats-server with JetStream file storage (in-process, like the real ingest with
// -embedded-nats-addr ""), keeps a stream on saleassist.events.>, and for each POST reads the
// body, finds event_type and payload.id with encoding/json, does ONE synchronous js.Publish with
// Nats-Msg-Id = payload.id, and answers 202. No auth, no limits, no metrics, no quarantine.
// It exists only to be measured against cmd/ingest by bench/cmd/ingestbench.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8081", "HTTP address")
	dataDir := flag.String("data-dir", "", "JetStream files go under DIR/jetstream; empty = a temporary directory, removed at exit")
	flag.Parse()
	if err := run(*addr, *dataDir); err != nil {
		log.Fatal(err)
	}
}

func run(addr, dataDir string) error {
	if dataDir == "" {
		d, err := os.MkdirTemp("", "naive-ingest-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dataDir = d
	}
	ns, err := server.NewServer(&server.Options{
		JetStream:  true,
		StoreDir:   filepath.Join(dataDir, "jetstream"),
		DontListen: true,
		NoSigs:     true,
		NoLog:      true,
	})
	if err != nil {
		return err
	}
	ns.Start()
	defer ns.Shutdown()
	if !ns.ReadyForConnections(30 * time.Second) {
		return errors.New("nats-server not ready")
	}
	nc, err := nats.Connect("", nats.InProcessServer(ns))
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if _, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:     "EVENTS",
		Subjects: []string{"saleassist.events.>"},
		Storage:  jetstream.FileStorage,
	}); err != nil {
		return fmt.Errorf("stream: %w", err)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	mux.HandleFunc("POST /webhooks/saleassist", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var env struct {
			EventType string `json:"event_type"`
			Payload   struct {
				ID json.RawMessage `json:"id"`
			} `json:"payload"`
		}
		if err := json.Unmarshal(body, &env); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		id := strings.Trim(string(env.Payload.ID), `"`)
		if _, err := js.Publish(r.Context(), "saleassist.events."+token(env.EventType), body, jetstream.WithMsgID(id)); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		_, _ = io.WriteString(w, `{"status":"accepted"}`)
	})
	hs := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- hs.ListenAndServe() }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return hs.Shutdown(sctx)
}

// token makes event_type usable as one subject token.
func token(s string) string {
	if s == "" || strings.ContainsAny(s, ".*> \t\r\n") {
		return "other"
	}
	return s
}
