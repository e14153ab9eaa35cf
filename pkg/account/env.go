package account

import (
	"slices"
	"strings"
)

// EnvDefault builds the Default account from a program's own settings, as the single account of
// before accounts: the webhook secrets (WEBHOOK_SECRETS, or the generated one, kept only as
// hashes), the secret header (-secret-header) and the content of MAPPING_FILE ("" = built-in).
// Its ClientIDs are empty, so it accepts any client_id, as before. Empty secrets are skipped.
func EnvDefault(secrets []string, header, mapping string) Account {
	a := Account{ID: Default, Name: "Default", SecretHeader: header, Mapping: mapping}
	for _, s := range secrets {
		if s = strings.TrimSpace(s); s != "" {
			a.SecretHashes = appendNew(a.SecretHashes, HashSecret(s))
		}
	}
	return a
}

// WithDefault returns accounts (as read from the bucket) with the Default account in them: env
// when the bucket has no "default" entry, else env overlaid by that entry (see Overlay). Every
// process's Registry holds this, so the Default account exists even with an empty bucket.
func WithDefault(accounts []Account, env Account) []Account {
	env.ID = Default
	out := make([]Account, 0, len(accounts)+1)
	merged := env
	for _, a := range accounts {
		if a.ID == Default {
			merged = Overlay(env, a)
			continue
		}
		out = append(out, a)
	}
	return append(out, merged)
}

// Overlay is the Default account as the environment (env) and the bucket's "default" entry (kv)
// make it together: what an operator set in the bucket wins (name, client ids, rate, mapping,
// retention, disabled, the secret header, webhook token and console tokens when set), and the
// webhook secrets are the union, so a secret from WEBHOOK_SECRETS keeps working while one made
// by `ingestctl accounts rotate-secret default` is added.
func Overlay(env, kv Account) Account {
	a := env
	a.ID = Default
	if kv.Name != "" {
		a.Name = kv.Name
	}
	if len(kv.ClientIDs) > 0 {
		a.ClientIDs = slices.Clone(kv.ClientIDs)
	}
	if kv.RatePerSecond > 0 {
		a.RatePerSecond = kv.RatePerSecond
	}
	if kv.Burst > 0 {
		a.Burst = kv.Burst
	}
	if kv.Mapping != "" {
		a.Mapping = kv.Mapping
	}
	if kv.RetainEventsDays > 0 {
		a.RetainEventsDays = kv.RetainEventsDays
	}
	if kv.RetainLeadsDays > 0 {
		a.RetainLeadsDays = kv.RetainLeadsDays
	}
	if kv.SecretHeader != "" {
		a.SecretHeader = kv.SecretHeader
	}
	if kv.WebhookToken != "" {
		a.WebhookToken = kv.WebhookToken
	}
	a.Disabled = kv.Disabled
	a.SecretHashes = slices.Clone(env.SecretHashes)
	for _, h := range kv.SecretHashes {
		a.SecretHashes = appendNew(a.SecretHashes, h)
	}
	a.ConsoleTokenHashes = slices.Clone(env.ConsoleTokenHashes)
	for _, h := range kv.ConsoleTokenHashes {
		a.ConsoleTokenHashes = appendNew(a.ConsoleTokenHashes, h)
	}
	a.CreatedAt, a.UpdatedAt = kv.CreatedAt, kv.UpdatedAt
	return a
}

// appendNew appends s to list unless it is there already.
func appendNew(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}
