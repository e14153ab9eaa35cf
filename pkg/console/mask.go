package console

import (
	"encoding/json"
	"strings"
	"unicode"
	"unicode/utf8"
)

// exampleMax bounds an example value's length: a schema is for seeing shapes, not reading data.
const exampleMax = 80

// example renders v as a short example for the schema, masked when it looks like personal
// contact data (an email address or a phone number, by its value or by its key's name), so a
// schema can be shared, pasted in a ticket or shown on a screen. Objects and arrays have none.
func example(path string, v any) (string, bool) {
	var s string
	switch x := v.(type) {
	case map[string]any, []any, nil:
		return "", false
	case string:
		s = x
	default:
		b, _ := json.Marshal(x)
		s = string(b)
	}
	if s == "" {
		return "", false
	}
	key := strings.ToLower(path[strings.LastIndexAny(path, ".[")+1:])
	_, isText := v.(string)
	switch {
	case isText && looksLikeEmail(s), strings.Contains(key, "email") || strings.Contains(key, "mail"):
		return maskEmail(s), true
	case isText && looksLikePhoneNumber(s), strings.Contains(key, "phone") || strings.Contains(key, "mobile"):
		return maskDigits(s), true
	}
	if utf8.RuneCountInString(s) > exampleMax {
		s = string([]rune(s)[:exampleMax]) + "…"
	}
	return s, false
}

func looksLikeEmail(s string) bool {
	at := strings.IndexByte(s, '@')
	return at > 0 && strings.Contains(s[at+1:], ".") && !strings.ContainsAny(s, " \t\n")
}

// looksLikePhoneNumber: 7 to 15 digits (E.164's longest) and only phone punctuation besides.
func looksLikePhoneNumber(s string) bool {
	digits, ok := phoneDigits(s)
	return ok && digits >= 7 && digits <= 15
}

// phoneDigits counts the digits of s, and reports whether everything else in it is phone
// punctuation (+ - ( ) . and spaces): what both the search box and the masking call a phone.
func phoneDigits(s string) (digits int, ok bool) {
	for _, r := range s {
		switch {
		case unicode.IsDigit(r):
			digits++
		case strings.ContainsRune("+-(). ", r):
		default:
			return digits, false
		}
	}
	return digits, true
}

// maskEmail keeps the first character and the domain: p•••@example.com.
func maskEmail(s string) string {
	at := strings.LastIndexByte(s, '@')
	if at <= 0 {
		return maskDigits(s)
	}
	first, _ := utf8.DecodeRuneInString(s)
	return string(first) + "•••" + s[at:]
}

// maskDigits hides every digit but the first two and the last two: +91••••••••87.
func maskDigits(s string) string {
	total := 0
	for _, r := range s {
		if unicode.IsDigit(r) {
			total++
		}
	}
	var b strings.Builder
	seen := 0
	for _, r := range s {
		if !unicode.IsDigit(r) {
			if total == 0 {
				b.WriteRune('•')
				continue
			}
			b.WriteRune(r)
			continue
		}
		seen++
		if seen <= 2 || seen > total-2 && total > 6 {
			b.WriteRune(r)
		} else {
			b.WriteRune('•')
		}
	}
	return b.String()
}
