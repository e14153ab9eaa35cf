package admin

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/saleassist-pipeline/pipeline/pkg/account"
)

// defaultSecretHeader is the ingest's -secret-header default, named in what add prints.
const defaultSecretHeader = "X-Webhook-Secret"

// accountsCmd runs `ingestctl accounts VERB ...`. Flags and the account id may come in any order.
// Secrets and tokens go to stdout only, once; nothing here logs.
func (c *CLI) accountsCmd(ctx context.Context, verb string, args []string) error {
	fs := flag.NewFlagSet("accounts "+verb, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var (
		n          NewAccount
		clientIDs  listFlag
		mappingArg string
		jsonOut    bool
		dropOld    bool
	)
	fs.BoolVar(&jsonOut, "json", false, "print JSON")
	want := 1 // positional arguments: the account id, and set-mapping's file
	switch verb {
	case "add":
		want = 0
		fs.StringVar(&n.ID, "id", "", "")
		fs.StringVar(&n.Name, "name", "", "")
		fs.Var(&clientIDs, "client-id", "")
		fs.Float64Var(&n.RatePerSecond, "rate", 0, "")
		fs.IntVar(&n.Burst, "burst", 0, "")
		fs.StringVar(&mappingArg, "mapping", "", "")
		fs.StringVar(&n.SecretHeader, "secret-header", "", "")
	case "list":
		want = 0
	case "rotate-secret":
		fs.BoolVar(&dropOld, "drop-old", false, "")
	case "set-mapping":
		want = 2
	case "show", "rotate-url", "disable", "enable", "token":
	default:
		return usageError{fmt.Sprintf("unknown accounts command %q", verb)}
	}
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return usageError{fmt.Sprintf("accounts %s: %v", verb, err)}
	}
	if len(pos) != want {
		return usageError{fmt.Sprintf("accounts %s: want %s, got %q", verb, [...]string{"no argument but flags", "an account ID", "an account ID and a mapping FILE"}[want], pos)}
	}
	var id string
	if want > 0 {
		id = pos[0]
		if err := account.ValidID(id); err != nil {
			return usageError{err.Error()}
		}
	}
	if verb == "add" {
		if err := readNewAccount(&n, clientIDs, mappingArg); err != nil {
			return err
		}
	}
	var mappingFile string
	var mappingContent []byte
	if verb == "set-mapping" {
		mappingFile = pos[1]
		if mappingContent, err = os.ReadFile(mappingFile); err != nil {
			return fmt.Errorf("read mapping: %w", err)
		}
	}

	closeConn, err := c.connect()
	if err != nil {
		return err
	}
	defer closeConn()
	switch verb {
	case "add":
		a, err := c.ops.AddAccount(ctx, n)
		if err != nil {
			return err
		}
		if jsonOut {
			return c.printJSON(a)
		}
		c.printAdded(a)
	case "list":
		views, err := c.ops.Accounts(ctx)
		if err != nil {
			return err
		}
		if jsonOut {
			return c.printJSON(views)
		}
		return c.printAccounts(views)
	case "show":
		v, err := c.ops.Account(ctx, id)
		if err != nil {
			return err
		}
		if jsonOut {
			return c.printJSON(v)
		}
		c.printAccount(v)
	case "rotate-secret":
		r, err := c.ops.RotateSecret(ctx, id, dropOld)
		if err != nil {
			return err
		}
		if jsonOut {
			return c.printJSON(r)
		}
		if dropOld {
			fmt.Fprintf(c.Stdout, "account %s: old secrets dropped; only the newest is accepted now\n", id)
			if id == account.Default {
				fmt.Fprintln(c.Stdout, "(the ingest's WEBHOOK_SECRETS are still accepted: remove them from its environment)")
			}
			return nil
		}
		fmt.Fprintf(c.Stdout, "account %s: new secret (shown this once; the old one still works until `ingestctl accounts rotate-secret %s -drop-old`):\n%s\n", id, id, r.Secret)
	case "rotate-url":
		v, err := c.ops.RotateURL(ctx, id)
		if err != nil {
			return err
		}
		if jsonOut {
			return c.printJSON(v)
		}
		fmt.Fprintf(c.Stdout, "account %s: new webhook path %s\nthe old one stops working within seconds: set the new one in SaleAssist\n", id, v.WebhookPath)
	case "set-mapping", "disable", "enable":
		var v AccountView
		switch verb {
		case "set-mapping":
			v, err = c.ops.SetMapping(ctx, id, mappingFile, mappingContent)
		default:
			v, err = c.ops.SetDisabled(ctx, id, verb == "disable")
		}
		if err != nil {
			return err
		}
		if jsonOut {
			return c.printJSON(v)
		}
		fmt.Fprintf(c.Stdout, "account %s: %s; running ingests and workers follow within seconds\n", id,
			map[string]string{"set-mapping": "mapping set from " + mappingFile, "disable": "disabled (its URL answers 404; its data stays)", "enable": "enabled"}[verb])
	case "token":
		token, err := c.ops.ConsoleToken(ctx, id)
		if err != nil {
			return err
		}
		if jsonOut {
			return c.printJSON(map[string]string{"token": token})
		}
		fmt.Fprintf(c.Stdout, "account %s: console token (shown this once; it replaces the previous one and signs in to this account only):\n%s\n", id, token)
	}
	return nil
}

// readNewAccount completes add's request from its flags, refusing what is missing.
func readNewAccount(n *NewAccount, clientIDs listFlag, mappingFile string) error {
	if n.ID == "" {
		return usageError{"accounts add needs -id ID (a-z, 0-9 and '-', e.g. -id brand2)"}
	}
	if err := account.ValidID(n.ID); err != nil {
		return usageError{err.Error()}
	}
	if len(clientIDs) == 0 {
		return usageError{"accounts add needs -client-id C: the payload.client_id SaleAssist sends for this account (repeat -client-id for several); events with another client_id are refused"}
	}
	n.ClientIDs = clientIDs
	if mappingFile != "" {
		b, err := os.ReadFile(mappingFile)
		if err != nil {
			return fmt.Errorf("read mapping: %w", err)
		}
		n.MappingFile, n.Mapping = mappingFile, b
	}
	return nil
}

// parseInterleaved parses flags wherever they are among args and returns the other arguments.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, errors.New("see the usage below")
			}
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// listFlag is a repeatable flag whose values may also be comma-separated.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(s string) error {
	for v := range strings.SplitSeq(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			*l = append(*l, v)
		}
	}
	return nil
}

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
