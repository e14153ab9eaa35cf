package console

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/saleassist-pipeline/pipeline/pkg/account"
)

// How the console authenticates, and why it resists cross-site request forgery:
//
//   - The token is the admin token, which sees every account, or an account's console token,
//     which sees its account only (accounts.go).
//   - Scripts send "Authorization: Bearer <token>". A browser never attaches that header
//     by itself, so a request carrying it cannot be forged by another site.
//   - People sign in once with the token; the answer sets a session cookie (HttpOnly, so scripts
//     cannot read it; SameSite=Strict, so the browser does not send it on requests other sites
//     start). The cookie is not the token: it is an expiry and a random nonce signed with a key
//     derived from the token (HMAC-SHA256), so it ends after SessionTTL, and changing
//     ADMIN_TOKEN signs everyone out.
//   - A signature alone cannot be taken back, so the server also keeps every session it issued
//     (sessions below), and a cookie counts only while its nonce is there: sign-out removes it,
//     so a copied cookie dies at sign-out rather than 12 hours later. The table lives in the
//     process's memory, by choice: a restart (which is also how a new ADMIN_TOKEN takes effect)
//     signs everyone out, and where several console processes run, each accepts only the sessions
//     it issued (behind a load balancer, make sessions sticky). Nothing to store or share, and no
//     way for a session to outlive the process that vouches for it.
//   - Every POST passes net/http's CrossOriginProtection (Sec-Fetch-Site, else Origin against
//     Host) and, when authenticated by the cookie, must carry the session's CSRF token (a hidden
//     form field, or the X-CSRF-Token header) — HMAC of the session's nonce under a second derived
//     key, compared in constant time. SameSite=Strict alone would do in current browsers; the
//     token covers older ones and same-site subdomains.

// SessionCookie is the name of the console's session cookie; SessionTTL how long it lasts.
const (
	SessionCookie = "console_session"
	SessionTTL    = 12 * time.Hour
)

// auth checks tokens, sessions and CSRF tokens.
type auth struct {
	token tokenMatcher
	// accounts holds the accounts' console tokens (as hashes): each signs in to its account only.
	accounts                      *account.Registry
	sessionKey, csrfKey, flashKey []byte
	origin                        *http.CrossOriginProtection
	now                           func() time.Time
	sessions                      sessions
}

func newAuth(token string, accounts *account.Registry) *auth {
	return &auth{token: newTokenMatcher(token), accounts: accounts, sessionKey: derive(token, "session"),
		csrfKey: derive(token, "csrf"), flashKey: derive(token, "flash"), origin: http.NewCrossOriginProtection(), now: time.Now}
}

// derive makes a key for one purpose from the token, so a leaked session or CSRF value says
// nothing about the token or about the other key.
func derive(token, purpose string) []byte {
	m := hmac.New(sha256.New, []byte(token))
	m.Write([]byte("saleassist-console/" + purpose))
	return m.Sum(nil)
}

func mac(key []byte, parts ...string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(strings.Join(parts, ".")))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// newSession starts a session for who and returns its cookie value, signed: "expiry.nonce.mac".
func (a *auth) newSession(who identity) string {
	raw := make([]byte, 18)
	_, _ = rand.Read(raw) // never fails (crypto/rand panics rather than return an error)
	nonce := base64.RawURLEncoding.EncodeToString(raw)
	expires := a.now().Add(SessionTTL)
	a.sessions.add(nonce, session{expires: expires, account: who.account, tokenHash: who.tokenHash}, a.now())
	exp := strconv.FormatInt(expires.Unix(), 10)
	return exp + "." + nonce + "." + mac(a.sessionKey, exp, nonce)
}

// checkSession returns the nonce of a valid, unexpired session, and the session.
func (a *auth) checkSession(v string) (nonce string, sess session, ok bool) {
	parts := strings.Split(v, ".")
	if len(parts) != 3 {
		return "", session{}, false
	}
	exp, err := strconv.ParseInt(parts[0], 10, 64)
	if err != nil || a.now().Unix() >= exp {
		return "", session{}, false
	}
	if !hmac.Equal([]byte(parts[2]), []byte(mac(a.sessionKey, parts[0], parts[1]))) {
		return "", session{}, false
	}
	if sess, ok = a.sessions.get(parts[1], a.now()); !ok {
		return "", session{}, false // signed out, or issued by another process (or before a restart)
	}
	if sess.account != "" && !a.stillAccepts(sess) {
		a.sessions.end(parts[1]) // its token was replaced, or its account disabled or removed
		return "", session{}, false
	}
	return parts[1], sess, true
}

// csrfFor is the CSRF token of the session with nonce.
func (a *auth) csrfFor(nonce string) string { return mac(a.csrfKey, nonce) }

// principal is who made a request: by Bearer token, or by the session with nonce.
type principal struct {
	bearer bool
	nonce  string
	// account is the one account an account's console token sees; empty for the admin token,
	// which sees every account.
	account string
	// chosen is the account the admin's switcher last picked, for a session.
	chosen string
}

type principalKey struct{}

// csrfToken is the CSRF token the page rendered for r must embed in its forms.
func (s *Server) csrfToken(r *http.Request) string {
	p, _ := r.Context().Value(principalKey{}).(principal)
	if p.nonce == "" {
		return ""
	}
	return s.auth.csrfFor(p.nonce)
}

// authenticate finds a valid Bearer token or session cookie. A request with an Authorization
// header is judged by it alone.
func (a *auth) authenticate(r *http.Request) (principal, bool) {
	if h := r.Header.Get("Authorization"); h != "" {
		tok, ok := strings.CutPrefix(h, "Bearer ")
		if !ok {
			return principal{bearer: true}, false
		}
		who, why := a.identify(strings.TrimSpace(tok))
		return principal{bearer: true, account: who.account}, why == ""
	}
	c, err := r.Cookie(SessionCookie)
	if err != nil {
		return principal{}, false
	}
	nonce, sess, ok := a.checkSession(c.Value)
	return principal{nonce: nonce, account: sess.account, chosen: sess.chosen}, ok
}

// require is the middleware every route but /healthz, /metrics and /signin goes through:
// without a valid token or session, a browser is sent to the sign-in page (and back afterwards)
// and an API client gets 401 (see signin.go); a state-changing request that fails the CSRF
// checks is 403.
func (a *auth) require(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := a.authenticate(r)
		if !ok && !wantsJSON(r) {
			http.Redirect(w, r, signInURL(r), http.StatusSeeOther)
			return
		}
		if !ok {
			writeError(w, http.StatusUnauthorized, "unauthorized",
				"sign in at /signin, or send the header Authorization: Bearer <token>: the admin token (ADMIN_TOKEN, or the file admin-token in the data directory), "+
					"or an account's console token (`ingestctl accounts token ID`)")
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			if msg := a.checkCSRF(r, p); msg != "" {
				writeError(w, http.StatusForbidden, "forbidden", msg)
				return
			}
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
	})
}

// checkCSRF returns why a state-changing request is refused, or "".
func (a *auth) checkCSRF(r *http.Request, p principal) string {
	if err := a.origin.Check(r); err != nil {
		return "cross-origin request refused: submit the console's own forms"
	}
	if p.bearer {
		return ""
	}
	got := r.Header.Get("X-CSRF-Token")
	if got == "" && isForm(r) {
		got = r.PostFormValue("csrf")
	}
	if got == "" || !hmac.Equal([]byte(got), []byte(a.csrfFor(p.nonce))) {
		return "missing or wrong CSRF token: reload the page and submit the form again"
	}
	return ""
}

// isForm reports whether r's body is an HTML form, the only body the CSRF check may parse.
func isForm(r *http.Request) bool {
	ct := r.Header.Get("Content-Type")
	return strings.HasPrefix(ct, "application/x-www-form-urlencoded") || strings.HasPrefix(ct, "multipart/form-data")
}

// setSession signs the browser in as who.
func (a *auth) setSession(w http.ResponseWriter, r *http.Request, who identity) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: a.newSession(who), Path: "/",
		MaxAge: int(SessionTTL / time.Second), HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https"})
}

// clearSession signs the browser out.
func clearSession(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteStrictMode})
}
