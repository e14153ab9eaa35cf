// Package secretcheck refuses secrets no one should run with: the placeholders of .env.example
// (which start with "change-me") and values shorter than a stated minimum. The webhook secrets and
// signing keys (pkg/ingest) and the console's admin token (pkg/console) are checked with it, so
// each program stops at start with the same advice rather than running with a guessable secret.
package secretcheck

import (
	"fmt"
	"strings"
)

// PlaceholderPrefix starts every secret placeholder in .env.example.
const PlaceholderPrefix = "change-me"

// Generate is how to make a good secret, as every refusal says.
const Generate = "generate one with `openssl rand -base64 32`"

// Check returns an error when value, the setting name says which (e.g. "WEBHOOK_SECRETS #1"), is
// a placeholder or shorter than min characters. value is taken as given (trim it first).
func Check(name, value string, min int) error {
	if strings.HasPrefix(strings.ToLower(value), PlaceholderPrefix) {
		return fmt.Errorf("%s is the placeholder of .env.example (%s…), not a secret: %s and set it in your .env (or the environment)", name, PlaceholderPrefix, Generate)
	}
	if len(value) < min {
		return fmt.Errorf("%s is %d characters; use at least %d: %s", name, len(value), min, Generate)
	}
	return nil
}
