package console

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
)

// The sign-in flow. A browser that is not signed in (or whose session ended) asking for a page
// is sent to /signin?next=<the page>, and back there after signing in; API clients (a path under
// /api/, an Authorization header, or an Accept that asks for JSON) keep the JSON 401. next is
// followed only when it is a path on this console (safeNext): never another site.
//
// Sign-in attempts are limited per client address (signInLimiter): SignInBurst at once, then one
// more every SignInEvery. Past that the answer is 429 with Retry-After and a page that says how
// long to wait; the correct token is refused too while the limit holds, so the limit says nothing
// about the token. Refusals are counted (saleassist_console_signin_failures_total{reason}).

// SignInBurst and SignInEvery bound sign-in attempts per client address.
const (
	SignInBurst = 10
	SignInEvery = 6 * time.Second
)

// wantsJSON reports whether r comes from an API client, which gets a JSON 401 rather than a
// redirect to the sign-in page.
func wantsJSON(r *http.Request) bool {
	if strings.HasPrefix(r.URL.Path, "/api/") || r.Header.Get("Authorization") != "" {
		return true
	}
	accept := strings.ToLower(r.Header.Get("Accept"))
	return strings.Contains(accept, "json") && !strings.Contains(accept, "text/html")
}

// signInURL is the sign-in page that comes back to r's page afterwards. A form posted after the
// session ended cannot be repeated by a redirect: it comes back to the start page.
func signInURL(r *http.Request) string {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return "/signin"
	}
	next := r.URL.RequestURI()
	if safeNext(next) == "/" {
		return "/signin"
	}
	return "/signin?next=" + url.QueryEscape(next)
}

// safeNext returns next when it is a path on this console, else "/": no scheme, no host, not
// "//host" nor "/\host" (browsers read a backslash as a slash), no control or space characters
// (browsers drop tabs and newlines from URLs, which could join "/" and "/host"), not the sign-in
// page itself.
func safeNext(next string) string {
	if next == "" || len(next) > 2048 || next[0] != '/' || strings.HasPrefix(next, "//") || strings.ContainsRune(next, '\\') {
		return "/"
	}
	for _, c := range next {
		if unicode.IsControl(c) || unicode.IsSpace(c) {
			return "/"
		}
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Path == "/signin" {
		return "/"
	}
	return next
}

// clientKey is the address sign-in attempts are counted under: the peer's IP (an IPv6 client by
// its /64, which one host usually has whole). Behind a reverse proxy every client has the
// proxy's address, and shares its limit.
func clientKey(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	a = a.Unmap()
	if a.Is6() {
		if p, err := a.Prefix(64); err == nil {
			return p.String()
		}
	}
	return a.String()
}

// signInLimiter is a token bucket per client address. Safe for concurrent use.
type signInLimiter struct {
	mu    sync.Mutex
	burst float64
	every time.Duration
	by    map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

// maxLimited bounds the table; past it, addresses whose bucket has filled up again are dropped,
// then any.
const maxLimited = 10000

func newSignInLimiter(burst int, every time.Duration) *signInLimiter {
	return &signInLimiter{burst: float64(burst), every: every, by: map[string]*bucket{}}
}

// take spends one attempt of key at now; when none is left it says how long until one is.
func (l *signInLimiter) take(key string, now time.Time) (ok bool, wait time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.by[key]
	if b == nil {
		if len(l.by) >= maxLimited {
			l.prune(now)
		}
		b = &bucket{tokens: l.burst, at: now}
		l.by[key] = b
	}
	b.tokens = min(l.burst, b.tokens+float64(now.Sub(b.at))/float64(l.every))
	b.at = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) * float64(l.every))
}

func (l *signInLimiter) prune(now time.Time) {
	for k, b := range l.by {
		if b.tokens+float64(now.Sub(b.at))/float64(l.every) >= l.burst {
			delete(l.by, k)
		}
	}
	for k := range l.by {
		if len(l.by) < maxLimited {
			return
		}
		delete(l.by, k)
	}
}

// signInData is the sign-in page's data.
type signInData struct {
	// Next is where to go after signing in ("" for the start page).
	Next string
	// Ended says the browser came with a session that is no longer valid.
	Ended bool
}

func (s *Server) signInPage(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.URL.Query().Get("next"))
	if _, ok := s.auth.authenticate(r); ok && r.Header.Get("Authorization") == "" {
		http.Redirect(w, r, next, http.StatusSeeOther) // signed in already
		return
	}
	s.renderSignIn(w, r, http.StatusOK, next, "")
}

func (s *Server) renderSignIn(w http.ResponseWriter, r *http.Request, status int, next, msg string) {
	d := signInData{}
	if next != "/" {
		d.Next = next
	}
	if c, err := r.Cookie(SessionCookie); err == nil && c.Value != "" {
		d.Ended = true
	}
	s.render(w, r, status, "signin", pageData{Title: "Sign in", Error: msg, Data: d})
}

// signIn checks the token from the form, within the per-address limit, and goes to the form's
// next page. A cross-site sign-in (login CSRF) is refused.
func (s *Server) signIn(w http.ResponseWriter, r *http.Request) {
	if err := s.auth.origin.Check(r); err != nil {
		writeError(w, http.StatusForbidden, "forbidden", "cross-origin sign-in refused")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	next := safeNext(r.PostFormValue("next"))
	if ok, wait := s.signInLimit.take(clientKey(r), time.Now()); !ok {
		s.metrics.signInFailures.WithLabelValues("rate_limited").Inc()
		secs := int(wait.Round(time.Second) / time.Second)
		secs = max(secs, 1)
		s.signInFailing.Fail("console: sign-in refused", nil, "why", "too many attempts", "remote", clientKey(r))
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		s.renderSignIn(w, r, http.StatusTooManyRequests, next, fmt.Sprintf(
			"Too many sign-in attempts from your address. Wait %d seconds, then try again (at most %d attempts at once, then one every %d seconds).",
			secs, SignInBurst, int(SignInEvery/time.Second)))
		return
	}
	who, why := s.auth.identify(strings.TrimSpace(r.PostFormValue("token")))
	if why != "" {
		s.metrics.signInFailures.WithLabelValues(why).Inc()
		s.signInFailing.Fail("console: sign-in refused", nil, "why", why, "remote", clientKey(r))
		msg := "That is not the admin token, nor an account's console token. The admin token is ADMIN_TOKEN, or the file admin-token in the pipeline's data directory; " +
			"an account's console token is issued by `ingestctl accounts token ID`."
		if why == "account_disabled" {
			msg = "This console token's account is disabled. Ask the pipeline's operator to enable it (`ingestctl accounts enable ID`)."
		}
		s.renderSignIn(w, r, http.StatusUnauthorized, next, msg)
		return
	}
	s.signInFailing.OK("console: signed in after refused attempts")
	s.auth.setSession(w, r, who)
	http.Redirect(w, r, next, http.StatusSeeOther)
}
