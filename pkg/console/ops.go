package console

import (
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/saleassist-pipeline/pipeline/pkg/account"
	"github.com/saleassist-pipeline/pipeline/pkg/admin"
	"github.com/saleassist-pipeline/pipeline/pkg/queue"
)

// Quarantine and stats (dead letters are in deadletters.go): every action is the admin.Ops
// operation ingestctl runs, so the console and the CLI cannot drift apart.

type quarantineView struct {
	Quarantine []admin.QuarantineEntry `json:"quarantine"`
}

func (s *Server) quarantine(ctx context.Context, acct string) (quarantineView, *apiError) {
	l, err := listed(s, ctx, acct, "listing quarantine", (*admin.Ops).Quarantine)
	return quarantineView{Quarantine: l}, err
}

// listed runs one of admin.Ops' listings of account acct's entries for a page or the API:
// errNoOps without NATS, else the listing, its error mapped by opsError (what names it there).
func listed[T any](s *Server, ctx context.Context, acct, what string, list func(*admin.Ops, context.Context) ([]T, error)) ([]T, *apiError) {
	ops := s.opsFor(acct)
	if ops == nil {
		return nil, errNoOps
	}
	l, err := list(ops, ctx)
	if err != nil {
		return nil, s.opsError(what, err)
	}
	return l, nil
}

func (s *Server) apiQuarantine(w http.ResponseWriter, r *http.Request) {
	v, err := s.quarantine(r.Context(), accountOf(r))
	writeAPI(w, v, err)
}

type replayedQuarantined struct {
	Replayed admin.Replayed `json:"replayed"`
}

// replayQuarantined replays entry id as kept, or body instead when not nil (a corrected one).
func (s *Server) replayQuarantined(ctx context.Context, acct, idText string, body []byte) (replayedQuarantined, *apiError) {
	ops := s.opsFor(acct)
	if ops == nil {
		s.metrics.countReplay(kindQuarantine, errNoOps)
		return replayedQuarantined{}, errNoOps
	}
	id, _ := strconv.ParseUint(idText, 10, 64)
	rep, err := ops.ReplayQuarantined(ctx, id, body)
	switch {
	case err == nil:
	case errors.Is(err, admin.ErrNotReplayable):
		// Still not an acceptable event: the message says what is wrong and what to do.
		e := errorf(http.StatusUnprocessableEntity, "replay_failed", err.Error())
		s.metrics.countReplay(kindQuarantine, e)
		return replayedQuarantined{}, e
	default:
		e := s.opsError("replaying quarantine entry "+idText, err)
		s.metrics.countReplay(kindQuarantine, e)
		return replayedQuarantined{}, e
	}
	s.metrics.countReplay(kindQuarantine, nil)
	s.log.Info("console: quarantine entry replayed", "account", acct, "id", id, "event_id", rep.EventID)
	return replayedQuarantined{Replayed: rep}, nil
}

// apiReplayQuarantined takes a corrected body as a JSON request body; without one the kept body
// is replayed.
func (s *Server) apiReplayQuarantined(w http.ResponseWriter, r *http.Request) {
	var body []byte
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "application/json" {
		b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxUpload))
		if err != nil {
			writeError(w, http.StatusRequestEntityTooLarge, "too_large", "the corrected body is larger than the console accepts")
			return
		}
		if len(b) > 0 {
			body = b
		}
	}
	v, err := s.replayQuarantined(r.Context(), accountOf(r), pathVar(r, "id"), body)
	writeAPI(w, v, err)
}

// opsFor is the JetStream operations limited to account acct's entries; nil without NATS.
func (s *Server) opsFor(acct string) *admin.Ops {
	if s.ops == nil {
		return nil
	}
	if acct == "" {
		acct = account.Default
	}
	return s.ops.ForAccount(acct)
}

// maxUpload bounds request bodies the console reads (a corrected event, a mapping file).
const maxUpload = 4 << 20

// statsView is GET /api/stats.
type statsView struct {
	Leads           int64         `json:"leads"`
	Events          int64         `json:"events"`
	Meetings        int64         `json:"meetings"`
	StoredPerMinute []minuteCount `json:"stored_per_minute"`
	Consumer        *consumerLag  `json:"consumer"`
	DeadLetters     *uint64       `json:"dead_letters"`
	Quarantined     *uint64       `json:"quarantined"`
	// Workers are the workers that reported in the last 30 s; Paused those of them that are
	// paused on an unavailable store (since when, why).
	Workers []queue.WorkerState `json:"workers"`
	Paused  []queue.WorkerState `json:"-"`
	// QueueError says why the JetStream figures are missing (null), when they are.
	QueueError string `json:"queue_error,omitempty"`
}

type minuteCount struct {
	Minute time.Time `json:"minute"`
	Events int64     `json:"events"`
}

type consumerLag struct {
	Name       string `json:"name"`
	Pending    uint64 `json:"pending"`
	AckPending int    `json:"ack_pending"`
	Lag        uint64 `json:"lag"`
}

// stats gathers the figures; the JetStream ones are left null, with the reason, when NATS cannot
// be asked, so the store's figures still show during a NATS outage.
//
// operator says the admin asks: the workers' states (hosts, store errors) are the operator's
// business, not an account's.
func (s *Server) stats(ctx context.Context, acct string, operator bool) (statsView, *apiError) {
	c, err := s.store.Counts(ctx, acct)
	if err != nil {
		return statsView{}, s.internal("counting", err)
	}
	now := time.Now().UTC().Truncate(time.Minute)
	since := now.Add(-59 * time.Minute)
	per, err := s.store.StoredPerMinute(ctx, acct, since)
	if err != nil {
		return statsView{}, s.internal("counting events per minute", err)
	}
	v := statsView{Leads: c.Leads, Events: c.Events, Meetings: c.Meetings, StoredPerMinute: make([]minuteCount, 60)}
	for i := range v.StoredPerMinute {
		v.StoredPerMinute[i].Minute = since.Add(time.Duration(i) * time.Minute)
	}
	for _, m := range per {
		if i := int(m.Minute.Sub(since) / time.Minute); i >= 0 && i < len(v.StoredPerMinute) {
			v.StoredPerMinute[i].Events += m.Events
		}
	}
	s.queueStats(ctx, acct, operator, &v)
	return v, nil
}

func (s *Server) apiStats(w http.ResponseWriter, r *http.Request) {
	v, err := s.stats(r.Context(), accountOf(r), principalOf(r).account == "")
	writeAPI(w, v, err)
}
