package ingest

import (
	"net/http"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/saleassist-pipeline/pipeline/pkg/account"
)

// Each account has its own webhook URL: WebhookPath itself is the default account's (as before
// accounts existed, so a single-account installation changes nothing), and
// WebhookPath/<token> is the account whose WebhookToken it is. The token is 256 random bits, so
// it cannot be guessed; replacing it (ingestctl accounts rotate-url) revokes the old URL. The URL
// only says which account's secret to check: it is not itself the proof.

// accountPrefix precedes the token of an account's webhook URL.
const accountPrefix = WebhookPath + "/"

// isWebhookPath reports whether path is the default account's URL or under accountPrefix.
func isWebhookPath(path string) bool {
	return path == WebhookPath || strings.HasPrefix(path, accountPrefix)
}

// accountOf returns the account whose webhook URL path is; false when it is no configured,
// enabled account's. The registry is read afresh on every request, so an account added, disabled
// or given a new URL is served accordingly without a restart.
func accountOf(reg *account.Registry, path string) (*account.Account, bool) {
	var a *account.Account
	var ok bool
	if path == WebhookPath {
		a, ok = reg.ByID(account.Default)
	} else if token, found := strings.CutPrefix(path, accountPrefix); found && token != "" {
		a, ok = reg.ByWebhookToken(token)
	}
	if !ok || a.Disabled {
		return nil, false
	}
	return a, true
}

// labelOf is the account label of a request to acct (nil: none).
func labelOf(acct *account.Account) string {
	if acct == nil {
		return NoAccount
	}
	return acct.ID
}

// unknownURL answers a webhook URL that belongs to no enabled account. Nothing was authenticated,
// so nothing is kept; the message does not say which of unknown or disabled it is, or name any
// account.
func unknownURL(w http.ResponseWriter, r *http.Request) int {
	what := "this URL is not (or no longer) an account's webhook URL"
	if r.URL.Path == WebhookPath {
		what = "the default account's webhook URL " + WebhookPath + " is disabled"
	}
	return writeError(w, http.StatusNotFound, "not_found", what+"; nothing was accepted. "+
		"Each account's URL is "+accountPrefix+"<token>: an operator finds the right one with `ingestctl accounts show ID` "+
		"(a URL stops working when its account is disabled or given a new one) and enters it in SaleAssist")
}

// registryWatch brings what the ingest keeps per account (token buckets, metric series) in line
// with the registry when it changes: removed when an account leaves it, so that both stay
// bounded by the accounts configured. It is
// checked on every request: an atomic load and a non-blocking receive on an open channel, no
// lock.
type registryWatch struct {
	reg     *account.Registry
	mu      sync.Mutex // one pruning at a time
	changed atomic.Pointer[changedChan]
}

// changedChan is the registry's Changed channel as of the last pruning.
type changedChan struct{ ch <-chan struct{} }

func newRegistryWatch(reg *account.Registry) *registryWatch {
	w := &registryWatch{reg: reg}
	w.changed.Store(&changedChan{reg.Changed()})
	return w
}

// check calls sync with the ids of the configured accounts when the registry changed since the
// last check.
func (w *registryWatch) check(sync func(ids []string)) {
	c := w.changed.Load()
	select {
	case <-c.ch:
	default:
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.changed.Load() != c {
		return // another request pruned already
	}
	// Changed first, then the accounts: a Set between the two closes next, and a later request
	// prunes again.
	next := w.reg.Changed()
	sync(w.reg.IDs())
	w.changed.Store(&changedChan{next})
}
