package console_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/pkg/console"
)

// Without the token, an API client gets 401 JSON on every route but /healthz, /metrics and
// /signin, unknown ones too (a path under /api/, an Authorization header, or an Accept asking for
// JSON); a browser asking for a page is sent to the sign-in page instead (TestSignInRedirect). A
// wrong Bearer token is refused even with a valid cookie around.
func TestEverythingButHealthAndSignInNeedsTheToken(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, p := range []string{"/api/leads", "/api/leads.csv", "/api/leads/1", "/api/stats", "/api/events/x", "/api/nothing-here"} {
		code, body := b.do(t, http.MethodGet, p, nil, false, "Accept", "text/html")
		require.Equal(t, http.StatusUnauthorized, code, p)
		c, msg := apiErr(t, body)
		require.Equal(t, "unauthorized", c)
		require.Contains(t, msg, "/signin")
	}
	for _, p := range []string{"/", "/leads/1", "/deadletters", "/schema", "/nothing-here"} {
		code, body := b.do(t, http.MethodGet, p, nil, false, "Accept", "application/json")
		require.Equal(t, http.StatusUnauthorized, code, p)
		c, _ := apiErr(t, body)
		require.Equal(t, "unauthorized", c)
	}
	code, _ := b.do(t, http.MethodPost, "/api/deadletters/1/replay", nil, false)
	require.Equal(t, http.StatusUnauthorized, code)
	code, _ = b.do(t, http.MethodGet, "/api/leads", nil, false, "Authorization", "Bearer wrong-token-wrong-token-wrong")
	require.Equal(t, http.StatusUnauthorized, code)
	code, _ = b.do(t, http.MethodGet, "/api/leads", nil, false, "Authorization", "Basic "+testToken)
	require.Equal(t, http.StatusUnauthorized, code)

	code, body := b.do(t, http.MethodGet, "/healthz", nil, false)
	require.Equal(t, http.StatusOK, code)
	require.JSONEq(t, `{"status":"ok"}`, string(body))
	code, body = b.do(t, http.MethodGet, "/signin", nil, false)
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, string(body), `name="token"`)

	code, _ = b.do(t, http.MethodGet, "/api/leads", nil, true)
	require.Equal(t, http.StatusOK, code)
	code, body = b.do(t, http.MethodGet, "/nothing-here", nil, true)
	require.Equal(t, http.StatusNotFound, code)
	c, _ := apiErr(t, body)
	require.Equal(t, "not_found", c)
}

// The sign-in form sets an HttpOnly, SameSite=Strict cookie that is not the token; with it pages
// work, and a POST needs the page's CSRF token besides; cross-site POSTs are refused.
func TestSignInCookieAndCSRF(t *testing.T) {
	t.Parallel()
	b := setup(t)
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	client := &http.Client{Jar: jar, CheckRedirect: noRedirect}

	resp, err := client.PostForm(b.srv.URL+"/signin", url.Values{"token": {"not it"}})
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	require.Empty(t, resp.Cookies())

	resp, err = client.PostForm(b.srv.URL+"/signin", url.Values{"token": {testToken}})
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	require.Len(t, resp.Cookies(), 1)
	c := resp.Cookies()[0]
	require.Equal(t, console.SessionCookie, c.Name)
	require.True(t, c.HttpOnly)
	require.Equal(t, http.SameSiteStrictMode, c.SameSite)
	require.NotContains(t, c.Value, testToken)

	resp, err = client.Get(b.srv.URL + "/deadletters")
	require.NoError(t, err)
	page := readAll(t, resp)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	i := strings.Index(page, `name="csrf" value="`)
	require.Positive(t, i, "the page carries a CSRF token for its forms")
	csrf := page[i+len(`name="csrf" value="`):]
	csrf = csrf[:strings.IndexByte(csrf, '"')]

	// Without the CSRF token, with a wrong one, and cross-site: 403 before anything runs.
	for _, form := range []url.Values{{}, {"csrf": {"forged"}}} {
		resp, err = client.PostForm(b.srv.URL+"/signout", form)
		require.NoError(t, err)
		require.Equal(t, http.StatusForbidden, resp.StatusCode, readAll(t, resp))
	}
	req, _ := http.NewRequest(http.MethodPost, b.srv.URL+"/signout", strings.NewReader(url.Values{"csrf": {csrf}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err = client.Do(req)
	require.NoError(t, err)
	require.Equal(t, http.StatusForbidden, resp.StatusCode, readAll(t, resp))
	code, _ := b.do(t, http.MethodPost, "/api/mapping/preview", strings.NewReader("version: 1"), true, "Origin", "https://evil.example")
	require.Equal(t, http.StatusForbidden, code, "a cross-origin POST is refused even with the Bearer token")

	// With it: signed out.
	resp, err = client.PostForm(b.srv.URL+"/signout", url.Values{"csrf": {csrf}})
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	resp, err = client.Get(b.srv.URL + "/api/leads")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
}

func TestLoadToken(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tok, generated, err := console.LoadToken(dir, "", "127.0.0.1:8081")
	require.NoError(t, err)
	require.True(t, generated)
	require.GreaterOrEqual(t, len(tok), 40)
	fi, err := os.Stat(filepath.Join(dir, console.TokenFile))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	again, generated, err := console.LoadToken(dir, "", "localhost:0")
	require.NoError(t, err)
	require.False(t, generated)
	require.Equal(t, tok, again)

	explicit := strings.Repeat("x", console.MinRemoteTokenLen)
	got, _, err := console.LoadToken(dir, explicit, "0.0.0.0:8081")
	require.NoError(t, err)
	require.Equal(t, explicit, got)
	for _, tc := range []struct{ token, addr, want string }{
		{"", "0.0.0.0:8081", "set ADMIN_TOKEN explicitly"},
		{"", ":8081", "set ADMIN_TOKEN explicitly"},
		{strings.Repeat("x", 20), "192.0.2.1:8081", "needs at least 24"},
		{"short", "127.0.0.1:8081", "use at least 16"},
		// Issue 23, item 5: .env.example's placeholder is refused, on loopback and beyond.
		{"change-me-console-openssl-rand-base64-32", "127.0.0.1:8081", "ADMIN_TOKEN is the placeholder of .env.example"},
		{"change-me-console-openssl-rand-base64-32", "0.0.0.0:8081", "openssl rand -base64 32"},
	} {
		_, _, err := console.LoadToken(dir, tc.token, tc.addr)
		require.ErrorContains(t, err, tc.want, "%+v", tc)
		if tc.token != "" {
			require.NotContains(t, err.Error(), tc.token, "the token is not repeated in errors")
		}
	}
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}

// Sign-out ends the session on the server: a copy of the cookie taken before (a stolen one) is
// refused afterwards, though it is correctly signed and not yet expired. A console started with
// another ADMIN_TOKEN, or another console process, accepts no session it did not issue.
func TestSignOutEndsTheSessionOnTheServer(t *testing.T) {
	t.Parallel()
	b := setup(t)
	client, csrf := b.signedIn(t)
	u, _ := url.Parse(b.srv.URL)
	var stolen string
	for _, c := range client.Jar.Cookies(u) {
		if c.Name == console.SessionCookie {
			stolen = c.Value
		}
	}
	require.NotEmpty(t, stolen)
	withCookie := func(srv string) int {
		code, _ := doCookie(t, srv, stolen)
		return code
	}
	require.Equal(t, http.StatusOK, withCookie(b.srv.URL), "the copy works while the session lasts")

	// Another console process, with the same token or a rotated one, over the same store.
	for _, tok := range []string{testToken, "rotated-token-0123456789abcdef"} {
		other, err := console.New(console.Config{Token: tok, Store: b.db})
		require.NoError(t, err)
		srv := httptest.NewServer(other)
		require.Equal(t, http.StatusUnauthorized, withCookie(srv.URL), "a session this process did not issue")
		srv.Close()
	}

	resp, err := client.PostForm(b.srv.URL+"/signout", url.Values{"csrf": {csrf}})
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	require.Equal(t, http.StatusUnauthorized, withCookie(b.srv.URL), "the stolen copy died at sign-out")
}

// doCookie GETs the leads page of srv with the session cookie value v, as an API client would
// (a 401 rather than a redirect without a valid session).
func doCookie(t *testing.T, srv, v string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, srv+"/", nil)
	require.NoError(t, err)
	req.Header.Set("Accept", "application/json")
	req.AddCookie(&http.Cookie{Name: console.SessionCookie, Value: v})
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	return resp.StatusCode, readAll(t, resp)
}
