package accept

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/saleassist-pipeline/pipeline/pkg/account"
)

// WrongAccount is the error code of an event whose payload.client_id is not one of the client ids
// of the account whose URL it was sent to.
const WrongAccount = "wrong_account"

// maxQuotedClientID bounds how much of a received client id an answer repeats.
const maxQuotedClientID = 128

// ForAccount decides whether the accepted event a belongs to acct: an account that lists client
// ids takes only events whose payload.client_id is one of them (a missing one is none of them);
// an account without client ids takes any. The rejection is kept (422 wrong_account): the sender
// is authenticated, and the body is good, only sent to the wrong URL or for an account not yet
// configured; an operator replays it once that is fixed. The webhook and the quarantine replay
// both call it after Body, so a replay is refused for the same reason until it is fixed.
func ForAccount(a Accepted, acct *account.Account) *Rejection {
	if len(acct.ClientIDs) == 0 || a.Head.ClientID != "" && acct.AcceptsClientID(a.Head.ClientID) {
		return nil
	}
	var got string
	if a.Head.ClientID == "" {
		got = "the event has no payload.client_id (or not a string or number)"
	} else {
		got = "payload.client_id " + quoteClip(a.Head.ClientID) + " is not one of its client ids"
	}
	return &Rejection{Status: http.StatusUnprocessableEntity, Code: WrongAccount, Keep: true,
		Message: "this URL belongs to account " + strconv.Quote(acct.ID) + ", and " + got +
			": send each SaleAssist account's events to that account's own webhook URL (`ingestctl accounts list` and `ingestctl accounts show ID` show them), " +
			"or, if this client id is the account's, add it to the account's client ids; the event was not accepted"}
}

// quoteClip quotes s, cut to maxQuotedClientID bytes (on a rune boundary) with "…" when longer.
func quoteClip(s string) string {
	if len(s) <= maxQuotedClientID {
		return strconv.Quote(s)
	}
	cut := maxQuotedClientID
	for cut > 0 && !isRuneStart(s[cut]) {
		cut--
	}
	return strconv.Quote(strings.ToValidUTF8(s[:cut], "")) + "…"
}

func isRuneStart(b byte) bool { return b&0xc0 != 0x80 }
