package ctl

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/saleassist-pipeline/pipeline/pkg/account"
	"github.com/saleassist-pipeline/pipeline/pkg/admin"
)

// AccountsAddCommand is `ingestctl accounts add -id ID -client-id C …`: a SaleAssist account,
// with its webhook path and its secret, shown once.
type AccountsAddCommand struct{ *CLI }

// Run runs the command.
func (c *AccountsAddCommand) Run(ctx context.Context, args []string) error {
	fs := newFlags("accounts add", "-id ID -client-id C [-client-id C2] [-name N] [-rate R -burst B] [-mapping FILE] [-secret-header H] [-json]",
		"Adds a SaleAssist account: prints its webhook path /webhooks/saleassist/<token> and its\nsecret (shown this once, kept nowhere but as a hash).")
	var (
		n         admin.NewAccount
		clientIDs listFlag
	)
	fs.StringVar(&n.ID, "id", "", "the account's `ID` (a-z, 0-9 and '-')")
	fs.StringVar(&n.Name, "name", "", "its display name")
	fs.Var(&clientIDs, "client-id", "the payload.client_id `C[,C2]` SaleAssist sends for it (repeatable)")
	fs.Float64Var(&n.RatePerSecond, "rate", 0, "webhooks a second it may send (default account.DefaultRate)")
	fs.IntVar(&n.Burst, "burst", 0, "webhooks it may send at once")
	mappingFile := fs.String("mapping", "", "its own mapping `FILE` (YAML or JSON); default the ingest's")
	fs.StringVar(&n.SecretHeader, "secret-header", "", "the header its secret comes in (default the ingest's -secret-header)")
	jsonOut := fs.Bool("json", false, "print JSON")
	if _, err := fs.parse(args, 0); err != nil {
		return err
	}
	switch {
	case n.ID == "":
		return fs.fail("accounts add needs -id ID (a-z, 0-9 and '-', e.g. -id brand2)")
	case account.ValidID(n.ID) != nil:
		return fs.fail("%v", account.ValidID(n.ID))
	case len(clientIDs) == 0:
		return fs.fail("accounts add needs -client-id C: the payload.client_id SaleAssist sends for this account (repeat -client-id for several); events with another client_id are refused")
	}
	n.ClientIDs = clientIDs
	if *mappingFile != "" {
		b, err := os.ReadFile(*mappingFile)
		if err != nil {
			return fmt.Errorf("read mapping: %w", err)
		}
		n.MappingFile, n.Mapping = *mappingFile, b
	}
	return c.withOps(func(ops *admin.Ops) error {
		a, err := ops.AddAccount(ctx, n)
		if err != nil {
			return err
		}
		return c.output(*jsonOut, a, func() error { return c.printAdded(a) })
	})
}

// printAdded says where to point SaleAssist, with the secret, once.
func (c *AccountsAddCommand) printAdded(a admin.AddedAccount) error {
	header := a.SecretHeader
	if header == "" {
		header = defaultSecretHeader + " (or the ingest's -secret-header)"
	}
	_, err := fmt.Fprintf(c.Stdout, `added account %s (client ids: %s)

  webhook path:  %s   (after the ingest's public address: https://HOST%s)
  secret header: %s
  secret:        %s

The secret is shown this once and kept nowhere (only its hash): store it now. In SaleAssist set
the webhook URL and add the header with the secret as a custom header. Running ingests and
workers pick the account up within seconds.
`, a.ID, strings.Join(a.ClientIDs, ", "), a.WebhookPath, a.WebhookPath, header, a.Secret)
	return err
}
