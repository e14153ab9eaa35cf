package consoleapp

import (
	"context"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/saleassist-pipeline/pipeline/internal/ratelog"
	"github.com/saleassist-pipeline/pipeline/pkg/account"
	"github.com/saleassist-pipeline/pipeline/pkg/queue"
)

// followRetry is the wait between two attempts to read the accounts bucket while it cannot be
// read (NATS not up yet).
var followRetry = 2 * time.Second

// consoleAccounts returns the registry the console signs accounts' console tokens in with, kept
// current from the accounts bucket (account.Follow) over nc until ctx ends. The leads are
// readable without NATS, so the console does not wait for it: until the bucket can be read the
// registry holds the default account alone (the admin token works, accounts' tokens do not yet),
// and Follow is tried again in the background, its failure logged once. Without nc (no NATS
// configured) the default account is all there is.
//
// The console needs no webhook secret nor mapping of the default account, only its name and
// console tokens, so its environment default is account.EnvDefault with neither.
func consoleAccounts(ctx context.Context, nc *nats.Conn, qc queue.Config, log *slog.Logger) *account.Registry {
	env := account.EnvDefault(nil, "", "")
	reg := account.NewRegistry(env)
	if nc == nil {
		return reg
	}
	js, err := jetstream.New(nc)
	if err != nil {
		log.Error("console: accounts cannot be followed; only the admin token signs in", "err", err)
		return reg
	}
	// Follow's watch lives as long as ctx; its first load is bounded by JetStream's default API
	// timeout, ctx having no deadline.
	follow := func() error {
		return account.Follow(ctx, js, reg, env, account.WithReplicas(qc.Replicas), account.WithLogger(log))
	}
	if nc.IsConnected() && follow() == nil {
		return reg
	}
	go func() {
		failing := &ratelog.Failing{Log: log}
		for {
			err := follow()
			if err == nil {
				failing.OK("console: accounts read; accounts' console tokens sign in")
				return
			}
			failing.Fail("console: accounts cannot be read yet; only the admin token signs in until they can", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(followRetry):
			}
		}
	}()
	return reg
}
