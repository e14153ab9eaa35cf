package ctl

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/saleassist-pipeline/pipeline/pkg/account"
	"github.com/saleassist-pipeline/pipeline/pkg/admin"
)

// defaultSecretHeader is the ingest's -secret-header default, named in what add prints.
const defaultSecretHeader = "X-Webhook-Secret"

// printAccount is `accounts show`'s: one account, a setting a line.
func (c *CLI) printAccount(v admin.AccountView) error {
	mapping := "the ingest's (MAPPING_FILE or built-in)"
	if v.MappingBytes > 0 {
		mapping = fmt.Sprintf("its own (%s)", plural(v.MappingBytes, "byte"))
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
	return table(c.Stdout, "", func(w io.Writer) {
		for _, r := range rows {
			fmt.Fprintf(w, "%s:\t%s\n", r[0], r[1])
		}
	})
}

// secrets counts the account's secrets; the Default account also accepts each ingest's own.
func secrets(v admin.AccountView) string {
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

func state(v admin.AccountView) string {
	switch {
	case v.Disabled:
		return "disabled"
	case v.FromEnvironment:
		return "enabled (from the ingest's environment)"
	}
	return "enabled"
}

func retention(v admin.AccountView) string {
	days := func(n int) string {
		if n == 0 {
			return "forever"
		}
		return plural(n, "day")
	}
	return "events " + days(v.RetainEventsDays) + ", leads " + days(v.RetainLeadsDays)
}
