package ingest

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/saleassist-pipeline/pipeline/internal/secretcheck"
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
	return LoadOrCreateSecretFile(dataDir, SecretFile, "webhook secret", MinSecretLen)
}

// LoadOrCreateSecretFile is LoadOrCreateSecret for any secret the pipeline generates (the
// console's admin token too): kept in dataDir/name, what names it in errors, and a kept one
// shorter than minLen is refused.
func LoadOrCreateSecretFile(dataDir, name, what string, minLen int) (secret string, created bool, err error) {
	path := filepath.Join(dataDir, name)
	b, err := os.ReadFile(path)
	if err == nil {
		secret = strings.TrimSpace(string(b))
		if len(secret) < minLen {
			return "", false, fmt.Errorf("%s in %s is too short (%d characters); delete the file to have a new one generated", what, path, len(secret))
		}
		return secret, false, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", false, fmt.Errorf("read %s: %w", what, err)
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return "", false, fmt.Errorf("create data directory %s: %w", dataDir, err)
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", false, fmt.Errorf("generate %s: %w", what, err)
	}
	secret = base64.RawURLEncoding.EncodeToString(raw)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", false, fmt.Errorf("write %s: %w", what, err)
	}
	if _, err := f.WriteString(secret + "\n"); err != nil {
		f.Close()
		return "", false, fmt.Errorf("write %s %s: %w", what, path, err)
	}
	if err := f.Close(); err != nil {
		return "", false, fmt.Errorf("write %s %s: %w", what, path, err)
	}
	return secret, true, nil
}
