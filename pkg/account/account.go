// Package account is the pipeline's notion of a SaleAssist account: one customer of the
// installation, with its own webhook address, secrets, mapping, rate and leads.
//
// An account is configuration every process needs without the store (the ingest never touches
// the database), so accounts live in a JetStream key-value bucket (see kv.go) and each process
// keeps a Registry of them, refreshed by a watch within seconds of a change. With no account
// configured, everything runs as the single Default account built from the environment
// (WEBHOOK_SECRETS, MAPPING_FILE, /webhooks/saleassist), as before accounts existed.
//
// The account is part of every key that identifies something: lead identity, event dedupe,
// meeting id, subjects, consumers and metrics labels (from configured accounts only).
package account

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"slices"
	"time"
)

// Default is the id of the account an installation without configured accounts runs as, and of
// every event, lead and message from before accounts existed.
const Default = "default"

// MaxIDLen bounds an account id: it appears in subjects, consumer names, URLs and metric labels.
const MaxIDLen = 32

// Account is one SaleAssist account served by the pipeline.
type Account struct {
	// ID is short, stable and safe everywhere: [a-z0-9][a-z0-9-]*, at most MaxIDLen bytes.
	ID string `json:"id"`
	// Name is for people: the console's account switcher shows it.
	Name string `json:"name,omitempty"`
	// ClientIDs are the SaleAssist payload.client_id values this account expects. An event whose
	// client_id is another is refused and quarantined; empty accepts any (the Default account
	// as it was before accounts).
	ClientIDs []string `json:"client_ids,omitempty"`
	// WebhookToken is the unguessable last segment of the account's webhook URL,
	// /webhooks/saleassist/<token>. Replacing it revokes the old URL.
	WebhookToken string `json:"webhook_token,omitempty"`
	// SecretHashes are HashSecret of each webhook secret accepted (more than one while a secret
	// rotates). The secrets themselves are shown once, when generated, and kept nowhere.
	SecretHashes []string `json:"secret_hashes,omitempty"`
	// SecretHeader names the header SaleAssist sends the secret in; empty means the ingest's
	// -secret-header (X-Webhook-Secret).
	SecretHeader string `json:"secret_header,omitempty"`
	// ConsoleTokenHashes are HashSecret of the console tokens that see this account, and only it.
	ConsoleTokenHashes []string `json:"console_token_hashes,omitempty"`
	// Mapping is the content of the account's mapping file (YAML); empty uses the built-in one.
	Mapping string `json:"mapping,omitempty"`
	// RatePerSecond and Burst are the ingest's token bucket for the account; past them it answers
	// 429 with Retry-After. RatePerSecond 0 means DefaultRate.
	RatePerSecond float64 `json:"rate_per_second,omitempty"`
	Burst         int     `json:"burst,omitempty"`
	// Disabled accounts are refused at the ingest (their URL answers 404) and hidden from the
	// console's switcher; their stored data stays.
	Disabled bool `json:"disabled,omitempty"`
	// RetainEventsDays and RetainLeadsDays bound what `ingestctl prune` keeps; 0 keeps forever.
	RetainEventsDays int `json:"retain_events_days,omitempty"`
	RetainLeadsDays  int `json:"retain_leads_days,omitempty"`

	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// WebhookPathPrefix is the ingest's webhook path: the Default account's own URL, and, followed
// by "/" and an account's WebhookToken, every account's opaque one.
const WebhookPathPrefix = "/webhooks/saleassist"

// WebhookPath returns the path SaleAssist posts the account's webhooks to:
// /webhooks/saleassist/<token>, or "" when the account has no token (the Default account, until
// one is issued, is served at WebhookPathPrefix itself).
func (a *Account) WebhookPath() string {
	if a.WebhookToken == "" {
		return ""
	}
	return WebhookPathPrefix + "/" + a.WebhookToken
}

// Defaults of an account's token bucket.
const (
	DefaultRate  = 100.0 // events per second
	DefaultBurst = 200
)

// Rate returns the account's rate and burst, defaults filled in.
func (a *Account) Rate() (perSecond float64, burst int) {
	perSecond, burst = a.RatePerSecond, a.Burst
	if perSecond <= 0 {
		perSecond = DefaultRate
	}
	if burst <= 0 {
		burst = max(DefaultBurst, int(2*perSecond))
	}
	return perSecond, burst
}

// AcceptsClientID reports whether an event with this payload.client_id belongs to the account.
func (a *Account) AcceptsClientID(clientID string) bool {
	return len(a.ClientIDs) == 0 || slices.Contains(a.ClientIDs, clientID)
}

// AcceptsSecret reports, in time independent of which hash matches, whether secret is one of the
// account's webhook secrets.
func (a *Account) AcceptsSecret(secret string) bool { return matchHash(a.SecretHashes, secret) }

// AcceptsConsoleToken reports whether token is one of the account's console tokens.
func (a *Account) AcceptsConsoleToken(token string) bool {
	return matchHash(a.ConsoleTokenHashes, token)
}

func matchHash(hashes []string, secret string) bool {
	if secret == "" {
		return false
	}
	h := HashSecret(secret)
	ok := 0
	for _, want := range hashes {
		ok |= subtle.ConstantTimeCompare([]byte(want), []byte(h))
	}
	return ok == 1
}

// HashSecret is how secrets and tokens are kept: the hex SHA-256. They are generated with
// NewSecret (256 random bits), so a fast hash is enough: there is nothing to guess.
func HashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// NewSecret returns 256 random bits, base64url without padding (43 characters): for webhook
// secrets, webhook tokens and console tokens.
func NewSecret() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("account: crypto/rand failed: " + err.Error()) // cannot happen on Linux (Go 1.24+)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// ValidID returns nil when id can be an account id, and otherwise what is wrong with it.
func ValidID(id string) error {
	if id == "" || len(id) > MaxIDLen {
		return fmt.Errorf("account id %q: want 1 to %d characters of a-z, 0-9 and '-', starting with a letter or digit", id, MaxIDLen)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' && i > 0 {
			continue
		}
		return fmt.Errorf("account id %q: character %q at %d is not allowed; use a-z, 0-9 and '-', starting with a letter or digit", id, c, i)
	}
	return nil
}
