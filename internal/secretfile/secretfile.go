// Package secretfile keeps the secrets the pipeline generates for itself (the default account's
// webhook secret, the console's admin token) in files of the data directory, mode 0600. It is
// shared by the ingest and the console, apart from either's request path.
package secretfile

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// LoadOrCreate returns the secret kept in dataDir/name, generating a strong one (32 random bytes,
// base64url) on first use, written with mode 0600; created reports a new secret. what names it
// in errors, and a kept one shorter than minLen is refused.
func LoadOrCreate(dataDir, name, what string, minLen int) (secret string, created bool, err error) {
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
