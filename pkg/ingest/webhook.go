package ingest

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/saleassist-pipeline/pipeline"
	"github.com/saleassist-pipeline/pipeline/internal/health"
	"github.com/saleassist-pipeline/pipeline/pkg/accept"
	"github.com/saleassist-pipeline/pipeline/pkg/account"
	"github.com/saleassist-pipeline/pipeline/pkg/queue"
)

// accepted is the 202 answer.
type accepted struct {
	Status    string `json:"status"`
	EventID   string `json:"event_id"`
	Duplicate bool   `json:"duplicate"`
}

// webhook takes one SaleAssist webhook: find the URL's account, authenticate, limit, read,
// identify, check the account, publish, answer.
func (s *Server) webhook(w http.ResponseWriter, r *http.Request) {
	start := s.now()
	s.watch.check(s.syncAccounts)
	acct, _ := accountOf(s.cfg.Accounts, r.URL.Path)
	am := s.metrics.forAccount(labelOf(acct))
	defer func() {
		if v := recover(); v != nil {
			s.panicked(w, am, v)
		}
	}()
	code := s.serveWebhook(w, r, start, acct, am)
	am.answered(code)
	am.duration.Observe(time.Since(start).Seconds())
}

func (s *Server) serveWebhook(w http.ResponseWriter, r *http.Request, start time.Time, acct *account.Account, am *accountMetrics) int {
	if acct == nil {
		// Neither the token (a revoked one may still be worth something to someone) nor the
		// path is logged.
		s.unknownURLs.Fail("request to a webhook URL of no enabled account, answered 404", nil, "source", s.cfg.Auth.Source(r).String())
		return unknownURL(w, r)
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		to := WebhookPath
		if r.URL.Path != WebhookPath {
			to = "this URL"
		}
		return writeError(w, http.StatusMethodNotAllowed, "method_not_allowed",
			r.Method+" is not allowed; SaleAssist webhooks are POSTed to "+to)
	}
	if f := s.cfg.Auth.CheckRequest(r, acct); f != nil {
		return s.refuse(w, r, f, am)
	}
	// The account's token bucket sits after the shared secret and before the body: after, so
	// that only a sender who knows the account's secret spends its tokens (a stranger with the
	// URL cannot starve the account); before, so that a refused request costs no body read,
	// decompression or parse, which is what the limit sheds under a flood. When the account has
	// no shared secret to check (a signature-only default account), the bucket waits for the
	// signature, for the same reason.
	early := s.cfg.Auth.SecretHeaderOf(acct) != ""
	if early {
		if d := s.limiters.wait(acct, start); d > 0 {
			return s.rateLimited(w, acct, d)
		}
	}
	raw, err := readBody(w, r, s.cfg.MaxBody)
	switch {
	case errors.Is(err, accept.ErrTooLarge):
		return writeError(w, http.StatusRequestEntityTooLarge, "too_large", accept.TooLargeMessage(s.cfg.MaxBody))
	case err != nil:
		return writeError(w, http.StatusBadRequest, "invalid_body", err.Error())
	}
	if f := s.cfg.Auth.CheckSignature(r, raw); f != nil {
		return s.refuse(w, r, f, am)
	}
	if !early {
		if d := s.limiters.wait(acct, s.now()); d > 0 {
			return s.rateLimited(w, acct, d)
		}
	}
	// Authenticated from here on: whatever cannot be accepted is kept in quarantine for replay.
	// The quarantine replay reads kept bodies with the same accept.Body and accept.ForAccount,
	// so the two agree.
	a, rej := accept.Body(accept.FromHeader(r.Header, raw), s.cfg.MaxBody)
	if rej == nil {
		rej = accept.ForAccount(a, acct)
	}
	if rej != nil {
		if !rej.Keep {
			return writeError(w, rej.Status, rej.Code, rej.Message)
		}
		return s.reject(w, r, raw, start, acct, am, rej)
	}
	ev := &pipeline.Event{ID: a.Head.ID, Type: a.Head.Type, ReceivedAt: start.UTC(), Body: a.Body, Account: acct.ID}
	t0 := time.Now()
	ack, err := s.pub.Publish(r.Context(), ev)
	am.publish.Observe(time.Since(t0).Seconds())
	if err != nil {
		s.publishFailing.Fail("publish failed, answering 503 with Retry-After", err, "event_type", ev.Type, "account", acct.ID)
		return unavailable(w, "the event could not be stored right now and was not accepted; retry with the same body")
	}
	s.publishFailing.OK("publishing again, answering 202")
	if ack.Duplicate {
		am.duplicates.Inc()
	}
	// JetStream has the event and the connection's buffer no longer refers to the body.
	putBody(raw)
	return writeAccepted(w, ev.ID, ack.Duplicate)
}

// refuse answers a request that failed authentication. Its body is not read further, nor kept.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, f *Failure, am *accountMetrics) int {
	am.authFailed(f.Reason)
	// One line per reason a minute at most, however many arrive (a scan, a misconfigured sender);
	// saleassist_ingest_auth_failures_total counts each.
	if l := s.refusals[f.Reason]; l != nil {
		l.Fail("request refused", nil, "reason", f.Reason, "account", am.id, "source", s.cfg.Auth.Source(r).String())
	} else {
		s.log.Info("request refused", "reason", f.Reason, "account", am.id, "source", s.cfg.Auth.Source(r).String())
	}
	code := "unauthorized"
	if f.Status == http.StatusForbidden {
		code = "forbidden"
	}
	return writeError(w, f.Status, code, f.Message)
}

// reject keeps an authenticated body the ingest cannot accept in the quarantine stream and
// answers with the reason and the quarantine id. If it cannot be kept right now, the answer is
// 503, so that the sender retries rather than the body being lost; if it can never be kept (too
// large for one NATS message even without its headers), the answer is the request's own 4xx,
// saying so, since retrying could not help.
func (s *Server) reject(w http.ResponseWriter, r *http.Request, raw []byte, start time.Time, acct *account.Account, am *accountMetrics, rej *accept.Rejection) int {
	status, code, msg := rej.Status, rej.Code, rej.Message
	header := make(http.Header, len(r.Header))
	for name, values := range r.Header {
		if !s.cfg.Auth.sensitive(name, acct) {
			header[name] = values
		}
	}
	id, err := s.pub.Quarantine(r.Context(), &queue.Rejected{
		Reason: code, Message: msg, Body: raw, Header: header,
		RemoteAddr: s.cfg.Auth.Source(r).String(), ReceivedAt: start, Account: acct.ID,
	})
	if errors.Is(err, queue.ErrTooLargeToKeep) {
		s.log.Warn("request too large to quarantine, refused without keeping it", "reason", code, "err", err)
		return writeError(w, status, code, msg+"; the request could not be kept for replay ("+err.Error()+
			"), so it is not kept: correct it and send it again")
	}
	if err != nil {
		s.quarantineFailing.Fail("quarantine failed, answering 503 with Retry-After", err, "reason", code, "account", acct.ID)
		return unavailable(w, msg+"; the request could not be kept for replay right now, so it was not accepted: retry later")
	}
	s.quarantineFailing.OK("quarantine works again")
	am.quarantinedFor(code)
	qid := strconv.FormatUint(id, 10)
	return writeJSON(w, status, errorBody{Error: code, QuarantineID: qid,
		Message: msg + " (the request is kept as quarantine_id " + qid + "; it can be replayed with ingestctl once fixed)"})
}

func unavailable(w http.ResponseWriter, msg string) int { return health.Unavailable(w, msg) }

// errorBody is the contract's error answer.
type errorBody struct {
	Error        string `json:"error"`
	Message      string `json:"message"`
	QuarantineID string `json:"quarantine_id,omitempty"`
}

// writeError answers with the JSON error shape of the contract and returns the status.
func writeError(w http.ResponseWriter, status int, code, msg string) int {
	return writeJSON(w, status, errorBody{Error: code, Message: msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) int { return health.WriteJSON(w, status, v) }

// write sends b as the JSON answer with status.
func write(w http.ResponseWriter, status int, b []byte) int { return health.Write(w, status, b) }

// writeAccepted answers 202 with the accepted body, byte for byte what writeJSON makes of it.
// It is written by hand for the ids most senders use (letters, digits, "-_.:"); anything else goes
// through encoding/json, which knows which characters to escape.
func writeAccepted(w http.ResponseWriter, id string, duplicate bool) int {
	for i := 0; i < len(id); i++ {
		if !idSafe[id[i]] {
			return writeJSON(w, http.StatusAccepted, accepted{Status: "accepted", EventID: id, Duplicate: duplicate})
		}
	}
	b := make([]byte, 0, len(`{"status":"accepted","event_id":"","duplicate":false}`)+len(id)+1)
	b = append(b, `{"status":"accepted","event_id":"`...)
	b = append(b, id...)
	b = append(b, `","duplicate":`...)
	b = strconv.AppendBool(b, duplicate)
	b = append(b, "}\n"...)
	return write(w, http.StatusAccepted, b)
}

// idSafe marks the bytes encoding/json writes unchanged inside a string.
var idSafe = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for _, c := range "-_.:" {
		t[c] = true
	}
	return t
}()
