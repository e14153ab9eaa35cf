// Package ctl is ingestctl's command line: one file and one flag.FlagSet per command
// (dlq_list.go is `ingestctl dlq list`), in the style of WTF Dial's cmd/wtf. The commands parse
// their arguments, call the operations of pkg/admin (which the console shares) and print what
// they return; nothing here talks to JetStream or a store but through pkg/admin.
//
// It is a package of its own rather than package main so that the programs' end-to-end tests
// (pkg/app) run the real command line in-process; cmd/ingestctl's main only calls CLI.Run.
package ctl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/saleassist-pipeline/pipeline/internal/envflag"
	"github.com/saleassist-pipeline/pipeline/pkg/accept"
	"github.com/saleassist-pipeline/pipeline/pkg/admin"
)

// CLI is one ingestctl invocation.
type CLI struct {
	// Env defaults to os.LookupEnv; Stdout and Stderr to the process's.
	Env            func(string) (string, bool)
	Stdout, Stderr io.Writer

	natsURL string
	dataDir string
	db      string
	maxBody int64
	ops     *admin.Ops
	server  string // the NATS server connect used, its password masked
}

// New returns a CLI on the process's environment and standard streams.
func New() *CLI { return &CLI{Env: os.LookupEnv, Stdout: os.Stdout, Stderr: os.Stderr} }

// command is one ingestctl command: Run gets the arguments after its name, and returns a
// usageError for a command line that does not make sense.
type command interface {
	Run(ctx context.Context, args []string) error
}

// commands are ingestctl's commands by name: a group's ("dlq list") by its two words.
var commands = map[string]func(*CLI) command{
	"status":                 func(c *CLI) command { return &StatusCommand{c} },
	"quarantine list":        quarantineList,
	"quarantine show":        func(c *CLI) command { return &ParkedShowCommand{c, quarantine} },
	"quarantine replay":      func(c *CLI) command { return &QuarantineReplayCommand{c} },
	"quarantine delete":      func(c *CLI) command { return &ParkedDeleteCommand{c, quarantine} },
	"dlq list":               dlqList,
	"dlq show":               func(c *CLI) command { return &ParkedShowCommand{c, deadLetters} },
	"dlq replay":             func(c *CLI) command { return &DLQReplayCommand{c} },
	"dlq discard":            func(c *CLI) command { return &DLQDiscardCommand{c} },
	"dlq discarded":          dlqDiscarded,
	"dlq delete":             func(c *CLI) command { return &ParkedDeleteCommand{c, deadLetters} },
	"events invalid":         func(c *CLI) command { return &EventsInvalidCommand{c} },
	"accounts add":           func(c *CLI) command { return &AccountsAddCommand{c} },
	"accounts list":          func(c *CLI) command { return &AccountsListCommand{c} },
	"accounts show":          func(c *CLI) command { return &AccountsShowCommand{c} },
	"accounts rotate-secret": func(c *CLI) command { return &AccountsRotateSecretCommand{c} },
	"accounts rotate-url":    func(c *CLI) command { return &AccountsRotateURLCommand{c} },
	"accounts set":           func(c *CLI) command { return &AccountsSetCommand{c} },
	"accounts set-mapping":   func(c *CLI) command { return &AccountsSetMappingCommand{c} },
	"accounts disable":       func(c *CLI) command { return &AccountsDisableCommand{c, true} },
	"accounts enable":        func(c *CLI) command { return &AccountsDisableCommand{c, false} },
	"accounts delete":        func(c *CLI) command { return &AccountsDeleteCommand{c} },
	"accounts token":         func(c *CLI) command { return &AccountsTokenCommand{c} },
	"prune":                  func(c *CLI) command { return &PruneCommand{c} },
	"migrate-store":          func(c *CLI) command { return &MigrateStoreCommand{c} },
}

// Run executes args and returns the exit code: 0 done (or a command's -h answered), 1 failed,
// 2 bad usage.
func (c *CLI) Run(ctx context.Context, args []string) int {
	fs := envflag.New("ingestctl", c.Env)
	fs.SetOutput(c.Stderr)
	fs.Usage = func() { fmt.Fprint(c.Stderr, usage) }
	fs.StringEnv(&c.natsURL, "nats-url", "NATS_URL", "", "NATS server URL")
	fs.StringEnv(&c.dataDir, "data-dir", "DATA_DIR", "./data", "a standalone ingest's data directory")
	fs.StringEnv(&c.db, "db", "DATABASE_URL", "", "the leads database for the events commands (default DATA_DIR/leads.db)")
	// Flag only, as before: MAX_BODY_BYTES is the ingest's setting, not ingestctl's.
	fs.Int64Env(&c.maxBody, "max-body", "", accept.DefaultMaxBody, "largest body replay accepts, as the ingest's MAX_BODY_BYTES")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	rest := fs.Args()
	if len(rest) == 0 {
		fmt.Fprint(c.Stderr, usage)
		return 2
	}
	cmd, args, err := c.lookup(rest)
	if err == nil {
		err = cmd.Run(ctx, args)
	}
	var (
		ue   usageError
		help helpAsked
	)
	switch {
	case err == nil:
		return 0
	case errors.As(err, &help):
		fmt.Fprint(c.Stdout, help.usage)
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(c.Stderr, "ingestctl: %v\n\n%s", err, ue.usageOr(usage))
		return 2
	default:
		fmt.Fprintf(c.Stderr, "ingestctl: %v\n", err)
		return 1
	}
}

// lookup finds the command rest names, and returns it with its arguments.
func (c *CLI) lookup(rest []string) (command, []string, error) {
	if mk, ok := commands[rest[0]]; ok {
		return mk(c), rest[1:], nil
	}
	verbs := groupVerbs(rest[0])
	switch {
	case len(verbs) == 0:
		return nil, nil, usageError{msg: fmt.Sprintf("unknown command %q", strings.Join(rest, " "))}
	case len(rest) == 1:
		return nil, nil, usageError{msg: fmt.Sprintf("%s needs a command: %s", rest[0], strings.Join(verbs, ", "))}
	}
	mk, ok := commands[rest[0]+" "+rest[1]]
	if !ok {
		return nil, nil, usageError{msg: fmt.Sprintf("unknown %s command %q (%s)", rest[0], rest[1], strings.Join(verbs, ", "))}
	}
	return mk(c), rest[2:], nil
}

// groupVerbs lists the commands of group (dlq, accounts, …); none when it is no group.
func groupVerbs(group string) []string {
	var verbs []string
	for name := range commands {
		if verb, ok := strings.CutPrefix(name, group+" "); ok {
			verbs = append(verbs, verb)
		}
	}
	sort.Strings(verbs)
	return verbs
}

const usage = `usage: ingestctl [-nats-url URL] [-data-dir DIR] [-db FILE|URL] <command>

commands:
  status [--json]                      streams, consumer backlog, dead letters, quarantine
  quarantine list [--json]             authenticated requests the ingest could not accept
  quarantine show ID                   print the body exactly as received
  quarantine replay ID [--body FILE]   submit it again (optionally corrected); removed once accepted
  quarantine delete ID                 drop it for good
  dlq list [--json]                    events the workers gave up on, with why
  dlq show ID                          print the event body, and its headers on stderr
  dlq replay ID [--body FILE]          republish to the events stream (with a corrected body);
                                       removed once acknowledged. A dead letter whose reason says
                                       the event is bad (invalid, permanent, undecodable,
                                       unstorable) needs --body, or --unchanged after a fix
  dlq replay --all [--unchanged]       every dead letter whose cause was transient (max_deliver)
  dlq discard ID --reason TEXT         give up on it: recorded with the reason, then removed
  dlq discarded [--json]               the discarded dead letters, with their reasons
  dlq delete ID                        drop it for good, without a record
  --account ID                         with quarantine list, dlq list, discarded, replay --all:
                                       that account's entries only (every account's by default)
  events invalid [--limit N] [--json]  events stored with problems (schema violations, a time
                                       from the future), newest first: id, type, received, lead
  accounts add -id ID -client-id C [-client-id C2] [-name N] [-rate R -burst B]
               [-mapping FILE] [-secret-header H] [-json]
                                       a SaleAssist account: prints its webhook path
                                       /webhooks/saleassist/<token> and its secret (shown once)
  accounts list [-json]                every account (the default one first); never secrets
  accounts show ID [-json]             one account; never its secrets or token hashes
  accounts rotate-secret ID [-json]    add a new secret (shown once); the old one still works
  accounts rotate-secret ID -drop-old  then accept only the newest
  accounts rotate-url ID [-json]       a new webhook path; the old one stops working
  accounts set ID [-name N] [-client-id C]... [-rate R] [-burst B] [-retain-events-days D] [-retain-leads-days D]
                                       change settings (-client-id replaces the list)
  accounts set-mapping ID FILE         the account's own mapping, checked before it is stored
  accounts disable ID | enable ID      a disabled account's URL answers 404; its data stays
  accounts delete ID [-settle D] [-json]
                                       a disabled account whose events are all stored (no
                                       dead letters or quarantine either) goes for good, with
                                       the consumer of its events; its data stays
  accounts token ID [-json]            a new console token for this account only ({"token": …}),
                                       replacing the previous one
  prune -account ID [-events-days N] [-leads-days N] [-dry-run] [-json]
                                       remove the account's events older than N days, and
                                       leads not updated in N days with their events and
                                       meetings (days not given: the account's retention);
                                       events of the last 7 days (the retry horizon) always stay
  migrate-store --from FILE [--to URL] [--chunk N] [--json]
                                       copy a SQLite store into PostgreSQL (--to, default -db /
                                       DATABASE_URL): idempotent, resumable, verified by counts.
                                       Stop the workers first

Flags take one dash or two (-json, --json), before or after the ID. NATS is found from
-nats-url / NATS_URL, else DATA_DIR/nats-url (written by a standalone ingest whose embedded
server listens); with neither, ingestctl says so and stops. The first line on stderr names the
server used. The events and prune commands read the leads database instead: -db / DATABASE_URL
(a SQLite file or postgres://…), else DATA_DIR/leads.db.
`
