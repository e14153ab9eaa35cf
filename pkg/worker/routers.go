package worker

import (
	"crypto/sha256"
	"fmt"
	"log/slog"
	"sync"

	"github.com/saleassist-pipeline/pipeline/internal/ratelog"
	"github.com/saleassist-pipeline/pipeline/pkg/account"
	"github.com/saleassist-pipeline/pipeline/pkg/mapping"
	"github.com/saleassist-pipeline/pipeline/pkg/route"
)

// RouterFunc builds the router for a mapping, with the process's handlers, middleware and
// settings (region, clock skew).
type RouterFunc func(mp *mapping.Mapping) (*route.Router, error)

// routers gives each account's router: one built from the account's own mapping
// (account.Account.Mapping), compiled once per content and shared by accounts with the same
// content, or else the process's (MAPPING_FILE or the built-in one).
//
// An account whose mapping does not compile (the KV entry edited by hand: `ingestctl accounts
// set-mapping` validates) is held, not guessed at: its turns are passed (queue.RunOptions.Skip),
// so its events wait in its consumer, spending no delivery, until the mapping is fixed; lag and
// saleassist_worker_account_mapping_invalid show it, and the log has one line per bad content
// (with the fault's line and field) and one when it is fixed. Storing them with the process's
// mapping would file leads under fields the account did not ask for, and dead-lettering them
// would need a replay per event after the fix.
type routers struct {
	reg     *account.Registry
	base    *route.Router
	build   RouterFunc
	log     *slog.Logger
	invalid func(acct string, bad bool)

	mu     sync.Mutex
	byAcct map[string]*accountRouter
	byHash map[[sha256.Size]byte]*route.Router
}

// accountRouter is the router last found for an account, for the account value it was found for
// (the registry hands out a new value at each change).
type accountRouter struct {
	acct    *account.Account
	mapping string
	router  *route.Router
	err     error
	failing ratelog.Failing
}

func newRouters(reg *account.Registry, base *route.Router, build RouterFunc, log *slog.Logger, invalid func(string, bool)) *routers {
	return &routers{reg: reg, base: base, build: build, log: log, invalid: invalid,
		byAcct: map[string]*accountRouter{}, byHash: map[[sha256.Size]byte]*route.Router{}}
}

// forAccount returns the router for the account's events, or the error of its mapping.
func (r *routers) forAccount(id string) (*route.Router, error) {
	a, ok := r.reg.ByID(id)
	if !ok || a.Mapping == "" || r.build == nil {
		r.forget(id)
		return r.base, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.byAcct[id]
	if e == nil {
		e = &accountRouter{failing: ratelog.Failing{Log: r.log}}
		r.byAcct[id] = e
	}
	if e.acct == a {
		return e.router, e.err
	}
	if e.acct != nil && e.mapping == a.Mapping {
		e.acct = a
		return e.router, e.err
	}
	e.acct, e.mapping = a, a.Mapping
	e.router, e.err = r.compile(id, a.Mapping)
	if e.err != nil {
		e.failing.Fail("account mapping does not compile: the account's events wait in its consumer until it is fixed (ingestctl accounts set-mapping)", e.err, "account", id)
	} else {
		e.failing.OK("account mapping compiles again: its events are consumed", "account", id)
	}
	if r.invalid != nil {
		r.invalid(id, e.err != nil)
	}
	return e.router, e.err
}

// compile builds the router for a mapping's content, once per content.
func (r *routers) compile(id, content string) (*route.Router, error) {
	sum := sha256.Sum256([]byte(content))
	if rt, ok := r.byHash[sum]; ok {
		return rt, nil
	}
	mp, err := mapping.ParseMapping("account "+id+" mapping", []byte(content))
	if err != nil {
		return nil, err
	}
	rt, err := r.build(mp)
	if err != nil {
		return nil, fmt.Errorf("account %s: mapping: %w", id, err)
	}
	r.byHash[sum] = rt
	return rt, nil
}

// forget drops what is remembered of an account that now uses the process's mapping.
func (r *routers) forget(id string) {
	r.mu.Lock()
	e := r.byAcct[id]
	delete(r.byAcct, id)
	r.mu.Unlock()
	if e != nil && e.err != nil {
		e.failing.OK("account mapping removed: its events are consumed with the process's mapping", "account", id)
		if r.invalid != nil {
			r.invalid(id, false)
		}
	}
}
