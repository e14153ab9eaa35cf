package ingestapp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/saleassist-pipeline/pipeline/internal/natsconn"
	"github.com/saleassist-pipeline/pipeline/internal/ratelog"
	"github.com/saleassist-pipeline/pipeline/internal/redact"
	"github.com/saleassist-pipeline/pipeline/pkg/queue"
)

// An ingest against an external NATS (NATS_URL) does not exit when NATS is down or its cluster is
// still forming when it starts: it serves /healthz, answers webhooks 503 with Retry-After and
// says why on /readyz, while it connects and creates its streams in the background with backoff;
// then it accepts webhooks. Run waits streamFirstWait for that, so that an ingest whose NATS is up
// is ready when Run returns. Standalone, the embedded server is up before the streams are made,
// and a failure to make them is the configuration's: Run returns it.
const (
	streamFirstWait  = 5 * time.Second
	streamAttempt    = 2 * time.Second // one create-or-update of the streams (a forming cluster may not answer)
	streamBackoffMin = 250 * time.Millisecond
	streamBackoffMax = 5 * time.Second
)

// streamWait brings the events stream up in the background and says, until it is, why the ingest
// cannot publish.
type streamWait struct {
	nc     *nats.Conn
	url    string // NATS_URL, for messages (its password masked)
	client natsconn.Client
	ensure func(ctx context.Context) error
	// ready runs once, when ensure first succeeds, before the ingest is reported ready.
	ready func()
	// failing holds the current run of failures; its log lines are the only ones the wait logs.
	failing ratelog.Failing

	mu     sync.Mutex
	why    error         // nil once ready
	up     chan struct{} // closed once ready
	fatal  chan error    // the connection was closed for good (refused credentials)
	cancel context.CancelFunc
	done   chan struct{}
}

// start begins bringing the stream up. Its result is that of the first streamFirstWait: nil when
// the stream is ready or still being retried, or the error that ends the ingest (NATS closed the
// connection for good). Later fatal errors go to fail.
func (w *streamWait) start(fail func(error)) error {
	w.why = errors.New("the events stream is being set up")
	w.up, w.fatal, w.done = make(chan struct{}), make(chan error, 1), make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	w.cancel = cancel
	go func() {
		defer close(w.done)
		w.run(ctx)
	}()
	t := time.NewTimer(streamFirstWait)
	defer t.Stop()
	select {
	case <-w.up:
		return nil
	case err := <-w.fatal:
		return err
	case <-t.C:
	}
	go func() {
		select {
		case err := <-w.fatal:
			fail(err)
		case <-w.done:
		}
	}()
	return nil
}

// stop ends the retries and waits for the loop to return.
func (w *streamWait) stop() {
	if w == nil || w.cancel == nil {
		return
	}
	w.cancel()
	<-w.done
}

// err is why the ingest cannot publish yet; nil once the stream is ready (and standalone, where
// w is nil: Run returns only once it is).
func (w *streamWait) err() error {
	if w == nil {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.why
}

func (w *streamWait) run(ctx context.Context) {
	backoff := streamBackoffMin
	for ctx.Err() == nil {
		err := w.attempt(ctx)
		if err == nil {
			w.ready()
			w.mu.Lock()
			w.why = nil
			w.mu.Unlock()
			close(w.up)
			w.failing.OK("events stream ready: accepting webhooks")
			return
		}
		if ctx.Err() != nil {
			return
		}
		if w.nc.IsClosed() {
			cause := w.nc.LastError()
			if cause == nil {
				cause = nats.ErrConnectionClosed
			}
			// nats.go closes a connection for good when the server refuses its credentials twice.
			client := w.client
			client.Hint = "NATS closed the connection: check the user and password, or token, in NATS_URL"
			w.fatal <- client.ConnectError(w.url, cause)
			return
		}
		w.mu.Lock()
		w.why = err
		w.mu.Unlock()
		w.failing.Fail("events stream not ready: webhooks get 503 until it is; retrying with backoff", err)
		connected := w.nc.Status() == nats.CONNECTED
		if !w.sleep(ctx, backoff, connected) {
			return
		}
		if connected {
			// Only attempts that reached NATS back off; a connection that comes up is tried at once.
			backoff = min(2*backoff, streamBackoffMax)
		}
	}
}

// attempt creates or updates the streams, once NATS is connected.
func (w *streamWait) attempt(ctx context.Context) error {
	if st := w.nc.Status(); st != nats.CONNECTED {
		return fmt.Errorf("NATS at %s is not reachable yet (connection %s)", redact.URL(w.url), st)
	}
	ctx, cancel := context.WithTimeout(ctx, streamAttempt)
	defer cancel()
	return w.ensure(ctx)
}

// sleep waits d, or less when the connection comes up meanwhile (it was not connected); false when
// ctx ended.
func (w *streamWait) sleep(ctx context.Context, d time.Duration, connected bool) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
			return true
		case <-tick.C:
			if !connected && w.nc.Status() == nats.CONNECTED {
				return true
			}
		}
	}
}

// webHandler is what the webhook port serves; the ingest swaps it when the stream becomes ready.
type webHandler struct{ h atomic.Pointer[http.Handler] }

func (s *webHandler) set(h http.Handler) { s.h.Store(&h) }

func (s *webHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) { (*s.h.Load()).ServeHTTP(w, r) }

// fitBody is MAX_BODY_BYTES, lowered to what the connected NATS server carries: a larger body
// could never be published; it would get 503s and be retried for ever.
func (m *Program) fitBody() int64 {
	c := m.Config
	maxBody := c.MaxBody
	if fit := m.nc.MaxPayload() - queue.HeaderRoom; maxBody > fit {
		m.log.Warn("MAX_BODY_BYTES lowered to fit the NATS server's max_payload; raise max_payload in the nats-server configuration to accept larger events",
			"max_body_bytes", c.MaxBody, "lowered_to", fit, "max_payload", m.nc.MaxPayload())
		maxBody = fit
	}
	return maxBody
}
