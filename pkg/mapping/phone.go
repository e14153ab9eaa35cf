package mapping

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
	if r, ok := m.phones.get(s); ok {
		return r.out, r.ok
	}
	out, ok := m.normalizePhone(s)
	m.phones.put(s, phoneResult{out, ok})
	return out, ok
}

// normalizePhone is NormalizePhone without the cache, for a trimmed s without letters.
func (m *Mapper) normalizePhone(s string) (string, bool) {
	num := numberPool.Get().(*phonenumbers.PhoneNumber)
	defer numberPool.Put(num)
	// ParseToNumber overwrites every field it reads back below; Reset also clears the rest.
	num.Reset()
	if indianE164(s, num) {
		// Already E.164: only the validity check is left to do, and E.164 is s itself.
		if phonenumbers.IsValidNumber(num) {
			return s, true
		}
		return s, false
	}
	if err := phonenumbers.ParseToNumber(s, m.region, num); err != nil {
		return s, false
	}
	if num.GetExtension() != "" || !phonenumbers.IsValidNumber(num) {
		return s, false
	}
	return phonenumbers.Format(num, phonenumbers.E164), true
}

// indianE164 reports whether s is an Indian number written exactly in E.164 ("+91" and ten
// digits, the first not 0), the form SaleAssist sends, and if so sets num to what
// phonenumbers.ParseToNumber makes of it (country code 91, the ten digits as the national number;
// nothing to strip: India's national prefix is a leading 0), without parsing: the parse (regular
// expressions for extensions, punctuation, prefixes) was half of normalizing such a number.
// TestIndianE164MatchesParse holds it to ParseToNumber for every four-digit start.
func indianE164(s string, num *phonenumbers.PhoneNumber) bool {
	if len(s) != 13 || s[:3] != "+91" || s[3] == '0' {
		return false
	}
	var n uint64
	for i := 3; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return false
		}
		n = n*10 + uint64(c-'0')
	}
	cc := int32(91)
	num.CountryCode, num.NationalNumber = &cc, &n
	return true
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

// phoneCacheSize bounds the phone cache: about 100 bytes an entry, so well under 1 MiB.
const phoneCacheSize = 8192

// phoneResult is a cached NormalizePhone result.
type phoneResult struct {
	out string
	ok  bool
}

// phoneCache remembers recent NormalizePhone results. Parsing with phonenumbers (regular
// expressions over the region's metadata) is the largest part of mapping an event, and numbers
// recur: the same person writes again, and an event often carries one number twice
// (people_detail.mobile_number and payload.unique_field_value). Bounded: when full it starts
// over, which keeps it simple and its memory fixed. Safe for concurrent use.
type phoneCache struct {
	mu sync.Mutex
	m  map[string]phoneResult
}

func (c *phoneCache) get(s string) (phoneResult, bool) {
	c.mu.Lock()
	r, ok := c.m[s]
	c.mu.Unlock()
	return r, ok
}

func (c *phoneCache) put(s string, r phoneResult) {
	c.mu.Lock()
	if c.m == nil || len(c.m) >= phoneCacheSize {
		c.m = make(map[string]phoneResult, 256)
	}
	// A copy of the key (and of an unparsed result, which is the key): s may be a slice of a large
	// decoded body, which the cache must not pin.
	k := strings.Clone(s)
	if r.out == s {
		r.out = k
	}
	c.m[k] = r
	c.mu.Unlock()
}
