package ingest_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/saleassist-pipeline/pipeline/internal/testkit"
	"github.com/saleassist-pipeline/pipeline/pkg/account"
	"github.com/saleassist-pipeline/pipeline/pkg/ingest"
)

// The request-path parsers of the ingest beyond those of pkg/accept (FuzzDecodeContent, FuzzGzipRoundTrip, FuzzTranscode): the signature header, the
// shared-secret comparison and the client address behind proxies. Each decides whether a request
// is let in, so each checks that exactly the right inputs pass.

const fuzzKey = "fuzz-signing-key-0123456789"

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
	// The default account as the program builds it from the same secrets.
	acct := account.EnvDefault([]string{" " + s1, s2}, "X-Webhook-Secret", "")
	f.Fuzz(func(t *testing.T, got string) {
		r := httptest.NewRequest(http.MethodPost, "/webhooks/saleassist", nil)
		r.Header["X-Webhook-Secret"] = []string{got}
		fail := a.CheckRequest(r, &acct)
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
