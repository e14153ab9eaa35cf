package console

import (
	"context"
	"fmt"
	"net/http"
	"slices"

	"github.com/saleassist-pipeline/pipeline/pkg/account"
)

// Accounts in the console. The admin token sees every account and picks one: with the switcher
// in the page header (the choice is kept in the server-side session), or with ?account=ID on
// each request (API clients; the default account without it). An account's console token
// (`ingestctl accounts token ID`) signs in to its account only: no switcher, and asking for
// another account (?account=, the switcher's form) is refused with 403 whatever the id, so the
// answer says nothing about which accounts exist.
//
// Every read goes through the request's account (accountOf): the store's reads take it, and the
// dead-letter and quarantine operations are admin.Ops.ForAccount. Another account's lead, event,
// dead letter or quarantined request asked for by id is a 404 in the words of one that does not
// exist, never a 403 that would confirm it does.

// identity is whose a token is: the admin's (account empty), or an account's console token.
type identity struct {
	account, tokenHash string
}

// identify returns whose token this is, or why it is refused: "wrong_token", or
// "account_disabled" for a console token of a disabled account.
func (a *auth) identify(token string) (identity, string) {
	if a.token.match(token) {
		return identity{}, ""
	}
	acct, ok := a.accounts.ByConsoleToken(token)
	switch {
	case !ok:
		return identity{}, "wrong_token"
	case acct.Disabled:
		return identity{}, "account_disabled"
	}
	return identity{account: acct.ID, tokenHash: account.HashSecret(token)}, ""
}

// stillAccepts reports whether an account's session still stands: its account exists and is
// enabled, and its token is still one of the account's (a new token replaces the old).
func (a *auth) stillAccepts(sess session) bool {
	acct, ok := a.accounts.ByID(sess.account)
	return ok && !acct.Disabled && slices.Contains(acct.ConsoleTokenHashes, sess.tokenHash)
}

type accountKey struct{}

// accountOf is the account request r reads: set by scope for every authenticated route.
func accountOf(r *http.Request) string {
	if id, ok := r.Context().Value(accountKey{}).(string); ok {
		return id
	}
	return account.Default
}

func principalOf(r *http.Request) principal {
	p, _ := r.Context().Value(principalKey{}).(principal)
	return p
}

// scope settles the account a request reads (see the note at the top) before any handler runs.
func (s *Server) scope(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := s.accountFor(principalOf(r), r.URL.Query().Get("account"))
		if err != nil {
			s.fail(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), accountKey{}, id)))
	})
}

// accountFor is the account p reads when asking for asked ("" when not asking).
func (s *Server) accountFor(p principal, asked string) (string, *apiError) {
	if p.account != "" {
		if asked != "" && asked != p.account {
			return "", errorf(http.StatusForbidden, "account_forbidden", fmt.Sprintf(
				"this console token sees account %q only: leave ?account= out (or set it to %q); other accounts need their own token, or the admin token",
				p.account, p.account))
		}
		return p.account, nil
	}
	if asked != "" {
		if !s.knows(asked) {
			return "", errorf(http.StatusNotFound, "unknown_account", fmt.Sprintf(
				"there is no account %q: GET /api/accounts lists them (`ingestctl accounts list` too)", asked))
		}
		return asked, nil
	}
	if p.chosen != "" && s.knows(p.chosen) {
		return p.chosen, nil
	}
	return account.Default, nil
}

// knows reports whether id is an account the admin can pick: one the registry holds, and the
// default account always (its leads are there whether or not it is configured).
func (s *Server) knows(id string) bool {
	_, ok := s.accounts.ByID(id)
	return ok || id == account.Default
}

// fail answers with err: JSON to an API client, a page to a browser.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err *apiError) {
	if wantsJSON(r) {
		writeAPI(w, nil, err)
		return
	}
	s.renderError(w, r, err)
}

// switchAccount is the switcher's form: the admin's session reads the picked account from now
// on, and goes back to the section it was in (next).
func (s *Server) switchAccount(w http.ResponseWriter, r *http.Request) {
	p := principalOf(r)
	id := r.PostFormValue("account")
	switch {
	case p.account != "":
		s.fail(w, r, errorf(http.StatusForbidden, "account_forbidden", fmt.Sprintf(
			"this console token sees account %q only; there is no other account to switch to: sign in with the admin token to see others", p.account)))
		return
	case p.nonce == "":
		s.fail(w, r, errorf(http.StatusBadRequest, "invalid_request",
			"the switcher is for signed-in browsers; API clients pass ?account=ID with each request"))
		return
	case !s.knows(id):
		s.fail(w, r, errorf(http.StatusNotFound, "unknown_account", fmt.Sprintf(
			"there is no account %q (removed meanwhile?): reload the page and pick one of the switcher's", id)))
		return
	}
	s.auth.sessions.choose(p.nonce, id)
	http.Redirect(w, r, safeNext(r.PostFormValue("next")), http.StatusSeeOther)
}

// accountJSON is an account as GET /api/accounts shows it: never a secret nor a token hash.
type accountJSON struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Disabled bool   `json:"disabled,omitempty"`
}

type accountsView struct {
	// Current is the account this request reads.
	Current  string        `json:"current"`
	Accounts []accountJSON `json:"accounts"`
}

// visible are the accounts p may read, the default account first: every account for the admin
// token, its own for an account's console token.
func (s *Server) visible(p principal) []accountJSON {
	var out []accountJSON
	for _, a := range s.accounts.All() {
		if p.account != "" && a.ID != p.account {
			continue
		}
		j := accountJSON{ID: a.ID, Name: displayName(a), Disabled: a.Disabled}
		if a.ID == account.Default {
			out = append([]accountJSON{j}, out...)
			continue
		}
		out = append(out, j)
	}
	if p.account == "" && (len(out) == 0 || out[0].ID != account.Default) {
		out = append([]accountJSON{{ID: account.Default, Name: "Default"}}, out...)
	}
	return out
}

func displayName(a *account.Account) string {
	if a.Name != "" {
		return a.Name
	}
	return a.ID
}

func (s *Server) apiAccounts(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, accountsView{Current: accountOf(r), Accounts: s.visible(principalOf(r))})
}

// accountHeader is the page header's account part: the switcher (Choices, for the admin when
// there is more than one account), or the account's name (an account's console token).
type accountHeader struct {
	Name    string
	Choices []accountChoice
	// Back is where the switcher returns: the first page of the current section.
	Back string
}

type accountChoice struct {
	ID, Name string
	Current  bool
}

// sectionHome is the first page of each section, by pageData.Nav: after a switch the page that
// was shown (a lead, a dead letter) belongs to the other account.
var sectionHome = map[string]string{"leads": "/", "deadletters": "/deadletters", "quarantine": "/quarantine",
	"schema": "/schema", "stats": "/stats"}

func (s *Server) header(r *http.Request, nav string) *accountHeader {
	p, cur := principalOf(r), accountOf(r)
	h := &accountHeader{Back: sectionHome[nav]}
	if h.Back == "" {
		h.Back = "/"
	}
	for _, a := range s.visible(p) {
		if a.ID == cur {
			h.Name = a.Name
		}
		// A disabled account is left out of the switcher, but stays shown while it is the one read.
		if !a.Disabled || a.ID == cur {
			h.Choices = append(h.Choices, accountChoice{ID: a.ID, Name: a.Name, Current: a.ID == cur})
		}
	}
	if h.Name == "" {
		h.Name = cur
	}
	if p.account != "" || len(h.Choices) < 2 {
		h.Choices = nil
	}
	if p.account == "" && h.Choices == nil {
		return nil // one account, the admin: the page looks as it did before accounts
	}
	return h
}
