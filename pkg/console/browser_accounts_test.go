package console_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/pkg/queue"
)

// A page's visible text, read until it holds want (across a page load).
func (b *browser) awaitBody(t *testing.T, want string) string {
	t.Helper()
	var got string
	require.Eventually(t, func() bool {
		var err error
		got, err = chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
		return err == nil && strings.Contains(got, want)
	}, 20*time.Second, 20*time.Millisecond, "the page never held %q", want)
	return got
}

// awaitSelected waits until a page the server rendered has account id selected in the switcher
// (the option's selected attribute, which only the server writes; not the property a script or a
// click sets before the form is sent).
func (b *browser) awaitSelected(t *testing.T, id string) {
	t.Helper()
	require.Eventually(t, func() bool {
		got, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`(document.querySelector("#account option[selected]") || {}).value || ""`))
		return err == nil && got == id
	}, 20*time.Second, 20*time.Millisecond, "no page rendered with %s selected", id)
}

// The admin's switcher in a real browser: the leads page shows the default account's leads;
// picking another account in the header shows that account's, and the choice stays while moving
// to another section.
func TestBrowserAccountSwitcher(t *testing.T) {
	t.Parallel()
	_, accts := newTenants()
	b := setup(t, withAccounts(accts...))
	b.storeFor(t, "", person("ev-d", "Dee Default", "dee@example.com", ""))
	b.storeFor(t, "acme", person("ev-a", "Ann Acme", "ann@example.com", ""))
	b.storeFor(t, "globex", person("ev-g", "Gus Globex", "gus@example.com", ""))
	br := newBrowser(t, 1280, 900)
	br.signIn(t, b.srv.URL, testToken)
	br.awaitText(t, "#leads", "Dee Default")
	require.Equal(t, "default", br.value(t, "#account"))
	require.Equal(t, 3, br.count(t, "#account option"), "every account is offered")

	br.do(t, chromedp.SetValue(chromedp.CSS("#account"), "acme"), chromedp.Click(chromedp.CSS("#switch")))
	br.awaitText(t, "#leads", "Ann Acme")
	leads := br.text(t, "#leads")
	require.NotContains(t, leads, "Dee Default")
	require.NotContains(t, leads, "Gus Globex")
	require.Equal(t, "acme", br.value(t, "#account"))
	br.screenshot(t, "console-accounts.png")

	br.do(t, chromedp.Click(chromedp.CSS(`a[href="/schema"]`)))
	br.awaitBody(t, "widget_new_conversation")
	require.Equal(t, "acme", br.value(t, "#account"), "the choice is kept in the session")
	br.do(t, chromedp.SetValue(chromedp.CSS("#account"), "globex"), chromedp.Click(chromedp.CSS("#switch")))
	br.awaitSelected(t, "globex")
	require.Equal(t, "/schema", br.location(t).Path, "the switcher comes back to the section it was used in")
	br.do(t, chromedp.Navigate(b.srv.URL+"/"))
	br.awaitText(t, "#leads", "Gus Globex")

	// At a phone's width the header wraps, switcher included: nothing scrolls sideways.
	phone := newBrowser(t, 390, 844)
	phone.signIn(t, b.srv.URL, testToken)
	phone.awaitText(t, "#leads", "Dee Default")
	require.Equal(t, 1, phone.count(t, "#switcher"))
	require.False(t, phone.overflows(t), "the header with the switcher fits a phone")
}

// An account's console token in a real browser: the header names its account and offers no
// switcher; another account's lead page is "does not exist"; the CSV it downloads holds its own
// leads only, and asking for another account's is refused; and replaying another account's dead
// letter, by a form pointed at it, is "does not exist" and leaves it where it was.
func TestBrowserAccountTokenCannotReachAnotherAccount(t *testing.T) {
	t.Parallel()
	tn, accts := newTenants()
	b := setup(t, withJetStream(t), withAccounts(accts...))
	b.storeFor(t, "acme", person("ev-a", "Ann Acme", "ann@example.com", ""))
	theirLead := b.storeFor(t, "globex", person("ev-g", "Gus Globex", "gus@example.com", ""))[0]
	mine := b.deadLetterOf(t, "acme", "dl-acme", "max_deliver", "database is locked", person("dl-acme", "Ann", "", ""))
	theirs := b.deadLetterOf(t, "globex", "dl-globex", "max_deliver", "database is locked", person("dl-globex", "Gus", "", ""))

	br := newBrowser(t, 1280, 900)
	downloads := t.TempDir()
	_, err := chromedp.CallBrowser(br.ctx, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
		Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllow, DownloadPath: downloads})
	require.NoError(t, err)
	br.signIn(t, b.srv.URL, tn.acme)
	br.awaitText(t, "#leads", "Ann Acme")
	require.Contains(t, br.text(t, "#account-name"), "Acme Brands")
	require.Zero(t, br.count(t, "#switcher"), "an account token has no switcher")
	require.NotContains(t, br.text(t, "#leads"), "Gus")

	// Another account's lead page.
	br.do(t, chromedp.Navigate(b.srv.URL+"/leads/"+itoa64(theirLead)))
	br.awaitText(t, "#error", "lead "+itoa64(theirLead)+" does not exist")
	require.NotContains(t, br.awaitBody(t, "does not exist"), "Gus")

	// The CSV: its own leads only; another account's is refused.
	br.do(t, chromedp.Navigate(b.srv.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#leads")),
		chromedp.Click(chromedp.CSS(`a[href^="/api/leads.csv"]`)))
	file := filepath.Join(downloads, "leads.csv")
	var csv []byte
	require.Eventually(t, func() bool {
		csv, err = os.ReadFile(file)
		return err == nil && strings.Count(string(csv), "\n") >= 2
	}, 20*time.Second, 20*time.Millisecond, "leads.csv was never downloaded")
	require.Contains(t, string(csv), "ann@example.com")
	require.NotContains(t, string(csv), "gus@example.com")
	br.do(t, chromedp.Navigate(b.srv.URL+"/api/leads.csv?account=globex"))
	body := br.awaitBody(t, "account_forbidden")
	require.NotContains(t, body, "gus@example.com")

	// Replaying another account's dead letter: its own list does not show it, and a replay form
	// pointed at it (the form of its own dead letter, its action changed) finds nothing.
	br.do(t, chromedp.Navigate(b.srv.URL+"/deadletters"))
	br.awaitText(t, "#deadletters", "dl-acme")
	require.NotContains(t, br.text(t, "#deadletters"), "dl-globex")
	br.do(t, chromedp.Evaluate[chromedp.Void](`document.querySelector("#replay-dl-`+itoa(mine)+`").form.action = "/deadletters/`+itoa(theirs)+`/replay"`),
		chromedp.Click(chromedp.CSS("#replay-dl-"+itoa(mine))))
	br.awaitText(t, "#error", "dead letter "+itoa(theirs)+" does not exist")
	var l dlIDs
	b.getAs(t, testToken, "/api/deadletters?account=globex", http.StatusOK, &l)
	require.Equal(t, []string{"dl-globex"}, l.eventIDs(), "globex's dead letter is where it was")
	require.Zero(t, b.streamMsgs(t, queue.DefaultStream), "nothing was replayed")
	require.Zero(t, br.dialogs.Load())
}
