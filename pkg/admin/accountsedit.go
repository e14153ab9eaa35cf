package admin

import (
	"context"
	"fmt"

	"github.com/saleassist-pipeline/pipeline/pkg/account"
	"github.com/saleassist-pipeline/pipeline/pkg/mapping"
)

// RotatedSecret is the result of a secret rotation: the new secret (shown once; empty when old
// ones were only dropped) and how many secrets the account now accepts.
type RotatedSecret struct {
	ID      string `json:"id"`
	Secret  string `json:"secret,omitempty"`
	Secrets int    `json:"secrets"`
}

// RotateSecret adds a new webhook secret to the account, keeping the old ones so SaleAssist can
// be switched over without a refused webhook; with dropOld it instead removes every secret but
// the newest, once SaleAssist sends the new one. (The Default account's WEBHOOK_SECRETS are the
// ingest's environment and stay: drop them there.)
func (o *Ops) RotateSecret(ctx context.Context, id string, dropOld bool) (RotatedSecret, error) {
	var secret string
	if !dropOld {
		secret = account.NewSecret()
	}
	a, err := o.updateAccount(ctx, id, func(a *account.Account) error {
		if dropOld {
			if len(a.SecretHashes) == 0 {
				return fmt.Errorf("account %q has no secret of its own to keep; add one first (ingestctl accounts rotate-secret %s)", id, id)
			}
			a.SecretHashes = a.SecretHashes[len(a.SecretHashes)-1:]
			return nil
		}
		a.SecretHashes = append(a.SecretHashes, account.HashSecret(secret))
		return nil
	})
	if err != nil {
		return RotatedSecret{}, err
	}
	return RotatedSecret{ID: a.ID, Secret: secret, Secrets: len(a.SecretHashes)}, nil
}

// RotateURL issues the account a new webhook token: the old URL stops working as soon as the
// ingests see the change (seconds), so point SaleAssist at the new one first.
func (o *Ops) RotateURL(ctx context.Context, id string) (AccountView, error) {
	a, err := o.updateAccount(ctx, id, func(a *account.Account) error {
		a.WebhookToken = account.NewSecret()
		return nil
	})
	return viewOf(a), err
}

// ConsoleToken issues the account a new console token, which signs in to this account only, and
// revokes the previous one. The token is returned once and kept nowhere.
func (o *Ops) ConsoleToken(ctx context.Context, id string) (string, error) {
	token := account.NewSecret()
	_, err := o.updateAccount(ctx, id, func(a *account.Account) error {
		a.ConsoleTokenHashes = []string{account.HashSecret(token)}
		return nil
	})
	if err != nil {
		return "", err
	}
	return token, nil
}

// SetMapping gives the account its own mapping (file names it in errors and says YAML or JSON by
// its extension), after the mapping loader accepts it; empty content returns the account to the
// ingest's mapping.
func (o *Ops) SetMapping(ctx context.Context, id, file string, content []byte) (AccountView, error) {
	if err := checkMapping(file, content); err != nil {
		return AccountView{}, err
	}
	a, err := o.updateAccount(ctx, id, func(a *account.Account) error {
		a.Mapping = string(content)
		return nil
	})
	return viewOf(a), err
}

// SetDisabled disables or enables the account. A disabled account's URL answers 404 and its
// data stays; what is already queued is still stored.
func (o *Ops) SetDisabled(ctx context.Context, id string, disabled bool) (AccountView, error) {
	a, err := o.updateAccount(ctx, id, func(a *account.Account) error {
		a.Disabled = disabled
		return nil
	})
	return viewOf(a), err
}

// AccountSettings are the settings `accounts set` changes; a nil field is left as it is.
type AccountSettings struct {
	Name             *string
	ClientIDs        []string // nil: unchanged; the list replaces the account's
	RatePerSecond    *float64
	Burst            *int
	RetainEventsDays *int
	RetainLeadsDays  *int
	SecretHeader     *string
}

// SetAccount changes an account's name, client ids, rate, burst, retention or secret header.
// The bucket checks the result (no negative rate or retention) before it is stored; running
// ingests and workers follow within seconds.
func (o *Ops) SetAccount(ctx context.Context, id string, s AccountSettings) (AccountView, error) {
	a, err := o.updateAccount(ctx, id, func(a *account.Account) error {
		set(&a.Name, s.Name)
		set(&a.RatePerSecond, s.RatePerSecond)
		set(&a.Burst, s.Burst)
		set(&a.RetainEventsDays, s.RetainEventsDays)
		set(&a.RetainLeadsDays, s.RetainLeadsDays)
		set(&a.SecretHeader, s.SecretHeader)
		if s.ClientIDs != nil {
			a.ClientIDs = s.ClientIDs
		}
		return nil
	})
	return viewOf(a), err
}

func set[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

func (o *Ops) updateAccount(ctx context.Context, id string, change func(*account.Account) error) (account.Account, error) {
	kv, err := o.accounts(ctx)
	if err != nil {
		return account.Account{}, err
	}
	return kv.Update(ctx, id, change)
}

// checkMapping refuses a mapping the workers could not load, with the loader's own message (file,
// line, field, what is wrong and how to fix it).
func checkMapping(file string, content []byte) error {
	if len(content) == 0 {
		return nil
	}
	if _, err := mapping.ParseMapping(file, content); err != nil {
		return fmt.Errorf("mapping refused, nothing changed:\n%w", err)
	}
	// The account keeps the content without the file's name, so workers tell JSON from YAML by
	// the content ('{' first): a YAML file written in flow style would be read as JSON.
	if _, err := mapping.ParseMapping("account mapping", content); err != nil {
		return fmt.Errorf("mapping refused, nothing changed: %s starts with '{' but is not JSON; write it as JSON, or as YAML in block style (key: value lines)", file)
	}
	return nil
}
