package lead

import (
	"strings"
	"sync"

	"github.com/nyaruka/phonenumbers"
)

// numberPool recycles the parse target: phonenumbers.Parse allocates a fresh PhoneNumber (a
// protobuf message) per call, and NormalizePhone runs for every event on the worker's hot path.
var numberPool = sync.Pool{New: func() any { return new(phonenumbers.PhoneNumber) }}

// NormalizePhone returns s as an E.164 number ("+919876543210") and true, or strings.TrimSpace(s)
// and false when s is not a valid phone number, so the value as typed is kept rather than lost.
// An empty (or all-space) s gives "", false.
//
// A number with a leading '+' (or an international prefix such as "00") keeps its own country;
// any other is read in the Mapper's default region, so with "IN" "09876543210", "98765-43210",
// "+91 98765 43210" and " 9876543210 " all give "+919876543210".
//
// Validity is phonenumbers.IsValidNumber, not the looser IsPossibleNumber (a length check only),
// because E.164 is what identifies a person across events and a wrong rewrite would merge or
// split leads. The sample webhook shows why: its mobile_number "+910987654321" is possible but
// not valid — phonenumbers strips the '0' after +91 as a trunk prefix and reads the 9-digit
// +91 987654321, which no Indian number is — so it is kept as "+910987654321" (false) instead of
// becoming a different number. Its unique_field_value "+918765875687" is valid and stays
// "+918765875687" (true).
//
// Input with letters ("call me", vanity numbers like "1-800-FLOWERS", "ext. 12") or an extension
// is not normalized: phonenumbers would turn letters into digits, and E.164 cannot carry an
// extension, so either would silently change the number.
func (m *Mapper) NormalizePhone(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if s == "" || hasASCIILetter(s) {
		return s, false
	}
	num := numberPool.Get().(*phonenumbers.PhoneNumber)
	defer numberPool.Put(num)
	// ParseToNumber overwrites every field it reads back below; Reset also clears the rest.
	num.Reset()
	if err := phonenumbers.ParseToNumber(s, m.region, num); err != nil {
		return s, false
	}
	if num.GetExtension() != "" || !phonenumbers.IsValidNumber(num) {
		return s, false
	}
	return phonenumbers.Format(num, phonenumbers.E164), true
}

// hasASCIILetter reports whether s holds an ASCII letter: real phone input never does, and
// phonenumbers would otherwise read letters as keypad digits.
func hasASCIILetter(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i] | 0x20; c >= 'a' && c <= 'z' {
			return true
		}
	}
	return false
}
