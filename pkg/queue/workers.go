package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// WorkersBucket is the key-value bucket where every running worker says, every ReportEvery,
// whether it consumes or is paused and why: what `ingestctl status` and the console show. Keys
// expire after WorkersTTL, so a worker that is gone drops out on its own.
const (
	WorkersBucket = "saleassist_workers"
	ReportEvery   = 5 * time.Second
	WorkersTTL    = 30 * time.Second
)

// WorkerState is one worker's report.
type WorkerState struct {
	// ID names the worker: host, pid and a random part.
	ID      string    `json:"id"`
	Started time.Time `json:"started"`
	// Paused says the worker fetches nothing: its store is unavailable (Reason, Error) since
	// PausedSince.
	Paused      bool      `json:"paused"`
	PausedSince time.Time `json:"paused_since,omitzero"`
	Reason      string    `json:"reason,omitempty"`
	Error       string    `json:"error,omitempty"`
	// Reported is when this report was written.
	Reported time.Time `json:"reported"`
}

// WorkersKV opens the workers bucket, making it when it does not exist (replicas as the streams').
func WorkersKV(ctx context.Context, js jetstream.JetStream, cfg Config) (jetstream.KeyValue, error) {
	kv, err := js.KeyValue(ctx, WorkersBucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		kv, err = js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
			Bucket: WorkersBucket, Description: "each worker's state (consuming, or paused and why), for ingestctl status and the console",
			TTL: WorkersTTL, History: 1, Storage: jetstream.MemoryStorage, Replicas: max(cfg.Replicas, 1),
		})
	}
	if err != nil {
		return nil, fmt.Errorf("workers bucket %s: %w", WorkersBucket, err)
	}
	return kv, nil
}

// ReadWorkers returns every worker's latest report; none (and no error) when no worker has
// reported yet.
func ReadWorkers(ctx context.Context, js jetstream.JetStream) ([]WorkerState, error) {
	kv, err := js.KeyValue(ctx, WorkersBucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("workers bucket %s: %w", WorkersBucket, err)
	}
	lister, err := kv.ListKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("list workers: %w", err)
	}
	var out []WorkerState
	for key := range lister.Keys() {
		e, err := kv.Get(ctx, key)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue // expired meanwhile
		}
		if err != nil {
			return nil, fmt.Errorf("read worker %s: %w", key, err)
		}
		var s WorkerState
		if json.Unmarshal(e.Value(), &s) == nil {
			out = append(out, s)
		}
	}
	return out, nil
}
