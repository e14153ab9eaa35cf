package ingest

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/saleassist-pipeline/pipeline/pkg/event"
)

// accepted is the 202 answer.
type accepted struct {
	Status    string `json:"status"`
	EventID   string `json:"event_id"`
	Duplicate bool   `json:"duplicate"`
}

// webhook takes one SaleAssist webhook: authenticate, read, identify, publish, answer.
func (s *Server) webhook(w http.ResponseWriter, r *http.Request) {
	start := s.now()
	code := s.serveWebhook(w, r, start)
	s.metrics.requests.WithLabelValues(strconv.Itoa(code)).Inc()
	s.metrics.duration.Observe(time.Since(start).Seconds())
}

func (s *Server) serveWebhook(w http.ResponseWriter, r *http.Request, start time.Time) int {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return writeError(w, http.StatusMethodNotAllowed, "method_not_allowed",
			r.Method+" is not allowed; SaleAssist webhooks are POSTed to "+WebhookPath)
	}
	got := r.Header.Get(s.cfg.SecretHeader)
	if got == "" {
		s.metrics.authFailures.WithLabelValues("missing").Inc()
		return writeError(w, http.StatusUnauthorized, "unauthorized",
			"missing header "+s.cfg.SecretHeader+": add it to the webhook's custom headers in SaleAssist with the secret printed when the ingest first started")
	}
	if !s.cfg.Secrets.Match(got) {
		s.metrics.authFailures.WithLabelValues("mismatch").Inc()
		return writeError(w, http.StatusUnauthorized, "unauthorized",
			"header "+s.cfg.SecretHeader+" does not hold a configured secret: check the value in SaleAssist's custom headers against WEBHOOK_SECRETS or the data directory's webhook-secret file")
	}
	if msg := checkContentType(r.Header.Get("Content-Type")); msg != "" {
		return writeError(w, http.StatusUnsupportedMediaType, "unsupported_media_type", msg)
	}
	body, status, msg := s.readBody(w, r)
	if status != 0 {
		code := "invalid_body"
		if status == http.StatusRequestEntityTooLarge {
			code = "too_large"
		}
		return writeError(w, status, code, msg)
	}
	head, err := event.ParseHead(body)
	if err != nil {
		var se *event.SyntaxError
		if errors.As(err, &se) {
			return writeError(w, http.StatusBadRequest, "invalid_json", err.Error()+"; send the event as a JSON object")
		}
		return writeError(w, http.StatusUnprocessableEntity, "invalid_envelope", err.Error())
	}
	ev := &event.Event{ID: head.ID, Type: head.Type, ReceivedAt: start.UTC(), Body: body}
	t0 := time.Now()
	ack, err := s.pub.Publish(r.Context(), ev)
	s.metrics.publish.Observe(time.Since(t0).Seconds())
	if err != nil {
		s.log.Warn("publish failed, answered 503", "event_id", ev.ID, "event_type", ev.Type, "err", err)
		w.Header().Set("Retry-After", "5")
		return writeError(w, http.StatusServiceUnavailable, "unavailable",
			"the event could not be stored right now and was not accepted; retry with the same body")
	}
	if ack.Duplicate {
		s.metrics.duplicates.Inc()
	}
	return writeJSON(w, http.StatusAccepted, accepted{Status: "accepted", EventID: ev.ID, Duplicate: ack.Duplicate})
}

// readBody reads at most MaxBody bytes. On failure it returns the status and message to answer.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, int, string) {
	limit := s.cfg.MaxBody
	if r.ContentLength > limit {
		return nil, http.StatusRequestEntityTooLarge, tooLarge(limit)
	}
	size := r.ContentLength
	if size < 0 || size > limit {
		size = 512
	}
	buf := make([]byte, 0, size+1)
	body, err := readAll(http.MaxBytesReader(w, r.Body, limit), buf)
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return nil, http.StatusRequestEntityTooLarge, tooLarge(limit)
	case err != nil:
		return nil, http.StatusBadRequest, "could not read the request body: " + err.Error()
	case len(body) == 0:
		return nil, http.StatusBadRequest, `the body is empty; send the event as JSON {"event_type": "...", "payload": {...}}`
	}
	return body, 0, ""
}

type errorBody struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

// writeError answers with the JSON error shape of the contract and returns the status.
func writeError(w http.ResponseWriter, status int, code, msg string) int {
	return writeJSON(w, status, errorBody{Error: code, Message: msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) int {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
	return status
}
