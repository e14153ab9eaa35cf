package console

import (
	"html/template"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// formatPhone is a stored phone number as a person reads it: the international format of a
// valid number ("+91 98765 43210"); anything else as stored (the pipeline keeps an invalid
// number as it came). Search still takes any form (filter).
func formatPhone(stored string) string {
	if !strings.HasPrefix(stored, "+") {
		return stored
	}
	n, err := phonenumbers.Parse(stored, "")
	if err != nil || !phonenumbers.IsValidNumber(n) {
		return stored
	}
	return phonenumbers.Format(n, phonenumbers.INTERNATIONAL)
}

// telURL is a tel: link for a stored phone number, made of its '+' and digits only, so nothing
// of the data but digits reaches the URL; "" when it holds too few digits to dial.
func telURL(stored string) template.URL {
	var b strings.Builder
	for i, r := range stored {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && i == 0:
			b.WriteRune(r)
		}
	}
	if digits := strings.TrimPrefix(b.String(), "+"); len(digits) < 5 {
		return ""
	}
	return template.URL("tel:" + b.String())
}
