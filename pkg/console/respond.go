package console

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/saleassist-pipeline/pipeline/pkg/admin"
	"github.com/saleassist-pipeline/pipeline/pkg/store"
)

// apiError is the error answer, the ingest's {"error","message"} shape.
type apiError struct {
	Status  int    `json:"-"`
	Code    string `json:"error"`
	Message string `json:"message"`
	// Errors details an invalid mapping, one entry per fault.
	Errors []mappingFault `json:"errors,omitempty"`
}

func (e *apiError) Error() string { return e.Message }

func errorf(status int, code, msg string) *apiError {
	return &apiError{Status: status, Code: code, Message: msg}
}

// internal turns an unexpected error into a 500 that says nothing about it: the details go to
// the log (they may name a file or a query, never lead data: the stores' errors carry ids only).
func (s *Server) internal(what string, err error) *apiError {
	s.log.Error("console: "+what, "err", err)
	return errorf(http.StatusInternalServerError, "internal", what+" failed; the console's log says why")
}

// opsError maps an admin operation's error: a missing entry is 404, an unreachable JetStream 503.
func (s *Server) opsError(what string, err error) *apiError {
	switch {
	case errors.Is(err, admin.ErrNotFound):
		return errorf(http.StatusNotFound, "not_found", err.Error())
	case errors.Is(err, admin.ErrNoStream):
		return errorf(http.StatusNotFound, "not_found", err.Error())
	case errors.Is(err, admin.ErrNeedsChange):
		return errorf(http.StatusConflict, "needs_change", err.Error())
	case errors.Is(err, admin.ErrNotReplayable):
		return errorf(http.StatusUnprocessableEntity, "not_replayable", err.Error())
	}
	s.log.Error("console: "+what, "err", err)
	return errorf(http.StatusServiceUnavailable, "unavailable", what+": "+err.Error())
}

// storeError maps a store read's error: not found is 404, the rest 500.
func (s *Server) storeError(what string, err error) *apiError {
	if errors.Is(err, store.ErrNotFound) {
		return errorf(http.StatusNotFound, "not_found", what+" does not exist")
	}
	return s.internal(what, err)
}

var errNoOps = errorf(http.StatusServiceUnavailable, "unavailable",
	"this console is not connected to NATS, so dead letters and quarantine are out of reach; start it with NATS_URL")

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		b, status = []byte(`{"error":"internal","message":"encoding the answer failed"}`), http.StatusInternalServerError
	}
	b = append(b, '\n')
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, apiError{Code: code, Message: msg})
}

// writeAPI writes v, or err as the error answer.
func writeAPI(w http.ResponseWriter, v any, err *apiError) {
	if err != nil {
		writeJSON(w, err.Status, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// isNotFound reports whether an admin operation found no such entry or stream.
func isNotFound(err error) bool {
	return errors.Is(err, admin.ErrNotFound) || errors.Is(err, admin.ErrNoStream)
}
