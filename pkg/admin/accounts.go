package admin

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/saleassist-pipeline/pipeline/pkg/account"
)

// AccountView is an account as operators see it: everything but its secrets and token hashes,
// which are shown once when made and never again. It is what `ingestctl accounts list` and
// `show` print and the console renders.
type AccountView struct {
	ID        string   `json:"id"`
	Name      string   `json:"name,omitempty"`
	ClientIDs []string `json:"client_ids"`
	// WebhookPath is /webhooks/saleassist/<token>; for the Default account without a token of
	// its own, /webhooks/saleassist.
	WebhookPath string `json:"webhook_path"`
	// SecretHeader is the header the secret is sent in; empty means the ingest's -secret-header.
	SecretHeader string `json:"secret_header,omitempty"`
	// Secrets and ConsoleTokens count what is accepted (two secrets while one rotates).
	Secrets       int `json:"secrets"`
	ConsoleTokens int `json:"console_tokens"`
	// MappingBytes is the size of the account's own mapping, 0 when it uses the ingest's.
	MappingBytes     int       `json:"mapping_bytes"`
	RatePerSecond    float64   `json:"rate_per_second"`
	Burst            int       `json:"burst"`
	Disabled         bool      `json:"disabled"`
	RetainEventsDays int       `json:"retain_events_days,omitempty"`
	RetainLeadsDays  int       `json:"retain_leads_days,omitempty"`
	CreatedAt        time.Time `json:"created_at,omitzero"`
	UpdatedAt        time.Time `json:"updated_at,omitzero"`
	// FromEnvironment marks the Default account when the bucket has no entry for it: it is then
	// what each ingest's WEBHOOK_SECRETS, -secret-header and MAPPING_FILE make it.
	FromEnvironment bool `json:"from_environment,omitempty"`
}

// viewOf is a's AccountView.
func viewOf(a account.Account) AccountView {
	rate, burst := a.Rate()
	v := AccountView{
		ID: a.ID, Name: a.Name, ClientIDs: slices.Clone(a.ClientIDs), WebhookPath: a.WebhookPath(),
		SecretHeader: a.SecretHeader, Secrets: len(a.SecretHashes), ConsoleTokens: len(a.ConsoleTokenHashes),
		MappingBytes: len(a.Mapping), RatePerSecond: rate, Burst: burst, Disabled: a.Disabled,
		RetainEventsDays: a.RetainEventsDays, RetainLeadsDays: a.RetainLeadsDays,
		CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt,
	}
	if v.ClientIDs == nil {
		v.ClientIDs = []string{}
	}
	if v.WebhookPath == "" && a.ID == account.Default {
		v.WebhookPath = account.WebhookPathPrefix
	}
	return v
}

// NewAccount is what adding an account asks for.
type NewAccount struct {
	ID, Name  string
	ClientIDs []string
	// RatePerSecond and Burst: 0 means the defaults (account.DefaultRate).
	RatePerSecond float64
	Burst         int
	// SecretHeader: empty means the ingest's -secret-header.
	SecretHeader string
	// MappingFile names Mapping in errors (and says YAML or JSON by its extension); Mapping
	// empty means the ingest's mapping.
	MappingFile string
	Mapping     []byte
}

// AddedAccount is a new account with the secret that authenticates its webhooks: shown once
// here and kept nowhere (the bucket holds its hash).
type AddedAccount struct {
	AccountView
	Secret string `json:"secret"`
}

// accounts opens the accounts bucket (a lookup: cheap enough per operation). A bucket it makes
// has as many replicas as the events stream, so accounts survive what events survive.
func (o *Ops) accounts(ctx context.Context) (*account.KV, error) {
	replicas := 1
	if s, err := o.js.Stream(ctx, o.cfg.Stream); err == nil {
		replicas = s.CachedInfo().Config.Replicas
	} else if !errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, fmt.Errorf("stream %s: %w", o.cfg.Stream, err)
	}
	return account.OpenKV(ctx, o.js, account.WithReplicas(replicas))
}

// AddAccount makes an account with a new webhook URL and secret. A mapping is checked by the
// mapping loader first: a mapping the workers would refuse is never stored.
func (o *Ops) AddAccount(ctx context.Context, n NewAccount) (AddedAccount, error) {
	kv, err := o.accounts(ctx)
	if err != nil {
		return AddedAccount{}, err
	}
	if err := checkMapping(n.MappingFile, n.Mapping); err != nil {
		return AddedAccount{}, err
	}
	secret := account.NewSecret()
	a, err := kv.Create(ctx, account.Account{
		ID: n.ID, Name: n.Name, ClientIDs: n.ClientIDs, RatePerSecond: n.RatePerSecond, Burst: n.Burst,
		SecretHeader: n.SecretHeader, Mapping: string(n.Mapping),
		WebhookToken: account.NewSecret(), SecretHashes: []string{account.HashSecret(secret)},
	})
	if err != nil {
		return AddedAccount{}, err
	}
	return AddedAccount{AccountView: viewOf(a), Secret: secret}, nil
}

// Accounts lists every account, by id, with the Default account always among them (marked
// FromEnvironment when the bucket has no entry for it).
func (o *Ops) Accounts(ctx context.Context) ([]AccountView, error) {
	kv, err := o.accounts(ctx)
	if err != nil {
		return nil, err
	}
	list, err := kv.List(ctx)
	if err != nil {
		return nil, err
	}
	views := make([]AccountView, 0, len(list)+1)
	hasDefault := false
	for _, a := range list {
		hasDefault = hasDefault || a.ID == account.Default
		views = append(views, viewOf(a))
	}
	if !hasDefault {
		views = append(views, defaultFromEnvironment())
	}
	first := func(id string) string { // the default account first, as in the console's switcher
		if id == account.Default {
			return ""
		}
		return id
	}
	slices.SortFunc(views, func(a, b AccountView) int { return cmp.Compare(first(a.ID), first(b.ID)) })
	return views, nil
}

// Account returns one account; the error wraps account.ErrNotFound when there is none.
func (o *Ops) Account(ctx context.Context, id string) (AccountView, error) {
	kv, err := o.accounts(ctx)
	if err != nil {
		return AccountView{}, err
	}
	a, err := kv.Get(ctx, id)
	if errors.Is(err, account.ErrNotFound) && id == account.Default {
		return defaultFromEnvironment(), nil
	}
	if err != nil {
		return AccountView{}, err
	}
	return viewOf(a), nil
}

func defaultFromEnvironment() AccountView {
	v := viewOf(account.EnvDefault(nil, "", ""))
	v.FromEnvironment = true
	return v
}
