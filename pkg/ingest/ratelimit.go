package ingest

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/saleassist-pipeline/pipeline/pkg/account"
)

// Each account has a token bucket (account.Account.Rate: events per second and burst), so that
// one account's flood is answered 429 instead of filling the events stream that every account's
// events share. Past it the answer is 429 with Retry-After, and the request is not kept in
// quarantine: nothing is wrong with it, and the sender retries it (SaleAssist retries what it
// was not answered 2xx), so keeping it would only store it twice.
//
// The default account, as before accounts existed, has no bucket unless one is configured for it
// (a rate_per_second on its entry in the accounts bucket): a single-account installation keeps
// taking whatever its stream can hold, as it did.

// limiters holds one token bucket per configured account, replaced when the account's rate or
// burst changes, and removed with the account (keep): bounded by the accounts configured.
type limiters struct {
	mu   sync.RWMutex
	byID map[string]*bucket
}

type bucket struct {
	lim       *rate.Limiter
	perSecond float64
	burst     int
}

func newLimiters() *limiters { return &limiters{byID: map[string]*bucket{}} }

// limiter returns acct's token bucket, nil when acct is not limited.
func (l *limiters) limiter(acct *account.Account) *bucket {
	if acct.ID == account.Default && acct.RatePerSecond <= 0 {
		return nil
	}
	perSecond, burst := acct.Rate()
	l.mu.RLock()
	b := l.byID[acct.ID]
	l.mu.RUnlock()
	if b != nil && b.perSecond == perSecond && b.burst == burst {
		return b
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if b = l.byID[acct.ID]; b == nil || b.perSecond != perSecond || b.burst != burst {
		b = &bucket{lim: rate.NewLimiter(rate.Limit(perSecond), burst), perSecond: perSecond, burst: burst}
		l.byID[acct.ID] = b
	}
	return b
}

// keep removes the buckets of every account but those in ids.
func (l *limiters) keep(ids map[string]bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for id := range l.byID {
		if !ids[id] {
			delete(l.byID, id)
		}
	}
}

// wait reports how long a request to acct arriving at now must wait for a token, taking one when
// there is one (0). A request refused takes none: its reservation is cancelled, so refused
// retries do not push the account's next token further out.
func (l *limiters) wait(acct *account.Account, now time.Time) time.Duration {
	b := l.limiter(acct)
	if b == nil || b.lim.AllowN(now, 1) {
		return 0
	}
	r := b.lim.ReserveN(now, 1)
	defer r.CancelAt(now)
	if !r.OK() {
		return time.Second
	}
	return max(r.DelayFrom(now), time.Nanosecond)
}

// rateLimited answers 429 for acct, whose next token is delay away: Retry-After in whole seconds,
// rounded up, at least 1.
func (s *Server) rateLimited(w http.ResponseWriter, acct *account.Account, delay time.Duration) int {
	secs := max(1, int(math.Ceil(delay.Seconds())))
	perSecond, burst := acct.Rate()
	s.overRate.Fail("an account is over its rate, answering 429", nil, "account", acct.ID, "rate_per_second", perSecond, "burst", burst)
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	return writeError(w, http.StatusTooManyRequests, "rate_limited", fmt.Sprintf(
		"account %q sends more than its rate of %g events per second (bursts of up to %d); this event was not accepted and is not kept: "+
			"send it again after %d s (Retry-After); an operator can raise the account's rate", acct.ID, perSecond, burst, secs))
}
