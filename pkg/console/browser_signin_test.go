package console_test

import (
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/pkg/console"
)

// location is the page the browser shows.
func (b *browser) location(t *testing.T) *url.URL {
	t.Helper()
	loc, err := chromedp.Run(b.ctx, chromedp.Location())
	require.NoError(t, err)
	u, err := url.Parse(loc)
	require.NoError(t, err)
	return u
}

// overflows reports whether the page scrolls sideways.
func (b *browser) overflows(t *testing.T) bool {
	t.Helper()
	o, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 1`))
	require.NoError(t, err)
	return o
}

// shot saves what the window shows as docs/screenshots/<name> when UPDATE_SCREENSHOTS=1 (the
// README's pictures), and otherwise only checks one can be taken.
func (b *browser) shot(t *testing.T, name string) {
	t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
	require.NoError(t, err)
	require.NotEmpty(t, png)
	if os.Getenv("UPDATE_SCREENSHOTS") == "1" {
		dir := filepath.Join("..", "..", "docs", "screenshots")
		require.NoError(t, os.MkdirAll(dir, 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), png, 0o644))
	}
}

// signInHere signs in on the sign-in page the browser shows.
func (b *browser) signInHere(t *testing.T, token string) {
	t.Helper()
	b.do(t, chromedp.WaitVisible(chromedp.CSS("#token")), chromedp.SendKeys(chromedp.CSS("#token"), token),
		chromedp.Click(chromedp.CSS("#signin")))
}

// In a browser: a page asked for without a session leads to the sign-in page and, after signing
// in, back to that page, query and all; a session that ended does the same, saying it ended; a
// next naming another site ends on the console's start page. Desktop screenshots of the sign-in
// and dead-letter pages.
func TestBrowserSignInRedirect(t *testing.T) {
	t.Parallel()
	tb := setup(t, withJetStream(t))
	tb.deadLetter(t, "evt-outage-1", person("evt-outage-1", "Dev Patel", "dev@example.com", "9811111111"))
	tb.deadLetterAs(t, "evt-bad-2", "invalid", invalidError, badPerson("evt-bad-2"))
	b := newBrowser(t, 1280, 800)

	b.do(t, chromedp.Navigate(tb.srv.URL+"/deadletters?shown=all"), chromedp.WaitVisible(chromedp.CSS("#token")))
	u := b.location(t)
	require.Equal(t, "/signin", u.Path)
	require.Equal(t, "/deadletters?shown=all", u.Query().Get("next"))
	require.Zero(t, b.count(t, "#ended"), "never signed in")
	b.shot(t, "signin-desktop.png")
	b.signInHere(t, testToken)
	b.do(t, chromedp.WaitVisible(chromedp.CSS("#deadletters")))
	u = b.location(t)
	require.Equal(t, "/deadletters", u.Path, "back where it was going")
	require.Equal(t, "shown=all", u.RawQuery)
	b.shot(t, "deadletters-desktop.png")

	// The session ends: the browser's cookie is no longer one the console vouches for.
	_, err := chromedp.Call(b.ctx, network.SetCookie, network.SetCookieParams{Name: console.SessionCookie, Value: "1.stale.cookie", URL: tb.srv.URL, Path: "/"})
	require.NoError(t, err)
	b.do(t, chromedp.Navigate(tb.srv.URL+"/quarantine"), chromedp.WaitVisible(chromedp.CSS("#ended")))
	require.Contains(t, b.text(t, "#ended"), "Your session has ended")
	require.Equal(t, "/quarantine", b.location(t).Query().Get("next"))
	b.signInHere(t, testToken)
	b.do(t, chromedp.WaitVisible(chromedp.CSS("#quarantine")))
	require.Equal(t, "/quarantine", b.location(t).Path)

	// A next naming another site: signed in, the browser stays on the console.
	b.do(t, chromedp.Click(chromedp.CSS(`header form button`)), chromedp.WaitVisible(chromedp.CSS("#token")))
	b.do(t, chromedp.Navigate(tb.srv.URL+"/signin?next="+url.QueryEscape("//example.com/x")))
	b.signInHere(t, testToken)
	b.do(t, chromedp.WaitVisible(chromedp.CSS("#leads")))
	u = b.location(t)
	base, _ := url.Parse(tb.srv.URL)
	require.Equal(t, base.Host, u.Host)
	require.Equal(t, "/", u.Path)
	require.Zero(t, b.dialogs.Load())
}

// The sign-in and dead-letter pages at a phone's width (390 CSS pixels): nothing scrolls
// sideways (the edit-and-replay page neither), and the redirect works there too. Phone
// screenshots of both.
func TestBrowserSignInAndDeadLettersOnAPhone(t *testing.T) {
	t.Parallel()
	tb := setup(t, withJetStream(t))
	tb.deadLetter(t, "evt-outage-1", person("evt-outage-1", "Dev Patel", "dev@example.com", "9811111111"))
	tb.deadLetterAs(t, "evt-bad-2", "invalid", invalidError, badPerson("evt-bad-2"))
	b := newBrowser(t, 1280, 860)
	b.do(t, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateScale(1)))
	b.do(t, chromedp.Navigate(tb.srv.URL+"/deadletters"), chromedp.WaitVisible(chromedp.CSS("#token")))
	require.False(t, b.overflows(t), "the sign-in page scrolls sideways on a phone")
	b.shot(t, "signin-phone.png")
	b.signInHere(t, testToken)
	b.do(t, chromedp.WaitVisible(chromedp.CSS("#deadletters")))
	require.False(t, b.overflows(t), "the dead-letter page scrolls sideways on a phone")
	b.shot(t, "deadletters-phone.png")
	b.do(t, chromedp.Click(chromedp.CSS("#edit-dl-2")), chromedp.WaitVisible(chromedp.CSS("#body")))
	require.False(t, b.overflows(t), "the edit-and-replay page scrolls sideways on a phone")
}
