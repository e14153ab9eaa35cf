package fieldpaths

import (
	"encoding/json"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/saleassist-pipeline/pipeline/pkg/mapping"
)

// exampleMax bounds an example value's length: a schema is for seeing shapes, not reading data.
const exampleMax = 80

// Masker hides personal contact data in the examples the kept schema holds and "Get Schema" shows, so a schema can be
// shared, pasted in a ticket or shown on a screen. It looks at the value, not only at the key:
//
//   - under a key that says email/mail or phone/mobile, the whole value is masked;
//   - an email address anywhere in a text is masked (p•••@example.com);
//   - a phone number anywhere in a text is masked (+91••••••••87): a run of digits and phone
//     punctuation that is a valid number in the default region, or has 10 or more digits
//     (a foreign number, or a valid one written oddly; masking a long id too is the safe side);
//   - a JSON number that parses as a valid phone number is masked, whatever its key.
//
// Dates ("2024-07-11") are digit runs too; they are neither valid numbers nor 10 digits long, so
// they stay readable.
type Masker struct{ phones *mapping.Mapper }

// NewMasker returns a Masker that reads phone numbers written without a country code as the
// mapper's default region does.
func NewMasker(phones *mapping.Mapper) Masker { return Masker{phones: phones} }

var (
	emailPattern = regexp.MustCompile(`[^\s@<>()\[\]{}"',;:]+@[^\s@<>()\[\]{}"',;:]+\.[^\s@<>()\[\]{}"',;:.]+`)
	phonePattern = regexp.MustCompile(`\+?\(?\d[\d\-(). /]*\d`)
)

// Example renders v as a short example for the schema, masked as the masker says; masked
// reports that something was hidden. Objects and arrays have no example.
func (m Masker) Example(path string, v any) (ex string, masked bool) {
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
	case strings.Contains(key, "email") || strings.Contains(key, "mail"):
		s, masked = maskEmail(s), true
	case strings.Contains(key, "phone") || strings.Contains(key, "mobile"):
		s, masked = maskDigits(s), true
	case isText:
		s, masked = m.text(s)
	default:
		if _, ok := m.phones.NormalizePhone(s); ok {
			s, masked = maskDigits(s), true
		}
	}
	if utf8.RuneCountInString(s) > exampleMax {
		s = string([]rune(s)[:exampleMax]) + "…"
	}
	return s, masked
}

// text masks every email address and phone number in s.
func (m Masker) text(s string) (string, bool) {
	masked := false
	s = emailPattern.ReplaceAllStringFunc(s, func(e string) string {
		masked = true
		return maskEmail(e)
	})
	s = phonePattern.ReplaceAllStringFunc(s, func(run string) string {
		if !m.isPhone(run) {
			return run
		}
		masked = true
		return maskDigits(run)
	})
	return s, masked
}

// isPhone reports whether a run of digits and phone punctuation is to be read as a phone number.
func (m Masker) isPhone(run string) bool {
	digits, _ := PhoneDigits(run)
	if digits < 7 {
		return false
	}
	if digits >= 10 {
		return true
	}
	_, ok := m.phones.NormalizePhone(run)
	return ok
}

// PhoneDigits counts the digits of s, and reports whether everything else in it is phone
// punctuation (+ - ( ) . and spaces): what the search box calls a phone.
func PhoneDigits(s string) (digits int, ok bool) {
	ok = true
	for _, r := range s {
		switch {
		case unicode.IsDigit(r):
			digits++
		case strings.ContainsRune("+-(). ", r):
		default:
			ok = false
		}
	}
	return digits, ok
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
