package mapping

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestNormalizePhone(t *testing.T) {
	t.Parallel()

	in, us := setup(t).mapper, newMapper(t, "US")
	tests := []struct {
		name   string
		m      *Mapper
		in     string
		want   string
		wantOK bool
	}{
		// One Indian mobile written the ways people write it.
		{"trunk prefix", in, "09876543210", "+919876543210", true},
		{"dashed", in, "98765-43210", "+919876543210", true},
		{"spaced international", in, "+91 98765 43210", "+919876543210", true},
		{"e164", in, "+919876543210", "+919876543210", true},
		{"padded national", in, " 9876543210 ", "+919876543210", true},
		{"country code without plus", in, "919876543210", "+919876543210", true},
		{"international prefix", in, "0091 98765 43210", "+919876543210", true},
		{"bracketed country code", in, "(+91) 98765 43210", "+919876543210", true},
		{"fullwidth digits", in, "９８７６５４３２１０", "+919876543210", true},

		// A leading '+' keeps its own country whatever the default region.
		{"US from IN", in, "+1 (650) 253-0000", "+16502530000", true},
		{"UK from IN", in, "+44 20 7946 0958", "+442079460958", true},
		{"SG from IN", in, "+65 6123 4567", "+6561234567", true},
		{"IN from US", us, "+91 98765 43210", "+919876543210", true},
		{"US national", us, "(650) 253-0000", "+16502530000", true},
		{"IN national from US", us, "98765 43210", "98765 43210", false},

		// The sample webhook's two numbers (see NormalizePhone's comment).
		{"fixture mobile_number", in, "+910987654321", "+910987654321", false},
		{"fixture unique_field_value", in, "+918765875687", "+918765875687", true},

		// Not phone numbers: kept as sent (trimmed), not ok.
		{"words", in, "call me", "call me", false},
		{"words padded", in, "  call me  ", "call me", false},
		{"vanity", in, "1-800-FLOWERS", "1-800-FLOWERS", false},
		{"extension", in, "9876543210 ext 12", "9876543210 ext 12", false},
		{"too short", in, "12", "12", false},
		{"too long", in, "+91 98765 43210 99", "+91 98765 43210 99", false},
		{"punctuation", in, "----", "----", false},
		{"bad country code", in, "+0 123", "+0 123", false},
		{"plus only", in, "+", "+", false},
		{"email", in, "a@b.in", "a@b.in", false},
		{"empty", in, "", "", false},
		{"blank", in, " \t ", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := tt.m.NormalizePhone(tt.in)
			require.Equal(t, tt.want, got)
			require.Equal(t, tt.wantOK, ok)
		})
	}
}

func TestNewMapper(t *testing.T) {
	t.Parallel()

	for _, region := range []string{"IN", "US", "GB", "in", " us "} {
		m, err := NewMapper(region)
		require.NoError(t, err, region)
		require.NotNil(t, m)
	}
	for _, region := range []string{"", "ZZ", "XX", "India", "001", "+91"} {
		m, err := NewMapper(region)
		require.Error(t, err, region)
		require.Nil(t, m)
		require.ErrorContains(t, err, `"`+region+`"`)
		require.ErrorContains(t, err, "ISO 3166-1 alpha-2")
	}
}

// The pool behind NormalizePhone must not leak one caller's number into another's.
func TestNormalizePhoneConcurrent(t *testing.T) {
	t.Parallel()

	m := setup(t).mapper
	inputs := map[string]string{
		"09876543210":     "+919876543210",
		"+1 650 253 0000": "+16502530000",
		"+44 7911 123456": "+447911123456",
		"call me":         "call me",
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 200 {
				for in, want := range inputs {
					if got, _ := m.NormalizePhone(in); got != want {
						t.Errorf("NormalizePhone(%q) = %q, want %q", in, got, want)
						return
					}
				}
			}
		})
	}
	wg.Wait()
}

// BenchmarkNormalizePhone measures a number seen before (answered from the cache) and, under
// parse/, the parse itself (what a number seen for the first time costs).
func BenchmarkNormalizePhone(b *testing.B) {
	m, err := NewMapper("IN")
	require.NoError(b, err)
	for _, in := range []string{"+919876543210", "098765 43210", "call me"} {
		b.Run(in, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				m.NormalizePhone(in)
			}
		})
		b.Run("parse/"+in, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				m.normalizePhone(in)
			}
		})
	}
}

func BenchmarkNormalizeEmail(b *testing.B) {
	for _, in := range []string{"lead@example.com", "  Lead.Name@Example.COM "} {
		b.Run(in, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				NormalizeEmail(in)
			}
		})
	}
}

// The cache gives what the parse gives, for numbers seen once and again, and stays bounded.
func TestNormalizePhoneCache(t *testing.T) {
	t.Parallel()
	m, err := NewMapper("IN")
	require.NoError(t, err)
	for _, in := range []string{"+919876543210", " 098765 43210 ", "+910987654321", "12", "+1 650 253 0000"} {
		wantOut, wantOK := m.normalizePhone(strings.TrimSpace(in))
		for range 2 {
			out, ok := m.NormalizePhone(in)
			require.Equal(t, wantOut, out, in)
			require.Equal(t, wantOK, ok, in)
		}
	}
	for i := range phoneCacheSize + 10 {
		m.NormalizePhone(fmt.Sprintf("+9198%08d", i))
	}
	require.LessOrEqual(t, len(m.phones.m), phoneCacheSize)
}
