package console_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/internal/testkit"
	"github.com/saleassist-pipeline/pipeline/pkg/account"
)

// fitsJS is how far the page scrolls sideways (0: not at all), and what sticks out if it does.
const fitsJS = `(() => {
  const s = document.scrollingElement, over = s.scrollWidth - s.clientWidth;
  if (over <= 0) return "";
  const wide = [...document.querySelectorAll("body *")].filter(e => e.getBoundingClientRect().right > s.clientWidth + 1)
    .slice(0, 5).map(e => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + (e.className && e.className.baseVal === undefined ? "." + e.className : ""));
  return over + "px too wide: " + wide.join(", ");
})()`

// awaitFits waits until the page does not scroll sideways (document.scrollingElement's
// scrollWidth <= clientWidth), saying what sticks out if it never does.
func (b *browser) awaitFits(t *testing.T, page string) {
	t.Helper()
	var last string
	fits := func() bool {
		var err error
		last, err = chromedp.Run(b.ctx, chromedp.Evaluate[string](fitsJS))
		if err != nil {
			last = err.Error()
		}
		return err == nil && last == ""
	}
	if !assert.Eventually(t, fits, 10*time.Second, 20*time.Millisecond) {
		dbg, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`innerWidth + " " + matchMedia("(max-width:640px)").matches + " " + document.styleSheets.length + " " + (document.styleSheets[0] ? document.styleSheets[0].cssRules.length : -1)`))
		t.Log(dbg)
		t.Fatalf("%s scrolls sideways: %s", page, last)
	}
}

// awaitTrue waits until the JavaScript expression js is true.
func (b *browser) awaitTrue(t *testing.T, js, what string) {
	t.Helper()
	require.Eventually(t, func() bool {
		ok, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](js))
		return err == nil && ok
	}, 10*time.Second, 20*time.Millisecond, what)
}

// consolePage is one page of the console the phone test visits: where, what shows it has
// loaded, and the name of its screenshots.
type consolePage struct {
	name, path, ready string
}

// Every page of the console at a phone's width (390×844) and at a desktop's: nothing scrolls
// sideways, the lists are cards with Replay and Discard within the screen, phones and emails are
// links, the mapping preview's results and errors show at the top and take the focus.
// Screenshots of every page at both widths go to docs/ with UPDATE_SCREENSHOTS=1.
func TestBrowserEveryPageOnAPhoneAndADesktop(t *testing.T) {
	t.Parallel()
	tb := setup(t, withJetStream(t), withZone(t, "Asia/Kolkata"))
	ids := tb.store(t,
		person("ph-1", "Asha Rao", "asha.rao@example.com", "+919876543210"),
		person("ph-2", "Meera Venkataraghavan-Subramaniam", "meera.venkataraghavan.subramaniam@verylongcompanydomain-example.co.in", "9820000002"),
		testkit.Fixture(t),
		person("ph-3", "Karan Shah", "karan@example.com", "+14155552671"),
	)
	tb.deadLetter(t, "evt-outage-1", person("evt-outage-1", "Dev Patel", "dev@example.com", "9811111111"))
	bad := tb.deadLetterAs(t, "evt-bad-2", "invalid", invalidError, badPerson("evt-bad-2"))
	gone := tb.deadLetter(t, "evt-given-up-3", person("evt-given-up-3", "Old Lead", "old@example.com", "9811111113"))
	code, out := tb.do(t, http.MethodPost, "/api/deadletters/"+itoa(gone)+"/discard",
		strings.NewReader(`{"reason":"test traffic from the staging widget, not a customer"}`), true, "Content-Type", "application/json")
	require.Equal(t, http.StatusOK, code, string(out))
	tb.quarantineOf(t, account.Default)

	pages := []consolePage{
		{"leads", "/", "#leads"},
		{"lead", fmt.Sprintf("/leads/%d", ids[2]), "#history"},
		{"event", "/events/ph-1", "#payload"},
		{"deadletters", "/deadletters", "#deadletters"},
		{"deadletter", "/deadletters/" + itoa(bad), "#body"},
		{"discarded", "/deadletters/discarded", "#discarded"},
		{"quarantine", "/quarantine", "#quarantine"},
		{"stats", "/stats", "#chart"},
		{"schema", "/schema/widget_new_conversation", "#fields"},
	}
	b := newBrowser(t, 1280, 860)
	for _, width := range []struct {
		name    string
		emulate chromedp.Action[chromedp.Void]
	}{
		{"phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateScale(2))},
		{"desktop", chromedp.EmulateViewport(1280, 860)},
	} {
		t.Run(width.name, func(t *testing.T) {
			b.do(t, width.emulate)
			_, err := chromedp.Call(b.ctx, network.ClearBrowserCookies, cdp.Empty{})
			require.NoError(t, err, "start signed out")
			b.do(t, chromedp.Navigate(tb.srv.URL+"/signin"), chromedp.WaitVisible(chromedp.CSS("#token")))
			b.awaitFits(t, "sign-in")
			b.screenshot(t, "console-"+width.name+"-signin.png")
			b.signInHere(t, testToken)
			b.do(t, chromedp.WaitVisible(chromedp.CSS("#leads")))
			for _, p := range pages {
				b.do(t, chromedp.Navigate(tb.srv.URL+p.path), chromedp.WaitVisible(chromedp.CSS(p.ready)))
				b.awaitFits(t, p.name)
				b.screenshot(t, "console-"+width.name+"-"+p.name+".png")
			}

			// Lists: phones and emails are links, a phone reads formatted.
			b.do(t, chromedp.Navigate(tb.srv.URL+"/?q=asha"), chromedp.WaitVisible(chromedp.CSS("#leads a.phone")))
			require.Equal(t, "+91 98765 43210", b.text(t, "#leads a.phone"))
			b.awaitTrue(t, `document.querySelector("#leads a.phone").getAttribute("href") === "tel:+919876543210"`, "a tel: link")
			b.awaitTrue(t, `document.querySelector("#leads a.email").getAttribute("href") === "mailto:asha.rao@example.com"`, "a mailto: link")

			// Replay and Discard are on the screen (within its width) on every width.
			b.do(t, chromedp.Navigate(tb.srv.URL+"/deadletters"), chromedp.WaitVisible(chromedp.CSS(".replay")))
			for _, sel := range []string{"#deadletters .replay", "#deadletters details.discard summary"} {
				b.awaitTrue(t, `(() => { const r = document.querySelector(`+jsString(sel)+`).getBoundingClientRect();
					return r.width > 0 && r.left >= 0 && r.right <= document.scrollingElement.clientWidth })()`, sel+" is within the screen")
			}
			b.do(t, chromedp.Navigate(tb.srv.URL+"/quarantine"), chromedp.WaitVisible(chromedp.CSS("#quarantine .replay")))
			b.awaitTrue(t, `(() => { const r = document.querySelector("#quarantine .replay").getBoundingClientRect();
				return r.width > 0 && r.right <= document.scrollingElement.clientWidth })()`, "quarantine's Replay is within the screen")
			if width.name == "phone" {
				b.awaitTrue(t, `getComputedStyle(document.querySelector("#quarantine thead")).display === "none"`, "the quarantine list is cards")
				b.awaitTrue(t, `getComputedStyle(document.querySelector("#quarantine tbody tr")).display === "block"`, "the quarantine list is cards")
			}

			// The mapping preview: results at the top, focused; then errors the same way.
			b.do(t, chromedp.Navigate(tb.srv.URL+"/schema/widget_new_conversation"), chromedp.WaitVisible(chromedp.CSS("#preview")),
				chromedp.Click(chromedp.CSS("#preview")), chromedp.WaitVisible(chromedp.CSS("#preview-leads")))
			b.awaitTrue(t, `document.activeElement && document.activeElement.id === "preview-result"`, "the preview's results take the focus")
			b.awaitTrue(t, `document.querySelector("#preview-result").getBoundingClientRect().top < document.querySelector("#fields").getBoundingClientRect().top`, "results above the fields")
			b.awaitFits(t, "preview")
			b.screenshot(t, "console-"+width.name+"-preview.png")
			b.do(t, chromedp.SetValue(chromedp.CSS("#mapping"), "person: [this is not a mapping"),
				chromedp.Click(chromedp.CSS("#preview")), chromedp.WaitVisible(chromedp.CSS("#faults")))
			b.awaitTrue(t, `document.activeElement && document.activeElement.id === "preview-result"`, "the preview's errors take the focus")
			b.awaitFits(t, "preview errors")
		})
	}
	require.Zero(t, b.dialogs.Load())
}
