package console_test

import (
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/pkg/console"
)

// A browser without a session asking for a page is sent to /signin?next=<the page>, and there
// after signing in; a form posted without one goes to /signin; a session that ended says so on
// the sign-in page. API clients keep the JSON 401. next is followed only to a path of the
// console: every way of naming another site ends on the start page.
func TestSignInRedirect(t *testing.T) {
	t.Parallel()
	b := setup(t)
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	client := &http.Client{Jar: jar, CheckRedirect: noRedirect}
	get := func(p string, hdr ...string) *http.Response {
		req, err := http.NewRequest(http.MethodGet, b.srv.URL+p, nil)
		require.NoError(t, err)
		req.Header.Set("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := client.Do(req)
		require.NoError(t, err)
		return resp
	}
	for p, want := range map[string]string{
		"/deadletters?x=1": "/signin?next=" + url.QueryEscape("/deadletters?x=1"),
		"/events?id=..":    "/signin?next=" + url.QueryEscape("/events?id=.."),
		"/":                "/signin",
		"/nothing-here":    "/signin?next=%2Fnothing-here",
	} {
		resp := get(p)
		resp.Body.Close()
		require.Equal(t, http.StatusSeeOther, resp.StatusCode, p)
		require.Equal(t, want, resp.Header.Get("Location"), p)
	}
	resp, err := client.PostForm(b.srv.URL+"/deadletters/1/replay", url.Values{"csrf": {"x"}})
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusSeeOther, resp.StatusCode, "a form posted after the session ended")
	require.Equal(t, "/signin", resp.Header.Get("Location"))

	// API clients: a path under /api/, an Authorization header, an Accept asking for JSON.
	for _, tc := range []struct{ path, h, v string }{
		{"/api/leads", "Accept", "text/html"},
		{"/", "Authorization", "Bearer wrong-token-wrong-token-wrong"},
		{"/deadletters", "Accept", "application/json"},
	} {
		resp := get(tc.path, tc.h, tc.v)
		body := readAll(t, resp)
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode, tc)
		c, _ := apiErr(t, []byte(body))
		require.Equal(t, "unauthorized", c)
	}

	resp = get("/signin?next=" + url.QueryEscape("/deadletters?x=1"))
	page := readAll(t, resp)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, page, `<input type="hidden" name="next" value="/deadletters?x=1">`)
	require.NotContains(t, page, `id="ended"`, "never signed in: no talk of an ended session")

	resp, err = client.PostForm(b.srv.URL+"/signin", url.Values{"token": {testToken}, "next": {"/deadletters?x=1"}})
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	require.Equal(t, "/deadletters?x=1", resp.Header.Get("Location"), "back where it was going")
	resp = get("/deadletters?x=1")
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	resp = get("/signin?next=%2Fschema")
	resp.Body.Close()
	require.Equal(t, http.StatusSeeOther, resp.StatusCode, "signed in already: straight on")
	require.Equal(t, "/schema", resp.Header.Get("Location"))

	// The session ends (here: its cookie is no longer one this console issued).
	u, _ := url.Parse(b.srv.URL)
	jar.SetCookies(u, []*http.Cookie{{Name: console.SessionCookie, Value: "1.2.3", Path: "/"}})
	resp = get("/schema")
	resp.Body.Close()
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	require.Equal(t, "/signin?next=%2Fschema", resp.Header.Get("Location"))
	resp = get(resp.Header.Get("Location"))
	page = readAll(t, resp)
	require.Contains(t, page, `id="ended"`)
	require.Contains(t, page, "Your session has ended")

	// Every case is in TestSafeNext; these go through the form (within the sign-in limit).
	for _, next := range []string{"//evil.example/x", `/\evil.example`, "https://evil.example/", "/\t/evil.example", "/signin"} {
		resp := get("/signin?next=" + url.QueryEscape(next))
		require.NotContains(t, readAll(t, resp), `name="next"`, "%q", next)
		resp, err := client.PostForm(b.srv.URL+"/signin", url.Values{"token": {testToken}, "next": {next}})
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusSeeOther, resp.StatusCode, "%q", next)
		require.Equal(t, "/", resp.Header.Get("Location"), "next %q must not leave the console", next)
	}
}

// Sign-in attempts are limited per client address: SignInBurst at once, then 429 with
// Retry-After and a message saying how long to wait, the right token included (the limit says
// nothing about the token). Refusals are counted by reason, and logged a few lines at a time.
func TestSignInRateLimit(t *testing.T) {
	t.Parallel()
	b := setup(t)
	client := &http.Client{CheckRedirect: noRedirect}
	try := func(token string) *http.Response {
		resp, err := client.PostForm(b.srv.URL+"/signin", url.Values{"token": {token}})
		require.NoError(t, err)
		return resp
	}
	for i := range console.SignInBurst {
		resp := try("wrong-" + strconv.Itoa(i))
		page := readAll(t, resp)
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode, i)
		require.Contains(t, page, "That is not the admin token")
	}
	for _, tok := range []string{"wrong-again", testToken} {
		resp := try(tok)
		page := readAll(t, resp)
		require.Equal(t, http.StatusTooManyRequests, resp.StatusCode, tok)
		require.Empty(t, resp.Cookies(), "no session while limited")
		secs, err := strconv.Atoi(resp.Header.Get("Retry-After"))
		require.NoError(t, err)
		require.Positive(t, secs)
		require.LessOrEqual(t, secs, 7)
		require.Contains(t, page, "Too many sign-in attempts from your address. Wait ")
		require.Contains(t, page, `id="error"`)
	}
	metrics := b.metrics(t)
	require.Contains(t, metrics, `saleassist_console_signin_failures_total{reason="wrong_token"} 10`)
	require.Contains(t, metrics, `saleassist_console_signin_failures_total{reason="rate_limited"} 2`)
	require.LessOrEqual(t, strings.Count(b.log.String(), "console: sign-in refused"), 2, "a few lines, not one per attempt:\n%s", b.log.String())
	require.NotContains(t, b.log.String(), "wrong-")
}
