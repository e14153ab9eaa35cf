package console

import (
	"sync"
	"time"
)

// maxSessions bounds the session table. Only a holder of a token can add to it, so it is a guard
// against a script signing in in a loop, not against strangers; past it, the session closest to
// its end is dropped first.
const maxSessions = 10000

// session is what the server keeps of one signed-in browser.
type session struct {
	expires time.Time
	// account is set for a session opened with an account's console token: it sees that account
	// only, and only while tokenHash (the token's HashSecret) is still one of the account's
	// console tokens, so issuing a new token (which replaces the old) ends its sessions too.
	account, tokenHash string
	// chosen is the account the admin's switcher last picked; empty: the default account.
	chosen string
}

// sessions is the table of sessions this process issued and has not seen end: nonce → session
// (see the note at the top of auth.go for why it is kept in memory). Safe for concurrent use.
type sessions struct {
	mu   sync.Mutex
	byID map[string]*session
}

// add records a new session, first dropping the expired ones and, when full, the one that
// would expire first.
func (s *sessions) add(nonce string, sess session, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byID == nil {
		s.byID = map[string]*session{}
	}
	if len(s.byID) >= maxSessions {
		oldest, first := "", time.Time{}
		for id, other := range s.byID {
			if !now.Before(other.expires) {
				delete(s.byID, id)
				continue
			}
			if oldest == "" || other.expires.Before(first) {
				oldest, first = id, other.expires
			}
		}
		if len(s.byID) >= maxSessions {
			delete(s.byID, oldest)
		}
	}
	s.byID[nonce] = &sess
}

// get returns the session with nonce when it was issued here, has not ended and has not expired.
func (s *sessions) get(nonce string, now time.Time) (session, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.byID[nonce]
	if !ok {
		return session{}, false
	}
	if !now.Before(sess.expires) {
		delete(s.byID, nonce)
		return session{}, false
	}
	return *sess, true
}

// choose keeps the account the admin's switcher picked for the session with nonce.
func (s *sessions) choose(nonce, accountID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sess, ok := s.byID[nonce]; ok {
		sess.chosen = accountID
	}
}

// end removes a session: its cookie is refused from now on.
func (s *sessions) end(nonce string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.byID, nonce)
}
