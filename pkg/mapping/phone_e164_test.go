package mapping

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/nyaruka/phonenumbers"
	"github.com/stretchr/testify/require"
)

// normalizeByParse is normalizePhone as it is without the indianE164 shortcut.
func normalizeByParse(s, region string) (string, bool) {
	num, err := phonenumbers.Parse(s, region)
	if err != nil || num.GetExtension() != "" || !phonenumbers.IsValidNumber(num) {
		return s, false
	}
	return phonenumbers.Format(num, phonenumbers.E164), true
}

// The shortcut for "+91" and ten digits gives exactly what parsing gives: the same number (country
// code, national number, no leading zeros, no extension) and so the same validity and E.164, for
// every four-digit start of the ten digits (random rest), in every default region's Mapper.
func TestIndianE164MatchesParse(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(5, 5))
	mIN, err := NewMapper("IN")
	require.NoError(t, err)
	mUS, err := NewMapper("US")
	require.NoError(t, err)
	valid := 0
	for start := 1000; start <= 9999; start++ {
		for range 3 {
			s := fmt.Sprintf("+91%d%06d", start, rng.IntN(1_000_000))
			var fast phonenumbers.PhoneNumber
			require.True(t, indianE164(s, &fast), s)
			parsed, err := phonenumbers.Parse(s, "IN")
			require.NoError(t, err, s)
			require.Equal(t, parsed.GetCountryCode(), fast.GetCountryCode(), s)
			require.Equal(t, parsed.GetNationalNumber(), fast.GetNationalNumber(), s)
			require.Equal(t, parsed.GetItalianLeadingZero(), fast.GetItalianLeadingZero(), s)
			require.Equal(t, parsed.GetNumberOfLeadingZeros(), fast.GetNumberOfLeadingZeros(), s)
			require.Empty(t, parsed.GetExtension(), s)
			for _, m := range []*Mapper{mIN, mUS} {
				out, ok := m.normalizePhone(s)
				wantOut, wantOK := normalizeByParse(s, m.region)
				require.Equal(t, wantOK, ok, s)
				require.Equal(t, wantOut, out, s)
				if ok {
					valid++
				}
			}
		}
	}
	require.Positive(t, valid)
	for _, s := range []string{"+910987654321", "+9198765432", "+919876543210 ", "+91987654321x", "+92987654321", "+9198765-4321", "919876543210"} {
		var num phonenumbers.PhoneNumber
		require.False(t, indianE164(s, &num), s)
	}
}
