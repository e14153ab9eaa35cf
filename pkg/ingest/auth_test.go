package ingest_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/internal/testkit"
	"github.com/saleassist-pipeline/pipeline/pkg/ingest"
)

func TestNewAuthRefusesBadConfig(t *testing.T) {
	t.Parallel()
	const short = "short-key"

	tests := []struct {
		name    string
		cfg     ingest.AuthConfig
		setting string // the message must name it
	}{
		{"NothingConfigured", ingest.AuthConfig{Secrets: []string{testSecret}}, "WEBHOOK_SECRET_HEADER"},
		{"BlankHeaders", ingest.AuthConfig{SecretHeader: "  ", SignatureHeader: "\t", Secrets: []string{testSecret}}, "WEBHOOK_SIGNATURE_HEADER"},
		{"NoSecrets", ingest.AuthConfig{SecretHeader: ingest.DefaultSecretHeader}, "WEBHOOK_SECRETS"},
		{"ShortSecret", ingest.AuthConfig{SecretHeader: ingest.DefaultSecretHeader, Secrets: []string{testSecret, short}}, "at least 16"},
		{"SecretHeaderWithSpace", ingest.AuthConfig{SecretHeader: "X Webhook Secret", Secrets: []string{testSecret}}, "WEBHOOK_SECRET_HEADER"},
		{"SecretHeaderWithColon", ingest.AuthConfig{SecretHeader: "X-Webhook-Secret:", Secrets: []string{testSecret}}, "WEBHOOK_SECRET_HEADER"},
		{"SignatureHeaderWithSlash", ingest.AuthConfig{SignatureHeader: "X-Sig/nature", SignatureSecrets: []string{testSigKey}}, "WEBHOOK_SIGNATURE_HEADER"},
		{"ShortSignatureKey", ingest.AuthConfig{SignatureHeader: testSigHeader, SignatureSecrets: []string{testSigKey, short}}, "WEBHOOK_SIGNATURE_SECRETS"},
		{"NoSignatureKey", ingest.AuthConfig{SignatureHeader: testSigHeader}, "WEBHOOK_SIGNATURE_SECRETS"},
		{"ShortSignatureFallbackKey", ingest.AuthConfig{SignatureHeader: testSigHeader, Secrets: []string{short}}, "WEBHOOK_SECRETS"},
		{"BadAllowedCIDR", ingest.AuthConfig{SecretHeader: ingest.DefaultSecretHeader, Secrets: []string{testSecret}, AllowedCIDRs: []string{"203.0.113.0/33"}}, "WEBHOOK_ALLOWED_CIDRS"},
		{"BadAllowedAddress", ingest.AuthConfig{SecretHeader: ingest.DefaultSecretHeader, Secrets: []string{testSecret}, AllowedCIDRs: []string{"sender.example.com"}}, "WEBHOOK_ALLOWED_CIDRS"},
		{"BadTrustedProxy", ingest.AuthConfig{SecretHeader: ingest.DefaultSecretHeader, Secrets: []string{testSecret}, TrustedProxies: []string{"10.0.0.0/8", "10.0.0/8"}}, "TRUSTED_PROXY_CIDRS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a, err := ingest.NewAuth(tt.cfg)
			require.Error(t, err)
			require.Nil(t, a)
			require.Contains(t, err.Error(), tt.setting)
			require.NotContains(t, err.Error(), short, "the message must not echo a key")
		})
	}
}

func TestNewAuthAcceptsGoodConfig(t *testing.T) {
	t.Parallel()
	a, err := ingest.NewAuth(ingest.AuthConfig{
		SecretHeader:    " x-webhook-secret ",
		Secrets:         []string{testSecret},
		SignatureHeader: "x-saleassist-signature",
		AllowedCIDRs:    []string{"", "203.0.113.7", "198.51.100.0/24", "2001:db8::/32", "::ffff:192.0.2.0/120"},
		TrustedProxies:  []string{"10.0.0.0/8"},
	})
	require.NoError(t, err)
	require.Equal(t, "X-Webhook-Secret", a.SecretHeader(), "header names are canonical")
	require.Equal(t, testSigHeader, a.SignatureHeader())
	require.True(t, a.NeedsBody())

	// Without SignatureSecrets, the shared secrets sign.
	req := httptest.NewRequest(http.MethodPost, ingest.WebhookPath, nil)
	req.Header.Set(testSigHeader, testkit.HMACHex(testSecret, []byte("body")))
	require.Nil(t, a.CheckSignature(req, []byte("body")))

	a, err = ingest.NewAuth(ingest.AuthConfig{SecretHeader: ingest.DefaultSecretHeader, Secrets: []string{testSecret}})
	require.NoError(t, err)
	require.False(t, a.NeedsBody())
	require.Empty(t, a.SignatureHeader())
	require.Nil(t, a.CheckSignature(req, []byte("other body")), "no signature configured, none checked")
}

func TestCheckSignature(t *testing.T) {
	t.Parallel()
	a, err := ingest.NewAuth(ingest.AuthConfig{SignatureHeader: testSigHeader, SignatureSecrets: []string{testSigKey, testSigKey2}})
	require.NoError(t, err)
	body := testkit.Fixture(t)
	check := func(t *testing.T, sig string, b []byte) *ingest.Failure {
		t.Helper()
		req := httptest.NewRequest(http.MethodPost, ingest.WebhookPath, bytes.NewReader(b))
		if sig != "" {
			req.Header.Set(testSigHeader, sig)
		}
		return a.CheckSignature(req, b)
	}

	encodings := map[string]func([]byte) string{
		"HexLower":     hex.EncodeToString,
		"HexUpper":     func(b []byte) string { return strings.ToUpper(hex.EncodeToString(b)) },
		"Base64Std":    base64.StdEncoding.EncodeToString,
		"Base64StdRaw": base64.RawStdEncoding.EncodeToString,
		"Base64URL":    base64.URLEncoding.EncodeToString,
		"Base64URLRaw": base64.RawURLEncoding.EncodeToString,
	}
	t.Run("Accepted", func(t *testing.T) {
		t.Parallel()
		for _, key := range []string{testSigKey, testSigKey2} {
			sum := testkit.HMAC(key, body)
			for name, enc := range encodings {
				for _, prefix := range []string{"", "sha256="} {
					sig := prefix + enc(sum)
					require.Nil(t, check(t, sig, body), "%s %q under key %d", name, sig, map[string]int{testSigKey: 1, testSigKey2: 2}[key])
					require.Nil(t, check(t, " "+sig+"\t", body), "%s %q padded", name, sig)
				}
			}
		}
		// Check that the URL alphabet was in fact exercised: some signature needs '-' or '_'.
		found := false
		for i := range 64 {
			s := base64.RawURLEncoding.EncodeToString(testkit.HMAC(testSigKey, append(bytes.Clone(body), byte(i))))
			if strings.ContainsAny(s, "-_") {
				b := append(bytes.Clone(body), byte(i))
				require.Nil(t, check(t, s, b))
				require.Nil(t, check(t, "sha256="+s, b))
				found = true
				break
			}
		}
		require.True(t, found)
	})

	t.Run("Refused", func(t *testing.T) {
		t.Parallel()
		sum := testkit.HMAC(testSigKey, body)
		tests := []struct {
			name   string
			sig    string
			body   []byte
			reason string
		}{
			{"Missing", "", body, ingest.ReasonMissingSignature},
			{"Blank", "   ", body, ingest.ReasonMissingSignature},
			{"DifferentBody", hex.EncodeToString(sum), append(bytes.Clone(body), ' '), ingest.ReasonBadSignature},
			{"UnknownKey", hex.EncodeToString(testkit.HMAC("a-third-key-nobody-configured", body)), body, ingest.ReasonBadSignature},
			{"Truncated", hex.EncodeToString(sum)[:62], body, ingest.ReasonBadSignature},
			{"SHA1Prefix", "sha1=" + hex.EncodeToString(sum), body, ingest.ReasonBadSignature},
			{"PrefixOnly", "sha256=", body, ingest.ReasonBadSignature},
			{"Garbage", "not a signature at all", body, ingest.ReasonBadSignature},
			{"PlainSHA256", hex.EncodeToString(func() []byte { s := sha256.Sum256(body); return s[:] }()), body, ingest.ReasonBadSignature},
			{"TheKeyItself", testSigKey, body, ingest.ReasonBadSignature},
		}
		for _, tt := range tests {
			f := check(t, tt.sig, tt.body)
			require.NotNil(t, f, tt.name)
			require.Equal(t, tt.reason, f.Reason, tt.name)
			require.Equal(t, http.StatusUnauthorized, f.Status, tt.name)
			require.Contains(t, f.Message, testSigHeader, tt.name)
			require.Contains(t, f.Message, "HMAC-SHA256", tt.name)
			require.NotContains(t, f.Message, testSigKey, tt.name)
			require.NotContains(t, f.Message, testSigKey2, tt.name)
		}
	})
}

// TestSignatureOverRawBody posts gzip bodies through the server: the signature covers the bytes
// as sent, so one computed over the compressed bytes is accepted and one over the decompressed
// JSON is refused (and, unauthenticated, not kept).
func TestSignatureOverRawBody(t *testing.T) {
	t.Parallel()
	b := setup(t, withAuth(ingest.AuthConfig{SignatureHeader: testSigHeader, SignatureSecrets: []string{testSigKey}}))
	fix := testkit.Fixture(t)
	zipped := testkit.Gzip(t, fix)

	post := func(sig string) response {
		return b.do(t, http.MethodPost, ingest.WebhookPath, bytes.NewReader(zipped),
			testSigHeader, sig, "Content-Type", jsonUTF8, "Content-Encoding", "gzip")
	}

	msg := requireError(t, post(testkit.HMACHex(testSigKey, fix)), http.StatusUnauthorized, "unauthorized")
	require.Contains(t, msg, testSigHeader)
	requireError(t, post(""), http.StatusUnauthorized, "unauthorized")
	require.Zero(t, b.msgs(t))
	info, err := b.quarantine.Info(t.Context())
	require.NoError(t, err)
	require.Zero(t, info.State.Msgs, "an unauthenticated body is not kept")
	require.Equal(t, 1.0, testkit.RequireMetric(t, b.reg, "saleassist_ingest_auth_failures_total", map[string]string{"account": "default", "reason": ingest.ReasonBadSignature}))
	require.Equal(t, 1.0, testkit.RequireMetric(t, b.reg, "saleassist_ingest_auth_failures_total", map[string]string{"account": "default", "reason": ingest.ReasonMissingSignature}))

	ab := requireAccepted(t, post("sha256="+testkit.HMACHex(testSigKey, zipped)))
	require.Equal(t, testkit.FixtureID, ab.EventID)
	require.Equal(t, uint64(1), b.msgs(t))
}

func TestSource(t *testing.T) {
	t.Parallel()
	a, err := ingest.NewAuth(ingest.AuthConfig{
		SecretHeader:   ingest.DefaultSecretHeader,
		Secrets:        []string{testSecret},
		TrustedProxies: []string{"10.0.0.0/8", "192.0.2.1", "fd00::/8", "::ffff:172.16.0.0/108"},
	})
	require.NoError(t, err)

	tests := []struct {
		name   string
		remote string
		header [][2]string // in order; a name may repeat
		want   string
	}{
		// An untrusted peer names nobody: anyone can send these headers.
		{"UntrustedPeer", "198.51.100.1:5000", nil, "198.51.100.1"},
		{"UntrustedPeerSpoofsXFF", "198.51.100.1:5000", [][2]string{{"X-Forwarded-For", "203.0.113.5"}}, "198.51.100.1"},
		{"UntrustedPeerSpoofsCF", "198.51.100.1:5000", [][2]string{{"Cf-Connecting-Ip", "203.0.113.6"}, {"X-Forwarded-For", "203.0.113.5"}}, "198.51.100.1"},
		{"UntrustedPeerSpoofsTrustedXFF", "198.51.100.1:5000", [][2]string{{"X-Forwarded-For", "10.0.0.9"}}, "198.51.100.1"},
		// Behind a trusted proxy.
		{"TrustedNoHeaders", "10.1.2.3:443", nil, "10.1.2.3"},
		{"CFWins", "10.1.2.3:443", [][2]string{{"X-Forwarded-For", "203.0.113.5"}, {"Cf-Connecting-Ip", "203.0.113.6"}}, "203.0.113.6"},
		{"CFGarbageFallsBackToXFF", "10.1.2.3:443", [][2]string{{"Cf-Connecting-Ip", "unknown"}, {"X-Forwarded-For", "203.0.113.5"}}, "203.0.113.5"},
		{"XFFSingleHop", "10.1.2.3:443", [][2]string{{"X-Forwarded-For", "203.0.113.5"}}, "203.0.113.5"},
		{"XFFClientSpoofIgnored", "10.1.2.3:443", [][2]string{{"X-Forwarded-For", "1.2.3.4, 203.0.113.5"}}, "203.0.113.5"},
		{"XFFMultiHopTrustedChain", "10.1.2.3:443", [][2]string{{"X-Forwarded-For", "1.2.3.4, 203.0.113.5, 192.0.2.1, 10.9.9.9"}}, "203.0.113.5"},
		{"XFFSeveralHeaderLines", "10.1.2.3:443", [][2]string{{"X-Forwarded-For", "1.2.3.4"}, {"X-Forwarded-For", "203.0.113.5,10.0.0.2"}}, "203.0.113.5"},
		{"XFFNoSpaces", "192.0.2.1:443", [][2]string{{"X-Forwarded-For", "203.0.113.5,10.0.0.2,10.0.0.3"}}, "203.0.113.5"},
		{"XFFAllTrusted", "10.1.2.3:443", [][2]string{{"X-Forwarded-For", "10.0.0.2, 192.0.2.1"}}, "10.1.2.3"},
		{"XFFGarbageHopStops", "10.1.2.3:443", [][2]string{{"X-Forwarded-For", "203.0.113.5, garbage"}}, "10.1.2.3"},
		{"XFFGarbageLeftOfClient", "10.1.2.3:443", [][2]string{{"X-Forwarded-For", "garbage, 203.0.113.5"}}, "203.0.113.5"},
		// IPv6 and IPv4-mapped addresses.
		{"IPv6UntrustedPeer", "[2001:db8::1]:443", [][2]string{{"X-Forwarded-For", "203.0.113.5"}}, "2001:db8::1"},
		{"IPv6TrustedPeer", "[fd00::1]:443", [][2]string{{"X-Forwarded-For", "2001:db8::5, fd12::7"}}, "2001:db8::5"},
		{"IPv6CF", "[fd00::1]:443", [][2]string{{"Cf-Connecting-Ip", "2001:db8::6"}}, "2001:db8::6"},
		{"MappedPeerTrusted", "[::ffff:10.0.0.1]:443", [][2]string{{"Cf-Connecting-Ip", "::ffff:203.0.113.9"}}, "203.0.113.9"},
		{"MappedPeerUntrusted", "[::ffff:198.51.100.1]:443", [][2]string{{"X-Forwarded-For", "203.0.113.5"}}, "198.51.100.1"},
		{"MappedTrustedHop", "10.1.2.3:443", [][2]string{{"X-Forwarded-For", "203.0.113.5, ::ffff:10.0.0.2"}}, "203.0.113.5"},
		{"MappedTrustedRange", "172.16.5.5:443", [][2]string{{"X-Forwarded-For", "203.0.113.5"}}, "203.0.113.5"},
		{"MappedRangeBoundary", "172.32.0.1:443", [][2]string{{"X-Forwarded-For", "203.0.113.5"}}, "172.32.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest(http.MethodPost, ingest.WebhookPath, nil)
			req.RemoteAddr = tt.remote
			for _, h := range tt.header {
				req.Header.Add(h[0], h[1])
			}
			require.Equal(t, netip.MustParseAddr(tt.want), a.Source(req))
		})
	}
}

func TestAllowedCIDRs(t *testing.T) {
	t.Parallel()
	a, err := ingest.NewAuth(ingest.AuthConfig{
		SecretHeader:   ingest.DefaultSecretHeader,
		Secrets:        []string{testSecret},
		AllowedCIDRs:   []string{"203.0.113.7", "198.51.100.0/24", "2001:db8::1"},
		TrustedProxies: []string{"10.0.0.0/8"},
	})
	require.NoError(t, err)

	tests := []struct {
		remote, xff string
		allowed     bool
	}{
		{"203.0.113.7:1", "", true},
		{"203.0.113.8:1", "", false},
		{"198.51.100.0:1", "", true},
		{"198.51.100.255:1", "", true},
		{"198.51.101.1:1", "", false},
		{"[::ffff:203.0.113.7]:1", "", true},
		{"[2001:db8::1]:1", "", true},
		{"[2001:db8::2]:1", "", false},
		{"10.0.0.1:1", "", false},               // the proxy itself is not a sender
		{"10.0.0.1:1", "203.0.113.7", true},     // the client it names is
		{"10.0.0.1:1", "203.0.113.8", false},    //
		{"198.51.100.9:1", "203.0.113.8", true}, // an untrusted peer's XFF is ignored
		{"203.0.113.8:1", "203.0.113.7", false}, // even when it names an allowed address
		{"not-an-address", "", false},           // fail closed
	}
	for _, tt := range tests {
		req := httptest.NewRequest(http.MethodPost, ingest.WebhookPath, nil)
		req.RemoteAddr = tt.remote
		if tt.xff != "" {
			req.Header.Set("X-Forwarded-For", tt.xff)
		}
		req.Header.Set(ingest.DefaultSecretHeader, testSecret)
		f := a.CheckRequest(req, defaultAccount)
		if tt.allowed {
			require.Nil(t, f, "%s via %q", tt.remote, tt.xff)
			continue
		}
		require.NotNil(t, f, "%s via %q", tt.remote, tt.xff)
		require.Equal(t, ingest.ReasonSourceIP, f.Reason)
		require.Equal(t, http.StatusForbidden, f.Status)
		require.Contains(t, f.Message, "WEBHOOK_ALLOWED_CIDRS")
		require.Contains(t, f.Message, "TRUSTED_PROXY_CIDRS")
	}

	// The source is checked before the secret: a wrong address learns nothing about the secret.
	req := httptest.NewRequest(http.MethodPost, ingest.WebhookPath, nil)
	req.RemoteAddr = "192.0.2.1:1"
	f := a.CheckRequest(req, defaultAccount)
	require.NotNil(t, f)
	require.Equal(t, ingest.ReasonSourceIP, f.Reason)
}

// TestBehindProxy drives the server as a load balancer would: httptest's client connects from
// 127.0.0.1, configured as a trusted proxy, and names the real client in headers.
func TestBehindProxy(t *testing.T) {
	t.Parallel()
	fix := testkit.Fixture(t)

	t.Run("Trusted", func(t *testing.T) {
		t.Parallel()
		b := setup(t, withAuth(ingest.AuthConfig{
			SecretHeader:   ingest.DefaultSecretHeader,
			AllowedCIDRs:   []string{"203.0.113.0/24"},
			TrustedProxies: []string{"127.0.0.0/8", "::1", "10.0.0.0/8"},
		}))
		post := func(id string, headers ...string) response {
			return b.do(t, http.MethodPost, ingest.WebhookPath, bytes.NewReader(testkit.WithID(fix, id)),
				append([]string{ingest.DefaultSecretHeader, testSecret, "Content-Type", jsonUTF8}, headers...)...)
		}

		require.Equal(t, "xff", requireAccepted(t, post("xff", "X-Forwarded-For", "198.51.100.1, 203.0.113.50, 10.0.0.7")).EventID)
		require.Equal(t, "cf", requireAccepted(t, post("cf", "Cf-Connecting-Ip", "203.0.113.9", "X-Forwarded-For", "198.51.100.1")).EventID)
		msg := requireError(t, post("spoof", "X-Forwarded-For", "203.0.113.50, 198.51.100.1"), http.StatusForbidden, "forbidden")
		require.Contains(t, msg, "198.51.100.1", "the message names the address refused")
		require.Contains(t, msg, "WEBHOOK_ALLOWED_CIDRS")
		requireError(t, post("proxy-itself"), http.StatusForbidden, "forbidden")
		require.Equal(t, uint64(2), b.msgs(t))
		require.Equal(t, 2.0, testkit.RequireMetric(t, b.reg, "saleassist_ingest_auth_failures_total", map[string]string{"account": "default", "reason": ingest.ReasonSourceIP}))
	})
	t.Run("Untrusted", func(t *testing.T) {
		t.Parallel()
		// 127.0.0.1 is not a trusted proxy here: its X-Forwarded-For is a spoof, ignored.
		b := setup(t, withAuth(ingest.AuthConfig{
			SecretHeader:   ingest.DefaultSecretHeader,
			AllowedCIDRs:   []string{"203.0.113.0/24"},
			TrustedProxies: []string{"10.0.0.0/8"},
		}))
		for _, h := range []string{"X-Forwarded-For", "Cf-Connecting-Ip"} {
			res := b.do(t, http.MethodPost, ingest.WebhookPath, bytes.NewReader(fix),
				ingest.DefaultSecretHeader, testSecret, "Content-Type", jsonUTF8, h, "203.0.113.50")
			msg := requireError(t, res, http.StatusForbidden, "forbidden")
			require.Contains(t, msg, "127.0.0.1")
		}
		require.Zero(t, b.msgs(t))
		require.Equal(t, 2.0, testkit.RequireMetric(t, b.reg, "saleassist_ingest_auth_failures_total", map[string]string{"account": "default", "reason": ingest.ReasonSourceIP}))
	})
}

// Configuration corner cases found in review: an IPv4-mapped range wider than the mapped space is
// refused rather than silently matching nothing, and the sha256= prefix is case-insensitive.
func TestAuthCornerCases(t *testing.T) {
	t.Parallel()
	_, err := ingest.NewAuth(ingest.AuthConfig{SecretHeader: ingest.DefaultSecretHeader, Secrets: []string{testSecret},
		TrustedProxies: []string{"::ffff:0:0/90"}})
	require.ErrorContains(t, err, "TRUSTED_PROXY_CIDRS")
	a, err := ingest.NewAuth(ingest.AuthConfig{SignatureHeader: "X-Signature", SignatureSecrets: []string{testSecret}})
	require.NoError(t, err)
	body := []byte(`{"event_type":"x","payload":{}}`)
	r := httptest.NewRequest(http.MethodPost, ingest.WebhookPath, nil)
	r.Header.Set("X-Signature", "SHA256="+testkit.HMACHex(testSecret, body))
	require.Nil(t, a.CheckSignature(r, body))
}
