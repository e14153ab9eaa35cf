package ingest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/saleassist-pipeline/pipeline/pkg/account"
)

// AuthConfig says how requests prove they come from SaleAssist. Every configured check must pass;
// at least one of the shared-secret header and the signature must be configured.
//
// The shared secret is the account's: a request to an account's URL must carry one of that
// account's secrets (account.Account.AcceptsSecret) in its SecretHeader, else in this
// SecretHeader. The signature, source ranges and trusted proxies are the installation's and apply
// to every account.
type AuthConfig struct {
	// SecretHeader carries the secret of accounts that name no header of their own. Empty turns
	// the default account's shared-secret check off (then a signature is required); other
	// accounts' secrets are then read from DefaultSecretHeader.
	SecretHeader string
	// Secrets are the default account's (WEBHOOK_SECRETS, or the generated one): checked here
	// (length, strength) and the signature keys when SignatureSecrets is empty. The program
	// builds the default account from them (account.EnvDefault), which is what requests are
	// checked against.
	Secrets []string
	// SignatureHeader, when set, must carry HMAC-SHA256 of the raw body (as sent, before any
	// decompression) under one of SignatureSecrets, hex or base64, optionally prefixed "sha256=".
	SignatureHeader  string
	SignatureSecrets []string
	// AllowedCIDRs, when set, are the only source addresses accepted.
	AllowedCIDRs []string
	// TrustedProxies are the addresses of proxies (a load balancer, Cloudflare) whose
	// CF-Connecting-IP and X-Forwarded-For headers name the real client. Other peers' such headers
	// are ignored: anyone can send them.
	TrustedProxies []string
}

// Auth checks requests against an AuthConfig and the account of their URL. Safe for concurrent use.
type Auth struct {
	secretHeader string
	sigHeader    string
	sigKeys      [][]byte
	allowed      []netip.Prefix
	proxies      []netip.Prefix
}

// Failure is why a request was refused: a reason for the metrics, the status and a message for
// the sender that names what is expected and never echoes a secret.
type Failure struct {
	Reason  string
	Status  int
	Message string
}

// Auth failure reasons, the values of saleassist_ingest_auth_failures_total's reason label.
const (
	ReasonMissingSecret    = "missing"
	ReasonMismatch         = "mismatch"
	ReasonMissingSignature = "missing_signature"
	ReasonBadSignature     = "bad_signature"
	ReasonSourceIP         = "source_ip"
)

// NewAuth checks c and returns its Auth. A configuration that would accept unauthenticated
// requests, or that cannot be read, is an error: the ingest refuses to start rather than run open.
func NewAuth(c AuthConfig) (*Auth, error) {
	a := &Auth{secretHeader: http.CanonicalHeaderKey(strings.TrimSpace(c.SecretHeader)), sigHeader: http.CanonicalHeaderKey(strings.TrimSpace(c.SignatureHeader))}
	if a.secretHeader == "" && a.sigHeader == "" {
		return nil, errors.New("no authentication configured: set WEBHOOK_SECRET_HEADER (shared secret) or WEBHOOK_SIGNATURE_HEADER (HMAC signature); the ingest never accepts unauthenticated webhooks")
	}
	if a.secretHeader != "" {
		if err := checkHeaderName("WEBHOOK_SECRET_HEADER", a.secretHeader); err != nil {
			return nil, err
		}
		if err := CheckSecrets(c.Secrets); err != nil {
			return nil, err
		}
	}
	if a.sigHeader != "" {
		if err := checkHeaderName("WEBHOOK_SIGNATURE_HEADER", a.sigHeader); err != nil {
			return nil, err
		}
		keys := c.SignatureSecrets
		if len(keys) == 0 {
			keys = c.Secrets
		}
		if err := CheckSecrets(keys); err != nil {
			return nil, fmt.Errorf("signature keys (WEBHOOK_SIGNATURE_SECRETS, else WEBHOOK_SECRETS): %w", err)
		}
		for _, k := range keys {
			a.sigKeys = append(a.sigKeys, []byte(strings.TrimSpace(k)))
		}
	}
	var err error
	if a.allowed, err = parsePrefixes("WEBHOOK_ALLOWED_CIDRS", c.AllowedCIDRs); err != nil {
		return nil, err
	}
	if a.proxies, err = parsePrefixes("TRUSTED_PROXY_CIDRS", c.TrustedProxies); err != nil {
		return nil, err
	}
	return a, nil
}

// SecretHeader is the header carrying the shared secret of accounts without a header of their
// own ("" when the default account's check is off).
func (a *Auth) SecretHeader() string { return a.secretHeader }

// SecretHeaderOf is the header carrying acct's shared secret: its own, else the ingest's. It is
// "" (no shared-secret check) only for the default account of an ingest configured without one,
// which then requires a signature; every other account always has its secret checked.
func (a *Auth) SecretHeaderOf(acct *account.Account) string {
	switch {
	case acct.SecretHeader != "":
		return http.CanonicalHeaderKey(strings.TrimSpace(acct.SecretHeader))
	case a.secretHeader != "" || acct.ID == account.Default:
		return a.secretHeader
	}
	return DefaultSecretHeader
}

// SignatureHeader is the header carrying the body signature ("" when that check is off).
func (a *Auth) SignatureHeader() string { return a.sigHeader }

// NeedsBody reports whether Check needs the raw body (a signature is configured).
func (a *Auth) NeedsBody() bool { return a.sigHeader != "" }

// Source returns the client address of r: the peer, or, when the peer is a trusted proxy, the
// client the proxy names (CF-Connecting-IP, else the nearest untrusted X-Forwarded-For entry).
func (a *Auth) Source(r *http.Request) netip.Addr {
	peer := addrOf(r.RemoteAddr)
	if !a.trusted(peer) {
		return peer
	}
	if ip, err := netip.ParseAddr(strings.TrimSpace(r.Header.Get("Cf-Connecting-Ip"))); err == nil {
		return ip.Unmap()
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		ip, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		ip = ip.Unmap()
		if !a.trusted(ip) {
			return ip
		}
	}
	return peer
}

// CheckRequest runs the checks that need no body: source address and acct's shared secret.
func (a *Auth) CheckRequest(r *http.Request, acct *account.Account) *Failure {
	if len(a.allowed) > 0 {
		src := a.Source(r)
		if !contains(a.allowed, src) {
			return &Failure{ReasonSourceIP, http.StatusForbidden, fmt.Sprintf(
				"requests from %s are not accepted: add the sender's address range to WEBHOOK_ALLOWED_CIDRS (behind a proxy, add the proxy to TRUSTED_PROXY_CIDRS)", src)}
		}
	}
	header := a.SecretHeaderOf(acct)
	if header == "" {
		return nil
	}
	// Where the operator finds the secret: the environment for the default account (as before
	// accounts existed), ingestctl for the others. Neither names the account to a sender that
	// has not proved it knows a secret.
	where := "the secret printed when the ingest first started"
	against := "WEBHOOK_SECRETS or the data directory's webhook-secret file"
	if acct.ID != account.Default {
		where = "this URL's account's secret (printed once by `ingestctl accounts add`, or a new one by `ingestctl accounts rotate-secret ID`)"
		against = "the secret ingestctl printed for this URL's account (`ingestctl accounts rotate-secret ID` issues a new one)"
	}
	got := r.Header.Get(header)
	if got == "" {
		return &Failure{ReasonMissingSecret, http.StatusUnauthorized,
			"missing header " + header + ": add it to the webhook's custom headers in SaleAssist with " + where}
	}
	if !acct.AcceptsSecret(got) {
		return &Failure{ReasonMismatch, http.StatusUnauthorized,
			"header " + header + " does not hold a configured secret: check the value in SaleAssist's custom headers against " + against}
	}
	return nil
}

// CheckSignature verifies the body signature, when one is configured. raw is the body exactly as
// sent.
func (a *Auth) CheckSignature(r *http.Request, raw []byte) *Failure {
	if a.sigHeader == "" {
		return nil
	}
	got := strings.TrimSpace(r.Header.Get(a.sigHeader))
	if got == "" {
		return &Failure{ReasonMissingSignature, http.StatusUnauthorized,
			"missing header " + a.sigHeader + ": sign the raw body with HMAC-SHA256 and send it hex or base64 encoded (optionally prefixed sha256=)"}
	}
	sig := decodeSignature(got)
	ok := false
	for _, k := range a.sigKeys {
		mac := hmac.New(sha256.New, k)
		mac.Write(raw)
		// Every key is tried, so timing does not tell which one matched.
		ok = hmac.Equal(mac.Sum(nil), sig) || ok
	}
	if !ok {
		return &Failure{ReasonBadSignature, http.StatusUnauthorized,
			"header " + a.sigHeader + " is not a valid HMAC-SHA256 of the body under a configured key: sign the body bytes exactly as sent"}
	}
	return nil
}

// decodeSignature reads a SHA-256 HMAC written as hex or base64 (standard or URL alphabet, padded
// or not), optionally prefixed "sha256=". Anything else is nil, which matches no MAC.
func decodeSignature(s string) []byte {
	if len(s) > 7 && strings.EqualFold(s[:7], "sha256=") {
		s = s[7:]
	}
	if b, err := hex.DecodeString(s); err == nil && len(b) == sha256.Size {
		return b
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) == sha256.Size {
			return b
		}
	}
	return nil
}

func (a *Auth) trusted(ip netip.Addr) bool { return contains(a.proxies, ip) }

func contains(prefixes []netip.Prefix, ip netip.Addr) bool {
	for _, p := range prefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

func addrOf(remote string) netip.Addr {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	ip, _ := netip.ParseAddr(host)
	return ip.Unmap()
}

// parsePrefixes reads CIDRs (a bare address is its own /32 or /128).
func parsePrefixes(name string, list []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range list {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		if !strings.Contains(s, "/") {
			ip, err := netip.ParseAddr(s)
			if err != nil {
				return nil, fmt.Errorf("%s: %q is neither an address nor a CIDR such as 203.0.113.0/24", name, s)
			}
			out = append(out, netip.PrefixFrom(ip.Unmap(), ip.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("%s: %q is not a CIDR such as 203.0.113.0/24: %w", name, s, err)
		}
		if p.Addr().Is4In6() {
			if p.Bits() < 96 {
				return nil, fmt.Errorf("%s: %q mixes IPv4-mapped and plain IPv6 addresses; write the IPv4 range (e.g. 203.0.113.0/24)", name, s)
			}
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

func checkHeaderName(setting, h string) error {
	for _, c := range h {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return fmt.Errorf("%s=%q is not a valid header name (letters, digits, '-' and '_' only)", setting, h)
		}
	}
	return nil
}

// sensitive reports the headers never kept with a quarantined body of acct, nor logged: its
// secret's, the ingest's secret and signature headers, and the usual credentials.
func (a *Auth) sensitive(name string, acct *account.Account) bool {
	switch name = http.CanonicalHeaderKey(name); name {
	case a.secretHeader, a.sigHeader, DefaultSecretHeader, "Authorization", "Cookie", "Proxy-Authorization", "X-Api-Key":
		return true
	}
	return name == a.SecretHeaderOf(acct)
}
