package console

import (
	"sync"
	"time"
)

// maxSessions bounds the session table. Only a holder of the admin token can add to it, so it
// is a guard against a script signing in in a loop, not against strangers; past it, the session
// closest to its end is dropped first.
const maxSessions = 10000

// sessions is the table of sessions this process issued and has not seen end: nonce → expiry
// (see the note at the top of auth.go for why it is kept in memory). Safe for concurrent use.
type sessions struct {
	mu   sync.Mutex
	byID map[string]time.Time
}

// add records a new session, first dropping the expired ones and, when full, the one that
// would expire first.
func (s *sessions) add(nonce string, expires, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byID == nil {
		s.byID = map[string]time.Time{}
	}
	if len(s.byID) >= maxSessions {
		oldest, first := "", time.Time{}
		for id, exp := range s.byID {
			if !now.Before(exp) {
				delete(s.byID, id)
				continue
			}
			if oldest == "" || exp.Before(first) {
				oldest, first = id, exp
			}
		}
		if len(s.byID) >= maxSessions {
			delete(s.byID, oldest)
		}
	}
	s.byID[nonce] = expires
}

// valid reports whether the session with nonce was issued here, has not ended and has not expired.
func (s *sessions) valid(nonce string, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	exp, ok := s.byID[nonce]
	if ok && !now.Before(exp) {
		delete(s.byID, nonce)
		return false
	}
	return ok
}

// end removes a session: its cookie is refused from now on.
func (s *sessions) end(nonce string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.byID, nonce)
}
