package mapping

import (
	"strings"

	"golang.org/x/text/unicode/norm"
)

// Identity: which emails and phone numbers are keys that name one person. Leads are matched on
// them (pkg/store), so a value every sloppy form sends ("null", "n/a", "0000000000") must not
// be one: it would join strangers into one lead and let one overwrite another's phone. Such a
// value is not used for the lead's email, mobile_number or alt_phone; the mapper treats it as a
// value that does not fit its target, so first_of tries the next path and a person field keeps
// it, as sent, in the lead's attributes under its own key (nothing is dropped, and the sales
// team still sees what the form said).
//
// The lists are conservative on purpose: a value is a placeholder only when no person could own
// it. Domains such as example.com are not on them (tests and demos use them for distinct
// people), nor are dots or plus-addressing folded: "a.b+x@gmail.com" and "ab@gmail.com" are
// the same Gmail inbox, but not at every provider, and a wrong merge is worse than a missed one.

// NormalizeEmail returns the key an email is matched on: trimmed, lower-cased (Unicode) and in
// Unicode NFC, so that "Asha@x.in", " asha@x.in " and the same address typed with a combining
// accent (NFD) are one key. It does not check that s is an address: IsPlaceholderEmail does.
func NormalizeEmail(s string) string {
	// NFC before lower-casing too: a capital whose lower case differs from that of its
	// decomposed form (U+0130 "İ" lower-cases to "i", "I"+U+0307 to "i"+U+0307) would otherwise
	// give the NFC and NFD forms two keys. strings.ToLower returns its argument unchanged,
	// without allocating, when it has no upper-case letter, and norm.NFC.String when it is
	// already NFC (all ASCII is): the common case costs no allocation.
	return norm.NFC.String(strings.ToLower(norm.NFC.String(strings.TrimSpace(s))))
}

// placeholderEmails are whole addresses senders fill a required email field with.
var placeholderEmails = map[string]bool{
	"test@test.com": true, "email@email.com": true, "mail@mail.com": true, "abc@abc.com": true,
	"xyz@xyz.com": true, "a@a.com": true, "no@no.com": true, "na@na.com": true,
	"none@none.com": true, "null@null.com": true, "no@email.com": true, "noemail@noemail.com": true,
}

// placeholderLocals are local parts that say "no address" at any domain (noemail@gmail.com).
var placeholderLocals = map[string]bool{
	"noemail": true, "no-email": true, "no_email": true, "nomail": true, "noreply": true,
	"no-reply": true, "donotreply": true, "do-not-reply": true, "null": true, "none": true,
	"nil": true, "undefined": true, "unknown": true,
}

// IsPlaceholderEmail reports whether the email s (any case, trimmed or not) cannot identify a
// person: it is not of the form local@domain (no '@', or nothing on one side of it: "null",
// "none", "na", "n/a", "-", "undefined", "" and every other word or symbol a form sends for
// "no email"), or it is one of the placeholder addresses (test@test.com, null@null.com, …), or
// its local part says there is none (noemail@…, noreply@…, null@…, none@…, undefined@…).
func IsPlaceholderEmail(s string) bool {
	s = strings.ToLower(strings.TrimSpace(s))
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 {
		return true
	}
	return placeholderEmails[s] || placeholderLocals[s[:at]]
}

// IsPlaceholderPhone reports whether the phone number s (as sent, or normalized) cannot identify
// a person: it has no digits ("null", "none", "n/a", "-", "undefined"), fewer than four (no
// phone number anywhere is that short), or its digits, after a country code when it starts with
// '+', are one digit repeated ("0000000000", "9999999999", "+91 00000 00000"). Sequences such
// as 9876543210 are not on the list: they are valid numbers that someone owns.
func IsPlaceholderPhone(s string) bool {
	var d [24]byte
	n := 0
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= '0' && c <= '9' {
			if n == len(d) {
				return false // too long to be a placeholder (or a phone number)
			}
			d[n] = c
			n++
		}
	}
	if n < 4 || oneDigit(d[:n]) {
		return true
	}
	if strings.HasPrefix(strings.TrimSpace(s), "+") {
		// Country codes have one to three digits; the national number is what a form fills.
		for k := 1; k <= 3 && n-k >= 6; k++ {
			if oneDigit(d[k:n]) {
				return true
			}
		}
	}
	return false
}

// oneDigit reports whether every byte of d is d[0].
func oneDigit(d []byte) bool {
	for _, c := range d[1:] {
		if c != d[0] {
			return false
		}
	}
	return true
}
