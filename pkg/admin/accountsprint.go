package admin

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/saleassist-pipeline/pipeline/pkg/account"
)

// defaultSecretHeader is the ingest's -secret-header default, named in what add prints.
const defaultSecretHeader = "X-Webhook-Secret"

// printAdded says where to point SaleAssist, with the secret, once.
func (c *CLI) printAdded(a AddedAccount) {
	header := a.SecretHeader
	if header == "" {
		header = defaultSecretHeader + " (or the ingest's -secret-header)"
	}
	fmt.Fprintf(c.Stdout, `added account %s (client ids: %s)

  webhook path:  %s   (after the ingest's public address: https://HOST%s)
  secret header: %s
  secret:        %s

The secret is shown this once and kept nowhere (only its hash): store it now. In SaleAssist set
the webhook URL and add the header with the secret as a custom header. Running ingests and
workers pick the account up within seconds.
`, a.ID, strings.Join(a.ClientIDs, ", "), a.WebhookPath, a.WebhookPath, header, a.Secret)
}

func (c *CLI) printAccounts(views []AccountView) error {
	tw := tabwriter.NewWriter(c.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tCLIENT IDS\tWEBHOOK PATH\tSECRETS\tRATE\tSTATE")
	for _, v := range views {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%g/s\t%s\n", v.ID, v.Name, orAny(v.ClientIDs), v.WebhookPath, secrets(v), v.RatePerSecond, state(v))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(c.Stdout, "%s\n", plural(len(views), "account"))
	return nil
}

func (c *CLI) printAccount(v AccountView) {
	tw := tabwriter.NewWriter(c.Stdout, 0, 4, 2, ' ', 0)
	mapping := "the ingest's (MAPPING_FILE or built-in)"
	if v.MappingBytes > 0 {
		mapping = fmt.Sprintf("its own (%d bytes)", v.MappingBytes)
	}
	header := v.SecretHeader
	if header == "" {
		header = "the ingest's -secret-header (" + defaultSecretHeader + ")"
	}
	rows := [][2]string{
		{"id", v.ID}, {"name", v.Name}, {"client ids", orAny(v.ClientIDs)}, {"webhook path", v.WebhookPath},
		{"secret header", header}, {"secrets", secrets(v)}, {"console tokens", fmt.Sprint(v.ConsoleTokens)},
		{"mapping", mapping}, {"rate", fmt.Sprintf("%g/s, burst %d", v.RatePerSecond, v.Burst)}, {"state", state(v)},
		{"retention", retention(v)},
	}
	if !v.CreatedAt.IsZero() {
		rows = append(rows, [2]string{"created", v.CreatedAt.Format(time.RFC3339)}, [2]string{"updated", v.UpdatedAt.Format(time.RFC3339)})
	}
	for _, r := range rows {
		fmt.Fprintf(tw, "%s:\t%s\n", r[0], r[1])
	}
	_ = tw.Flush()
}

// secrets counts the account's secrets; the Default account also accepts each ingest's own.
func secrets(v AccountView) string {
	if v.ID == account.Default {
		return fmt.Sprintf("%d + WEBHOOK_SECRETS", v.Secrets)
	}
	return fmt.Sprint(v.Secrets)
}

func orAny(ids []string) string {
	if len(ids) == 0 {
		return "any"
	}
	return strings.Join(ids, ",")
}

func state(v AccountView) string {
	switch {
	case v.Disabled:
		return "disabled"
	case v.FromEnvironment:
		return "enabled (from the ingest's environment)"
	}
	return "enabled"
}

func retention(v AccountView) string {
	days := func(n int) string {
		if n == 0 {
			return "forever"
		}
		return plural(n, "day")
	}
	return "events " + days(v.RetainEventsDays) + ", leads " + days(v.RetainLeadsDays)
}
