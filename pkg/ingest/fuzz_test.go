package ingest_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/saleassist-pipeline/pipeline/internal/testkit"
	"github.com/saleassist-pipeline/pipeline/pkg/ingest"
)

// The request-path parsers of the ingest beyond FuzzDecodeContent: the signature header, the
// shared-secret comparison and the client address behind proxies. Each decides whether a request
// is let in, so each checks that exactly the right inputs pass.

const fuzzKey = "fuzz-signing-key-0123456789"

// FuzzGzipRoundTrip: whatever the sender compresses, the ingest gets back byte for byte when it
// fits the limit, and ErrTooLarge (never a truncated body) when it does not.
func FuzzGzipRoundTrip(f *testing.F) {
	f.Add(testkit.Fixture(f), uint32(1<<20))
	f.Add([]byte{}, uint32(0))
	f.Add([]byte("x"), uint32(0))
	f.Add(bytes.Repeat([]byte{0}, 1<<16), uint32(1<<16))
	f.Add(bytes.Repeat([]byte{0}, 1<<16), uint32(1<<16-1))
	f.Fuzz(func(t *testing.T, body []byte, limit32 uint32) {
		limit := int64(limit32 % (1 << 21))
		for _, enc := range []string{"gzip", "x-gzip", " GZIP "} {
			got, err := ingest.DecodeContent(enc, gz(t, body), limit)
			switch {
			case int64(len(body)) > limit:
				if !errors.Is(err, ingest.ErrTooLarge) || got != nil {
					t.Fatalf("%d bytes under a limit of %d: %d bytes, %v", len(body), limit, len(got), err)
				}
			case err != nil || !bytes.Equal(got, body):
				t.Fatalf("%d bytes under a limit of %d: got %d bytes back, %v", len(body), limit, len(got), err)
			}
		}
	})
}

// FuzzCheckSignature: a signature header is accepted exactly when it holds the body's
// HMAC-SHA256 under the key, hex or base64 (either alphabet, padded or not), with or without a
// "sha256=" prefix in any case. The correct MAC in each of those forms is accepted; anything else
// the fuzzer writes into the header is refused unless it decodes to that MAC.
func FuzzCheckSignature(f *testing.F) {
	fix := testkit.Fixture(f)
	mac := testkit.HMAC(fuzzKey, fix)
	for _, h := range []string{
		"", hex.EncodeToString(mac), "sha256=" + hex.EncodeToString(mac), "SHA256=" + base64.StdEncoding.EncodeToString(mac),
		base64.RawURLEncoding.EncodeToString(mac), "sha256=", "sha256", strings.Repeat("0", 64), strings.Repeat("=", 44),
		"\x00", "\xff\xfe", strings.Repeat("a", 10000),
	} {
		f.Add(fix, h)
	}
	a, err := ingest.NewAuth(ingest.AuthConfig{SignatureHeader: "X-Signature", SignatureSecrets: []string{fuzzKey}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte, header string) {
		mac := testkit.HMAC(fuzzKey, body)
		r := httptest.NewRequest(http.MethodPost, "/webhooks/saleassist", nil)
		for _, good := range []string{
			hex.EncodeToString(mac), strings.ToUpper(hex.EncodeToString(mac)), "sha256=" + hex.EncodeToString(mac),
			"Sha256=" + base64.StdEncoding.EncodeToString(mac), base64.RawStdEncoding.EncodeToString(mac),
			base64.URLEncoding.EncodeToString(mac), " " + base64.RawURLEncoding.EncodeToString(mac) + " ",
		} {
			r.Header.Set("X-Signature", good)
			if fail := a.CheckSignature(r, body); fail != nil {
				t.Fatalf("correct signature %q refused: %+v", good, fail)
			}
		}
		r.Header.Set("X-Signature", header)
		fail := a.CheckSignature(r, body)
		if want := decodesTo(r.Header.Get("X-Signature"), mac); (fail == nil) != want {
			t.Fatalf("header %q (decodes to the MAC: %v) answered %+v", header, want, fail)
		}
		if fail != nil && (fail.Status != http.StatusUnauthorized || strings.Contains(fail.Message, fuzzKey) ||
			len(header) >= 8 && strings.Contains(fail.Message, header)) {
			t.Fatalf("refusal %+v: want 401, naming neither the key nor the header's value", fail)
		}
	})
}

// decodesTo is the signature format, written independently of the ingest's decoder.
func decodesTo(h string, mac []byte) bool {
	h = strings.TrimSpace(h)
	if len(h) > 7 && strings.EqualFold(h[:7], "sha256=") {
		h = h[7:]
	}
	if b, err := hex.DecodeString(h); err == nil && bytes.Equal(b, mac) {
		return true
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(h); err == nil && bytes.Equal(b, mac) {
			return true
		}
	}
	return false
}

// FuzzSecretHeader: the shared-secret header lets a request in exactly when it holds one of the
// configured secrets, byte for byte (no trimming, no case folding, no prefix match), and a
// refusal never echoes what was sent.
func FuzzSecretHeader(f *testing.F) {
	const s1, s2 = "first-secret-0123456789", "second-secret-0123456789"
	for _, h := range []string{s1, s2, "", s1 + " ", strings.ToUpper(s1), s1[:len(s1)-1], s1 + s2, s1 + "," + s2, "\x00" + s1} {
		f.Add(h)
	}
	a, err := ingest.NewAuth(ingest.AuthConfig{SecretHeader: "X-Webhook-Secret", Secrets: []string{" " + s1, s2}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, got string) {
		r := httptest.NewRequest(http.MethodPost, "/webhooks/saleassist", nil)
		r.Header["X-Webhook-Secret"] = []string{got}
		fail := a.CheckRequest(r)
		if want := got == s1 || got == s2; (fail == nil) != want {
			t.Fatalf("secret %q: want accepted=%v, got %+v", got, want, fail)
		}
		if fail != nil && len(got) >= 4 && strings.Contains(fail.Message, got) {
			t.Fatalf("refusal echoes the header: %+v", fail)
		}
	})
}

// FuzzSource: the client address is the peer unless the peer is a trusted proxy, and then an
// address the proxy's headers name; never an address a request made up from anywhere else, since
// WEBHOOK_ALLOWED_CIDRS decides on it.
func FuzzSource(f *testing.F) {
	for _, s := range [][3]string{
		{"10.0.0.1:443", "203.0.113.7", "198.51.100.1, 10.0.0.2"},
		{"10.0.0.1:443", "", "198.51.100.1, 10.0.0.2"},
		{"10.0.0.1:443", "", "10.0.0.3, 10.0.0.2"},
		{"192.0.2.1:5000", "203.0.113.7", "198.51.100.1"},
		{"[::ffff:10.0.0.1]:443", "::ffff:203.0.113.7", "garbage, 198.51.100.1"},
		{"10.0.0.1", "not an ip", ",,,"},
		{"", "", ""},
		{"10.0.0.1:1", "fe80::1%eth0", "1.2.3.4%x"},
	} {
		f.Add(s[0], s[1], s[2])
	}
	a, err := ingest.NewAuth(ingest.AuthConfig{SecretHeader: "X-Webhook-Secret", Secrets: []string{"first-secret-0123456789"},
		TrustedProxies: []string{"10.0.0.0/8", "::ffff:10.0.0.0/104"}})
	if err != nil {
		f.Fatal(err)
	}
	trusted := netip.MustParsePrefix("10.0.0.0/8")
	f.Fuzz(func(t *testing.T, remote, cf, xff string) {
		r := httptest.NewRequest(http.MethodPost, "/webhooks/saleassist", nil)
		r.RemoteAddr = remote
		r.Header["Cf-Connecting-Ip"] = []string{cf}
		r.Header["X-Forwarded-For"] = []string{xff}
		src := a.Source(r)
		peer := peerOf(remote)
		if !peer.IsValid() || !trusted.Contains(peer) {
			if src != peer {
				t.Fatalf("untrusted peer %q: source %v, want the peer %v", remote, src, peer)
			}
			return
		}
		if src == peer {
			return
		}
		named := false
		for _, s := range append([]string{cf}, strings.Split(xff, ",")...) {
			if ip, err := netip.ParseAddr(strings.TrimSpace(s)); err == nil && ip.Unmap() == src {
				named = true
			}
		}
		if !named {
			t.Fatalf("source %v is neither the peer %q nor named by its headers (%q, %q)", src, remote, cf, xff)
		}
	})
}

// peerOf is the address of RemoteAddr (host:port, or a bare address).
func peerOf(remote string) netip.Addr {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	ip, _ := netip.ParseAddr(host)
	return ip.Unmap()
}

// FuzzTranscode: whatever bytes arrive under whatever charset label, Transcode never panics and
// either refuses (ErrUnsupportedCharset, or ErrTooLarge past the limit) or returns valid UTF-8
// within the limit; UTF-8 and US-ASCII labels and no label return the body untouched, invalid
// bytes and all; a Latin-1 body comes back as the same characters.
func FuzzTranscode(f *testing.F) {
	for _, s := range []struct {
		charset string
		body    string
	}{
		{"iso-8859-1", "{\"name\":\"Jos\xe9\"}"}, {"windows-1252", "\x93quoted\x94"}, {"utf-16", "\xff\xfe{\x00}\x00"},
		{"utf-16be", "\x00{"}, {"shift_jis", "\x82\xa0"}, {"utf-8", "\xff"}, {"", "\xff"}, {"us-ascii", "\x80"},
		{"iso-2022-kr", "x"}, {"x-klingon", "x"}, {"latin1", ""}, {"ibm037", "\xc1"}, {"gb18030", "\x81\x30\x81\x30"},
	} {
		f.Add(s.charset, []byte(s.body), uint16(64))
	}
	f.Fuzz(func(t *testing.T, charset string, body []byte, limit16 uint16) {
		limit := int64(limit16)
		got, err := ingest.Transcode(charset, body, limit)
		switch charset {
		case "", "utf-8", "utf8", "us-ascii", "ascii":
			if err != nil || !bytes.Equal(got, body) {
				t.Fatalf("charset %q changed the body: %q → %q, %v", charset, body, got, err)
			}
			return
		}
		if err != nil {
			if !errors.Is(err, ingest.ErrUnsupportedCharset) && !errors.Is(err, ingest.ErrTooLarge) {
				t.Fatalf("charset %q: unexpected error %v", charset, err)
			}
			return
		}
		if !utf8.Valid(got) && !bytes.Equal(got, body) {
			t.Fatalf("charset %q: %q became invalid UTF-8 %q", charset, body, got)
		}
		if int64(len(got)) > limit && !bytes.Equal(got, body) {
			t.Fatalf("charset %q: %d bytes over the limit of %d", charset, len(got), limit)
		}
		if charset == "iso-8859-1" && len(body) > 0 && body[0] >= 0x20 && body[0] < 0x80 && got[0] != body[0] {
			t.Fatalf("ASCII %q changed to %q", body[0], got[0])
		}
	})
}
