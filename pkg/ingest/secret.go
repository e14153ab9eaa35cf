package ingest

import (
	"errors"
	"fmt"
	"strings"

	"github.com/saleassist-pipeline/pipeline/internal/secretcheck"
	"github.com/saleassist-pipeline/pipeline/internal/secretfile"
)

// SecretFile is where a generated webhook secret is kept, under the data directory.
const SecretFile = "webhook-secret"

// MinSecretLen is the shortest secret accepted: shorter ones can be guessed.
const MinSecretLen = 16

// CheckSecrets checks the default account's secrets (WEBHOOK_SECRETS, or signing keys): it refuses
// an empty set and secrets shorter than MinSecretLen, so the ingest never runs unauthenticated.
// Any one of them is accepted (account.Account.AcceptsSecret), so secrets rotate without downtime
// (add the new one, switch SaleAssist over, remove the old one).
func CheckSecrets(secrets []string) error {
	n := 0
	for i, v := range secrets {
		v = strings.TrimSpace(v)
		if err := secretcheck.Check(fmt.Sprintf("webhook secret #%d", i+1), v, MinSecretLen); err != nil {
			return err
		}
		n++
	}
	if n == 0 {
		return errors.New("no webhook secret configured: set WEBHOOK_SECRETS, or leave it empty to have one generated in the data directory")
	}
	return nil
}

// SplitList splits a comma-separated setting (WEBHOOK_SECRETS, a CIDR list) into its non-empty,
// trimmed items.
func SplitList(env string) []string {
	var out []string
	for _, s := range strings.Split(env, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// LoadOrCreateSecret returns the secret kept in dataDir, generating a strong one (32 random bytes,
// base64url) on first use. The file is written with mode 0600. created reports a new secret.
func LoadOrCreateSecret(dataDir string) (secret string, created bool, err error) {
	return secretfile.LoadOrCreate(dataDir, SecretFile, "webhook secret", MinSecretLen)
}
