package console

import (
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/gorilla/mux"
)

// checkInput refuses, before any handler runs, input no store can take: text that is not valid
// UTF-8 or holds NUL. SQLite ends a LIKE pattern at NUL (a search for "x\x00" matched every lead)
// and PostgreSQL rejects both with an error (a 500), so neither may reach a query.
//
//   - The query string (q, cursor, event_type, …): 400 invalid_query, saying how to fix it. A
//     malformed %-escape is refused too, rather than silently dropped (which turned "q=50%" into
//     no search at all).
//   - A path segment (an event id, an event type): 404, since no stored event can have such an
//     id or type (the ingest refuses them), exactly as for any other id that does not exist.
func (s *Server) checkInput(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if msg := badQuery(r.URL.RawQuery); msg != "" {
			s.refuse(w, r, errorf(http.StatusBadRequest, "invalid_query", msg))
			return
		}
		for _, v := range mux.Vars(r) {
			u, err := url.PathUnescape(v)
			if err != nil || !cleanText(u) {
				s.refuse(w, r, errorf(http.StatusNotFound, "not_found",
					"nothing is stored under this name: ids and event types are valid UTF-8 without NUL"))
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// badQuery says what is wrong with a raw query string, or "".
func badQuery(raw string) string {
	vals, err := url.ParseQuery(raw)
	if err != nil {
		return "the query string is not valid URL encoding (" + err.Error() + "): write a literal % as %25"
	}
	for k, vs := range vals {
		if !cleanText(k) {
			return "a query parameter name is not valid UTF-8 or contains NUL (%00): send UTF-8 text"
		}
		for _, v := range vs {
			if !cleanText(v) {
				return "the query parameter " + k + " is not valid UTF-8 or contains NUL (%00): send UTF-8 text without NUL"
			}
		}
	}
	return ""
}

// cleanText reports whether s is valid UTF-8 without NUL: what every store can hold and search.
func cleanText(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }

// refuse answers e as JSON under /api/, as a page elsewhere.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, e *apiError) {
	if strings.HasPrefix(r.URL.Path, "/api/") {
		writeAPI(w, nil, e)
		return
	}
	s.renderError(w, r, e)
}
