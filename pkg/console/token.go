package console

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/saleassist-pipeline/pipeline/internal/loopback"
	"github.com/saleassist-pipeline/pipeline/internal/secretcheck"
	"github.com/saleassist-pipeline/pipeline/internal/secretfile"
)

// TokenFile is where a generated admin token is kept, under the data directory.
const TokenFile = "admin-token"

// ErrTokenFile marks a LoadToken failure on the data directory's admin-token file (unreadable,
// too short, not writable): a fault of this host, not of the configuration given, so a
// standalone ingest keeps its webhook serving and leaves only the console off (see
// ingestapp.Program).
var ErrTokenFile = errors.New("console: the admin token file cannot be used")

// MinTokenLen is the shortest ADMIN_TOKEN accepted; MinRemoteTokenLen the shortest for a console
// reachable beyond loopback, where anyone on the network can try tokens.
const (
	MinTokenLen       = 16
	MinRemoteTokenLen = 24
)

// LoadToken returns the admin token: explicit (ADMIN_TOKEN) when not empty, else the one kept in
// dataDir/admin-token, generated (32 random bytes, mode 0600) on first use exactly as the webhook
// secret is. generated reports a token made on this call, for the start-up banner; the token is
// never logged.
//
// addr is where the console listens: beyond loopback the token must be explicit and at least
// MinRemoteTokenLen long, because a generated one lives in a file on this host that remote
// operators would have to copy, and a short one can be guessed from the network.
func LoadToken(dataDir, explicit, addr string) (token string, generated bool, err error) {
	explicit = strings.TrimSpace(explicit)
	local, _ := loopback.Is(addr) // not host:port: the listen reports it; refuse no less meanwhile
	remote := !local
	switch {
	case remote && explicit == "":
		return "", false, fmt.Errorf("CONSOLE_ADDR=%q listens beyond loopback: set ADMIN_TOKEN explicitly (at least %d characters, e.g. `openssl rand -base64 32`), or listen on 127.0.0.1", addr, MinRemoteTokenLen)
	case remote && strings.HasPrefix(strings.ToLower(explicit), secretcheck.PlaceholderPrefix):
		return "", false, secretcheck.Check("ADMIN_TOKEN", explicit, MinRemoteTokenLen)
	case remote && len(explicit) < MinRemoteTokenLen:
		return "", false, fmt.Errorf("ADMIN_TOKEN is %d characters; a console listening beyond loopback (CONSOLE_ADDR=%q) needs at least %d (e.g. `openssl rand -base64 32`)", len(explicit), addr, MinRemoteTokenLen)
	case explicit != "" && secretcheck.Check("ADMIN_TOKEN", explicit, MinTokenLen) != nil:
		return "", false, secretcheck.Check("ADMIN_TOKEN", explicit, MinTokenLen)
	case explicit != "":
		return explicit, false, nil
	}
	token, generated, err = secretfile.LoadOrCreate(dataDir, TokenFile, "admin token", MinTokenLen)
	if err != nil {
		return "", false, fmt.Errorf("%w (%s): %w; fix the file (or its directory's permissions), delete it to have a new one generated, or set ADMIN_TOKEN",
			ErrTokenFile, filepath.Join(dataDir, TokenFile), err)
	}
	return token, generated, nil
}

// tokenMatcher compares presented tokens with the admin token in constant time: both are hashed
// to a fixed size first, so neither the length nor a common prefix shows in the timing.
type tokenMatcher struct{ sum [sha256.Size]byte }

func newTokenMatcher(token string) tokenMatcher {
	return tokenMatcher{sum: sha256.Sum256([]byte(token))}
}

func (m tokenMatcher) match(got string) bool {
	sum := sha256.Sum256([]byte(got))
	return subtle.ConstantTimeCompare(sum[:], m.sum[:]) == 1
}
