package queue

// NATS does not carry every string as a header value unchanged: the client trims white space at
// both ends of a value and turns CR and LF into spaces, so an event id "abc " would reach the
// worker, the store and JetStream's duplicate check as "abc", the id of another event. Ids and
// types therefore travel percent-escaped where, and only where, NATS would alter them.

// EncodeHeaderValue returns s in a form a NATS header carries unchanged: '%', control characters
// (CR and LF among them) and the white space at either end are percent-escaped ("abc " becomes
// "abc%20"); every other byte is kept. Escaping '%' itself makes the encoding reversible and
// one-to-one, so two values that differ in any byte stay different (as Nats-Msg-Id too). A value
// that needs no escape, the common case, is returned as it is, without a copy.
// DecodeHeaderValue undoes it.
func EncodeHeaderValue(s string) string {
	lead, trail := edges(s)
	i := 0
	for i < len(s) && !escaped(s[i], i, lead, trail) {
		i++
	}
	if i == len(s) {
		return s
	}
	b := make([]byte, 0, len(s)+8)
	b = append(b, s[:i]...)
	for ; i < len(s); i++ {
		if c := s[i]; escaped(c, i, lead, trail) {
			b = append(b, '%', hexDigits[c>>4], hexDigits[c&0xf])
		} else {
			b = append(b, c)
		}
	}
	return string(b)
}

// DecodeHeaderValue returns the value EncodeHeaderValue encoded as v. A v that is not in the form
// EncodeHeaderValue writes (a header published before values were escaped, holding a '%' as
// sent, such as "50%off" or "a%20b") is returned unchanged.
func DecodeHeaderValue(v string) string {
	i := 0
	for i < len(v) && v[i] != '%' {
		i++
	}
	if i == len(v) {
		return v
	}
	b := make([]byte, 0, len(v))
	b = append(b, v[:i]...)
	for ; i < len(v); i++ {
		c := v[i]
		if c != '%' {
			b = append(b, c)
			continue
		}
		if i+2 >= len(v) || unhex(v[i+1]) < 0 || unhex(v[i+2]) < 0 {
			return v
		}
		b = append(b, byte(unhex(v[i+1])<<4|unhex(v[i+2])))
		i += 2
	}
	s := string(b)
	if EncodeHeaderValue(s) != v {
		return v // not the canonical form: not written by EncodeHeaderValue
	}
	return s
}

const hexDigits = "0123456789ABCDEF"

// unhex is the value of an upper-case hex digit (the only case EncodeHeaderValue writes), or -1.
func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// edges returns the length of the run of spaces and tabs s starts with, and the index where the
// run it ends with begins (len(s) when there is none).
func edges(s string) (lead, trail int) {
	for lead < len(s) && (s[lead] == ' ' || s[lead] == '\t') {
		lead++
	}
	trail = len(s)
	for trail > lead && (s[trail-1] == ' ' || s[trail-1] == '\t') {
		trail--
	}
	return lead, trail
}

// escaped reports whether the byte c at index i of a value is escaped: '%', a control character,
// or a space or tab in the runs at either end (before lead, from trail on).
func escaped(c byte, i, lead, trail int) bool {
	return c == '%' || c < 0x20 || c == 0x7f || i < lead || i >= trail
}
