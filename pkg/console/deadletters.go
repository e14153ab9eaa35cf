package console

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/saleassist-pipeline/pipeline/pkg/admin"
	"github.com/saleassist-pipeline/pipeline/pkg/queue"
)

// Dead letters: list, replay (as it is, with a corrected body, or unchanged on purpose),
// discard with a reason, and the discarded ones. Every action is the admin.Ops operation
// `ingestctl dlq` runs, so the console and the CLI cannot drift apart.
//
// A dead letter whose reason says the event itself is bad (invalid, permanent, undecodable,
// unstorable: queue.TransientReason is false) would fail the same way if replayed as it is, and
// come straight back under a new id. The console therefore offers no plain Replay for it, only
// "Edit and replay" (a corrected body, checked as the webhook checks one, event id kept) and
// "Discard" (with a reason, recorded); a plain replay asked for anyway is 409 needs_change.

// deadLetterItem is a dead letter as the console shows it.
type deadLetterItem struct {
	admin.DeadLetter
	// NeedsChange says a replay as it is would be refused: its reason says the event is bad.
	NeedsChange bool `json:"needs_change"`
}

func itemOf(d admin.DeadLetter) deadLetterItem {
	return deadLetterItem{DeadLetter: d, NeedsChange: !queue.TransientReason(d.Reason)}
}

type deadLettersView struct {
	DeadLetters []deadLetterItem `json:"dead_letters"`
}

func (s *Server) deadLetters(ctx context.Context, acct string) (deadLettersView, *apiError) {
	l, err := listed(s, ctx, acct, "listing dead letters", (*admin.Ops).DeadLetters)
	if err != nil {
		return deadLettersView{}, err
	}
	v := deadLettersView{DeadLetters: make([]deadLetterItem, len(l))}
	for i, d := range l {
		v.DeadLetters[i] = itemOf(d)
	}
	return v, nil
}

// deadLetterView is one dead letter with its body as stored, as text.
type deadLetterView struct {
	DeadLetter deadLetterItem `json:"dead_letter"`
	Body       string         `json:"body"`
}

func (s *Server) deadLetter(ctx context.Context, acct, idText string) (deadLetterView, *apiError) {
	ops := s.opsFor(acct)
	if ops == nil {
		return deadLetterView{}, errNoOps
	}
	id, _ := strconv.ParseUint(idText, 10, 64)
	d, body, err := ops.DeadLetter(ctx, id)
	if err != nil {
		return deadLetterView{}, s.opsError("reading dead letter "+idText, err)
	}
	return deadLetterView{DeadLetter: itemOf(d), Body: string(body)}, nil
}

// replayedDeadLetter is the answer of a dead-letter replay.
type replayedDeadLetter struct {
	Replayed admin.DeadLetter `json:"replayed"`
	// Corrected says it was replayed with a corrected body.
	Corrected bool `json:"corrected"`
}

// replayDeadLetter replays dead letter idText with opts, and counts the outcome.
func (s *Server) replayDeadLetter(ctx context.Context, acct, idText string, opts admin.ReplayOptions) (replayedDeadLetter, *apiError) {
	v, err := s.doReplayDeadLetter(ctx, acct, idText, opts)
	s.metrics.countReplay(kindDeadLetter, err)
	return v, err
}

func (s *Server) doReplayDeadLetter(ctx context.Context, acct, idText string, opts admin.ReplayOptions) (replayedDeadLetter, *apiError) {
	ops := s.opsFor(acct)
	if ops == nil {
		return replayedDeadLetter{}, errNoOps
	}
	if opts.Body != nil {
		// A textarea sends CRLF line ends and the page shows the body indented: compact a body
		// that is JSON, so the stored payload is as plain as the sender's. Anything else goes as
		// it is, and the check below says what is wrong with it.
		var b bytes.Buffer
		if json.Compact(&b, opts.Body) == nil {
			opts.Body = b.Bytes()
		}
	}
	id, _ := strconv.ParseUint(idText, 10, 64)
	d, err := ops.ReplayDeadLetter(ctx, id, opts)
	if err != nil {
		return replayedDeadLetter{}, s.opsError("replaying dead letter "+idText, err)
	}
	s.log.Info("console: dead letter replayed", "account", acct, "id", id, "event_id", d.EventID, "reason", d.Reason,
		"corrected", opts.Body != nil, "unchanged", opts.Unchanged)
	return replayedDeadLetter{Replayed: d, Corrected: opts.Body != nil}, nil
}

// apiReplayDeadLetter replays as it is; a JSON request body is a corrected event to replay
// instead, and ?unchanged=true replays a dead letter whose reason is permanent as it is (after
// a fix to the pipeline itself).
func (s *Server) apiReplayDeadLetter(w http.ResponseWriter, r *http.Request) {
	var opts admin.ReplayOptions
	switch u := r.URL.Query().Get("unchanged"); u {
	case "", "0", "false":
	case "1", "true":
		opts.Unchanged = true
	default:
		writeError(w, http.StatusBadRequest, "invalid_query", fmt.Sprintf("unchanged=%q: use unchanged=true to replay a dead letter as it is although its reason is permanent", u))
		return
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "application/json" {
		b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxUpload))
		if err != nil {
			writeError(w, http.StatusRequestEntityTooLarge, "too_large", "the corrected body is larger than the console accepts")
			return
		}
		if len(b) > 0 {
			opts.Body = b
		}
	}
	if opts.Body != nil && opts.Unchanged {
		writeError(w, http.StatusBadRequest, "invalid_request", "send a corrected body or unchanged=true, not both")
		return
	}
	v, err := s.replayDeadLetter(r.Context(), accountOf(r), pathVar(r, "id"), opts)
	writeAPI(w, v, err)
}

func (s *Server) apiDeadLetters(w http.ResponseWriter, r *http.Request) {
	v, err := s.deadLetters(r.Context(), accountOf(r))
	writeAPI(w, v, err)
}

func (s *Server) apiDeadLetter(w http.ResponseWriter, r *http.Request) {
	v, err := s.deadLetter(r.Context(), accountOf(r), pathVar(r, "id"))
	writeAPI(w, v, err)
}

type discardedView struct {
	Discarded admin.Discarded `json:"discarded"`
}

// discardDeadLetter moves dead letter idText, with reason, to the discarded ones.
func (s *Server) discardDeadLetter(ctx context.Context, acct, idText, reason string) (discardedView, *apiError) {
	ops := s.opsFor(acct)
	if ops == nil {
		return discardedView{}, errNoOps
	}
	if strings.TrimSpace(reason) == "" {
		return discardedView{}, errorf(http.StatusUnprocessableEntity, "invalid_reason",
			"a discard needs a reason: say why the event is given up on; it is recorded and shown in the Discarded list")
	}
	id, _ := strconv.ParseUint(idText, 10, 64)
	d, err := ops.DiscardDeadLetter(ctx, id, reason)
	switch {
	case err == nil:
	case errors.Is(err, admin.ErrNotReplayable): // the reason itself: too long, not UTF-8
		return discardedView{}, errorf(http.StatusUnprocessableEntity, "invalid_reason", err.Error())
	default:
		return discardedView{}, s.opsError("discarding dead letter "+idText, err)
	}
	s.log.Info("console: dead letter discarded", "account", acct, "id", id, "event_id", d.EventID, "reason", d.Reason)
	return discardedView{Discarded: d}, nil
}

// apiDiscardDeadLetter takes the reason as JSON {"reason": "…"} or as a form field.
func (s *Server) apiDiscardDeadLetter(w http.ResponseWriter, r *http.Request) {
	var reason string
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "application/json" {
		var req struct {
			Reason string `json:"reason"`
		}
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&req); err != nil {
			writeError(w, http.StatusBadRequest, "invalid_json", `send {"reason": "why the event is given up on"}: `+err.Error())
			return
		}
		reason = req.Reason
	} else {
		reason = r.PostFormValue("reason")
	}
	v, err := s.discardDeadLetter(r.Context(), accountOf(r), pathVar(r, "id"), reason)
	writeAPI(w, v, err)
}

type discardedListView struct {
	Discarded []admin.Discarded `json:"discarded"`
}

func (s *Server) discarded(ctx context.Context, acct string) (discardedListView, *apiError) {
	l, err := listed(s, ctx, acct, "listing discarded dead letters", (*admin.Ops).DiscardedDeadLetters)
	return discardedListView{Discarded: l}, err
}

func (s *Server) apiDiscarded(w http.ResponseWriter, r *http.Request) {
	v, err := s.discarded(r.Context(), accountOf(r))
	writeAPI(w, v, err)
}
