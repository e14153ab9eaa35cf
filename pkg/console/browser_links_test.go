package console_test

import (
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// In a browser: a lead's link to its event "..", and the schema page of the type "..", lead where
// they say, and the preview form of that page posts to it.
func TestBrowserFollowsLinksToDotIDs(t *testing.T) {
	t.Parallel()
	b := setup(t)
	leads := b.oddIDs(t)
	br := newBrowser(t, 1280, 860)
	br.signIn(t, b.srv.URL, testToken)
	for i, id := range []string{".", ".."} {
		br.do(t, chromedp.Navigate(fmt.Sprintf("%s/leads/%d", b.srv.URL, leads[i])), chromedp.WaitVisible(chromedp.CSS("#history")))
		br.do(t, chromedp.Click(chromedp.CSS("#history a.event-link")), chromedp.WaitVisible(chromedp.CSS("#payload")))
		require.Equal(t, id, br.text(t, "#event-id"))
		require.Equal(t, id, br.text(t, "#event-type"))
	}
	br.do(t, chromedp.Navigate(b.srv.URL+"/schema"), chromedp.WaitVisible(chromedp.CSS(`a[href="/schema?type=.."]`)))
	br.do(t, chromedp.Click(chromedp.CSS(`a[href="/schema?type=.."]`)), chromedp.WaitVisible(chromedp.CSS("#fields")))
	require.Equal(t, "Schema: ..", br.text(t, "h1"))
	br.do(t, chromedp.Click(chromedp.CSS("#preview")), chromedp.WaitVisible(chromedp.CSS("#preview-leads")))
	require.Contains(t, br.text(t, "#preview-leads"), "Dot 2")
}
