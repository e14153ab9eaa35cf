// Package naive is the baseline the worker benchmark compares the real worker against: the
// consumer a developer would hand-roll first. It pulls from the same durable consumer on the same
// events stream, and for each message, one at a time, runs one SQLite transaction (dedupe row,
// lead, event) and acks after the commit. It is correct (every event stored once, acked only
// after commit) but makes no attempt to be fast: no batching, no prepared statements.
package naive

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	_ "github.com/mattn/go-sqlite3" // database/sql driver "sqlite3"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/saleassist-pipeline/pipeline/pkg/queue"
)

// schema is deliberately small: a dedupe table keyed by event id, leads, and events. The table
// names match the real store's, so the benchmark counts rows the same way for both.
const schema = `
CREATE TABLE IF NOT EXISTS dedupe (event_id TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS leads (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL DEFAULT '',
    email TEXT NOT NULL DEFAULT '',
    mobile_number TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    event_id TEXT NOT NULL UNIQUE,
    event_type TEXT NOT NULL DEFAULT '',
    lead_id INTEGER REFERENCES leads (id),
    received_at TEXT NOT NULL DEFAULT '',
    payload TEXT NOT NULL
);`

// envelope is the part of a SaleAssist webhook the naive worker reads.
type envelope struct {
	EventType string `json:"event_type"`
	Payload   struct {
		ID           json.RawMessage `json:"id"`
		PeopleDetail struct {
			Name         string `json:"name"`
			Email        string `json:"email"`
			MobileNumber string `json:"mobile_number"`
		} `json:"people_detail"`
	} `json:"payload"`
}

// Worker is a running naive consumer. Close stops it.
type Worker struct {
	db     *sql.DB
	cc     jetstream.ConsumeContext
	stored atomic.Int64
	err    error
	errMu  sync.Mutex
}

// Open creates (if needed) the naive schema in a SQLite file in WAL mode and returns the handle:
// one connection, synchronous=NORMAL, a busy timeout — a sensible setup, nothing clever.
func Open(path string) (*sql.DB, error) {
	db, err := sql.Open("sqlite3", "file:"+path+"?_journal_mode=WAL&_synchronous=NORMAL&_busy_timeout=10000&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(schema); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("create naive schema in %s: %w", path, err)
	}
	return db, nil
}

// Start opens the database at dbPath and starts consuming the shared durable consumer named in
// cfg (queue.DefaultConfig's names) through nc. Messages are handled one at a time, in order.
func Start(ctx context.Context, nc *nats.Conn, dbPath string, cfg queue.Config) (*Worker, error) {
	db, err := Open(dbPath)
	if err != nil {
		return nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	cons, err := js.CreateOrUpdateConsumer(ctx, cfg.Stream, cfg.ConsumerConfig())
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("consumer %s on %s: %w", cfg.Consumer, cfg.Stream, err)
	}
	w := &Worker{db: db}
	w.cc, err = cons.Consume(w.handle)
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("consume %s: %w", cfg.Consumer, err)
	}
	return w, nil
}

// handle stores one message in its own transaction and acks it after the commit; on error it naks
// so JetStream redelivers.
func (w *Worker) handle(m jetstream.Msg) {
	if err := w.store(m); err != nil {
		w.setErr(err)
		_ = m.Nak()
		return
	}
	_ = m.Ack()
}

func (w *Worker) store(m jetstream.Msg) error {
	id := m.Headers().Get(queue.HeaderEventID)
	tx, err := w.db.Begin()
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	var env envelope
	if err := json.Unmarshal(m.Data(), &env); err != nil {
		return fmt.Errorf("decode %s: %w", m.Subject(), err)
	}
	if id == "" {
		id = string(env.Payload.ID)
		var s string
		if json.Unmarshal(env.Payload.ID, &s) == nil {
			id = s
		}
	}
	if id == "" {
		return errors.New("event without id")
	}
	res, err := tx.Exec(`INSERT OR IGNORE INTO dedupe (event_id) VALUES (?)`, id)
	if err != nil {
		return fmt.Errorf("dedupe %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return tx.Commit() // seen before: nothing to store
	}
	now := time.Now().UTC().Format(time.RFC3339Nano)
	p := env.Payload.PeopleDetail
	res, err = tx.Exec(`INSERT INTO leads (name, email, mobile_number, created_at) VALUES (?, ?, ?, ?)`,
		p.Name, p.Email, p.MobileNumber, now)
	if err != nil {
		return fmt.Errorf("insert lead for %s: %w", id, err)
	}
	leadID, err := res.LastInsertId()
	if err != nil {
		return fmt.Errorf("lead id for %s: %w", id, err)
	}
	if _, err := tx.Exec(`INSERT INTO events (event_id, event_type, lead_id, received_at, payload) VALUES (?, ?, ?, ?, ?)`,
		id, env.EventType, leadID, m.Headers().Get(queue.HeaderReceivedAt), string(m.Data())); err != nil {
		return fmt.Errorf("insert event %s: %w", id, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit %s: %w", id, err)
	}
	w.stored.Add(1)
	return nil
}

func (w *Worker) setErr(err error) {
	w.errMu.Lock()
	defer w.errMu.Unlock()
	if w.err == nil {
		w.err = err
	}
}

// Err is the first error a message failed with, if any (the message was nak'ed and will be
// redelivered).
func (w *Worker) Err() error {
	w.errMu.Lock()
	defer w.errMu.Unlock()
	return w.err
}

// Stored is how many new events this worker committed.
func (w *Worker) Stored() int64 { return w.stored.Load() }

// Close stops consuming (messages already handed to the callback finish first) and closes the
// database.
func (w *Worker) Close() error {
	w.cc.Drain()
	select {
	case <-w.cc.Closed():
	case <-time.After(10 * time.Second):
	}
	return w.db.Close()
}
