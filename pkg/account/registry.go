package account

import (
	"slices"
	"sync"
	"sync/atomic"
)

// Registry is a process's view of the accounts: lookups on the request path are one atomic load
// and a map read, and Set swaps the whole view at once, so a reader never sees half a change.
// It is safe for concurrent use.
type Registry struct {
	snap atomic.Pointer[snapshot]

	mu      sync.Mutex
	changed chan struct{} // closed and replaced by each Set
}

type snapshot struct {
	list    []*Account // by ID
	byID    map[string]*Account
	byToken map[string]*Account // WebhookToken → account
}

// NewRegistry returns a registry holding accounts (see Set).
func NewRegistry(accounts ...Account) *Registry {
	r := &Registry{changed: make(chan struct{})}
	r.Set(accounts)
	return r
}

// Set replaces every account the registry holds. Accounts are copied; a later account with the
// same ID replaces an earlier one.
func (r *Registry) Set(accounts []Account) {
	s := &snapshot{byID: make(map[string]*Account, len(accounts)), byToken: make(map[string]*Account, len(accounts))}
	for i := range accounts {
		a := accounts[i]
		s.byID[a.ID] = &a
	}
	for _, a := range s.byID {
		s.list = append(s.list, a)
		if a.WebhookToken != "" {
			s.byToken[a.WebhookToken] = a
		}
	}
	slices.SortFunc(s.list, func(a, b *Account) int {
		switch {
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})
	r.snap.Store(s)
	r.mu.Lock()
	close(r.changed)
	r.changed = make(chan struct{})
	r.mu.Unlock()
}

// Changed returns a channel closed at the next Set: wait on it, then read the registry again.
func (r *Registry) Changed() <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.changed
}

// ByID returns the account with this id. The returned account must not be modified.
func (r *Registry) ByID(id string) (*Account, bool) {
	a, ok := r.snap.Load().byID[id]
	return a, ok
}

// ByWebhookToken returns the account whose webhook URL ends in token.
func (r *Registry) ByWebhookToken(token string) (*Account, bool) {
	a, ok := r.snap.Load().byToken[token]
	return a, ok
}

// ByConsoleToken returns the account one of whose console tokens is token.
func (r *Registry) ByConsoleToken(token string) (*Account, bool) {
	if token == "" {
		return nil, false
	}
	for _, a := range r.snap.Load().list {
		if a.AcceptsConsoleToken(token) {
			return a, true
		}
	}
	return nil, false
}

// All returns every account, by id. The accounts must not be modified.
func (r *Registry) All() []*Account { return slices.Clone(r.snap.Load().list) }

// IDs returns every account's id, sorted.
func (r *Registry) IDs() []string {
	list := r.snap.Load().list
	ids := make([]string, len(list))
	for i, a := range list {
		ids[i] = a.ID
	}
	return ids
}
