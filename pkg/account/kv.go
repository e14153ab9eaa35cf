package account

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Bucket is the JetStream key-value bucket holding the accounts: key = account id, value = the
// Account as JSON. It lives on the pipeline's JetStream because every ingest and worker reaches
// that, and the ingest never touches the store.
const Bucket = "saleassist_accounts"

// BucketHistory is how many past versions of an account the bucket keeps, so an operator can
// see what a change replaced (nats kv history saleassist_accounts ID).
const BucketHistory = 5

// ErrNotFound is wrapped by the errors of Get, Update and Delete for an account that does not
// exist.
var ErrNotFound = errors.New("no such account")

// ErrExists is wrapped by Create's error when the account exists already.
var ErrExists = errors.New("account exists")

// Option varies OpenKV and Follow.
type Option func(*options)

type options struct {
	replicas int
	log      *slog.Logger
}

func newOptions(opts []Option) options {
	o := options{replicas: 1, log: slog.Default()}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// WithReplicas makes a missing bucket with n copies: pass what the streams use (STREAM_REPLICAS,
// 3 in a cluster), so the accounts survive a node as the events do. The default is 1. An
// existing bucket is never changed.
func WithReplicas(n int) Option { return func(o *options) { o.replicas = n } }

// KV is the accounts bucket: the one place accounts are written. It is safe for concurrent use.
type KV struct {
	kv  jetstream.KeyValue
	now func() time.Time
}

// OpenKV opens the accounts bucket, making it when it does not exist.
func OpenKV(ctx context.Context, js jetstream.JetStream, opts ...Option) (*KV, error) {
	o := newOptions(opts)
	kv, err := js.KeyValue(ctx, Bucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		kv, err = js.CreateKeyValue(ctx, jetstream.KeyValueConfig{
			Bucket:      Bucket,
			Description: "SaleAssist accounts (ingestctl accounts): key = account id, value = JSON",
			History:     BucketHistory,
			Storage:     jetstream.FileStorage,
			Replicas:    max(o.replicas, 1),
		})
		if errors.Is(err, jetstream.ErrBucketExists) { // another process made it meanwhile
			kv, err = js.KeyValue(ctx, Bucket)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("accounts bucket %s: %w", Bucket, err)
	}
	return &KV{kv: kv, now: time.Now}, nil
}

// Get returns the account with this id; the error wraps ErrNotFound when there is none.
func (k *KV) Get(ctx context.Context, id string) (Account, error) {
	a, _, err := k.get(ctx, id)
	return a, err
}

func (k *KV) get(ctx context.Context, id string) (Account, uint64, error) {
	if err := ValidID(id); err != nil {
		return Account{}, 0, err
	}
	e, err := k.kv.Get(ctx, id)
	if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted) {
		return Account{}, 0, fmt.Errorf("account %q: %w (ingestctl accounts list shows the accounts there are)", id, ErrNotFound)
	}
	if err != nil {
		return Account{}, 0, fmt.Errorf("read account %q: %w", id, err)
	}
	a, err := decode(e)
	return a, e.Revision(), err
}

func decode(e jetstream.KeyValueEntry) (Account, error) {
	var a Account
	if err := json.Unmarshal(e.Value(), &a); err != nil {
		return Account{}, fmt.Errorf("account %q in bucket %s (revision %d) is not an account's JSON: %w", e.Key(), Bucket, e.Revision(), err)
	}
	a.ID = e.Key() // the key is the truth: a value edited by hand cannot move an account
	return a, nil
}

// List returns every account in the bucket, by id. An entry that is not an account's JSON is an
// error naming it, not skipped: an operator must see it.
func (k *KV) List(ctx context.Context) ([]Account, error) {
	lister, err := k.kv.ListKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("list accounts: %w", err)
	}
	var keys []string
	for key := range lister.Keys() {
		keys = append(keys, key)
	}
	slices.Sort(keys)
	out := make([]Account, 0, len(keys))
	for _, key := range keys {
		a, err := k.Get(ctx, key)
		if errors.Is(err, ErrNotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// Put stores a, creating or replacing the account a.ID after checking it (see check); it sets
// UpdatedAt, and CreatedAt when zero, and returns what it stored.
func (k *KV) Put(ctx context.Context, a Account) (Account, error) {
	return k.write(ctx, a, func(val []byte) (uint64, error) { return k.kv.Put(ctx, a.ID, val) })
}

// Create stores a new account; the error wraps ErrExists when a.ID is taken.
func (k *KV) Create(ctx context.Context, a Account) (Account, error) {
	a.CreatedAt = time.Time{}
	out, err := k.write(ctx, a, func(val []byte) (uint64, error) { return k.kv.Create(ctx, a.ID, val) })
	if errors.Is(err, jetstream.ErrKeyExists) {
		return Account{}, fmt.Errorf("account %q: %w (ingestctl accounts show %s; pick another -id)", a.ID, ErrExists, a.ID)
	}
	return out, err
}

// Update applies change to the stored account id and stores the result, retrying when another
// writer changed the account in between (compare-and-set on the revision), so two operators'
// changes never undo each other. The Default account may be updated before it has an entry: it
// always exists, and change then starts from an empty Default.
func (k *KV) Update(ctx context.Context, id string, change func(*Account) error) (Account, error) {
	for attempt := 0; ; attempt++ {
		a, rev, err := k.get(ctx, id)
		if errors.Is(err, ErrNotFound) && id == Default {
			a, err = Account{ID: Default}, nil
		}
		if err != nil {
			return Account{}, err
		}
		if err := change(&a); err != nil {
			return Account{}, err
		}
		a.ID = id
		out, err := k.write(ctx, a, func(val []byte) (uint64, error) {
			if rev == 0 {
				return k.kv.Create(ctx, id, val)
			}
			return k.kv.Update(ctx, id, val, rev)
		})
		if errors.Is(err, jetstream.ErrKeyExists) && attempt < 10 {
			continue // changed by someone else since we read it: read again
		}
		return out, err
	}
}

// Delete removes the account from the bucket (its history stays, BucketHistory versions). The
// error wraps ErrNotFound when there is no such account.
func (k *KV) Delete(ctx context.Context, id string) error {
	if _, err := k.Get(ctx, id); err != nil {
		return err
	}
	if err := k.kv.Delete(ctx, id); err != nil {
		return fmt.Errorf("delete account %q: %w", id, err)
	}
	return nil
}

// write checks a, stamps it and stores it with store.
func (k *KV) write(ctx context.Context, a Account, store func([]byte) (uint64, error)) (Account, error) {
	if err := k.check(ctx, &a); err != nil {
		return Account{}, err
	}
	now := k.now().UTC()
	if a.CreatedAt.IsZero() {
		a.CreatedAt = now
	}
	a.UpdatedAt = now
	val, err := json.Marshal(a)
	if err != nil {
		return Account{}, fmt.Errorf("encode account %q: %w", a.ID, err)
	}
	if _, err := store(val); err != nil {
		return Account{}, fmt.Errorf("store account %q: %w", a.ID, err)
	}
	return a, nil
}

// check refuses an account the ingest could not serve: a bad id, a negative rate, or a webhook
// token another account has (two accounts behind one URL). Tokens come from NewSecret, so a
// clash means a copied value, not bad luck; the check reads the bucket, so two writers at once
// could still clash, which NewSecret's 256 bits make moot.
func (k *KV) check(ctx context.Context, a *Account) error {
	if err := ValidID(a.ID); err != nil {
		return err
	}
	if a.RatePerSecond < 0 || a.Burst < 0 {
		return fmt.Errorf("account %q: rate %g/s, burst %d: neither may be negative (0 means the default, %g/s)", a.ID, a.RatePerSecond, a.Burst, DefaultRate)
	}
	if a.RetainEventsDays < 0 || a.RetainLeadsDays < 0 {
		return fmt.Errorf("account %q: retention days may not be negative (0 keeps forever)", a.ID)
	}
	if a.WebhookToken == "" {
		return nil
	}
	all, err := k.List(ctx)
	if err != nil {
		return err
	}
	for _, o := range all {
		if o.ID != a.ID && o.WebhookToken == a.WebhookToken {
			return fmt.Errorf("account %q: its webhook token is account %q's already; issue a new one (ingestctl accounts rotate-url %s)", a.ID, o.ID, a.ID)
		}
	}
	return nil
}
