// Package admin is the operators' verbs on a running pipeline: status, the accounts (in their
// JetStream key-value bucket, package account), and look at, replay and
// delete dead letters and what the ingest quarantined (on its JetStream), the events stored
// with problems (on its leads database), and the one-shot copy of a SQLite store into
// PostgreSQL (migrate-store, package storecopy). Ops does them and returns data; CLI (ingestctl) prints
// it, and the console (pkg/console) renders it. It never talks to the ingest. Its flags and its
// NATS connection are read and made as the programs' are (internal/envflag, internal/natsconn).
package admin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/saleassist-pipeline/pipeline/internal/envflag"
	"github.com/saleassist-pipeline/pipeline/internal/natsconn"
	"github.com/saleassist-pipeline/pipeline/pkg/queue"
)

// NATSURLFile is where a standalone ingest writes the URL of its embedded NATS server, under its
// data directory, so that ingestctl finds it without being told (natsconn.URLFile: the ingest
// writes it without linking this package).
const NATSURLFile = natsconn.URLFile

// CLI is one ingestctl invocation.
type CLI struct {
	// Env defaults to os.LookupEnv; Stdout and Stderr to the process's.
	Env            func(string) (string, bool)
	Stdout, Stderr io.Writer

	natsURL string
	dataDir string
	db      string
	maxBody int64
	ops     *Ops
	server  string // the NATS server connect used, its password masked
}

// New returns a CLI on the process's environment and standard streams.
func New() *CLI { return &CLI{Env: os.LookupEnv, Stdout: os.Stdout, Stderr: os.Stderr} }

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

NATS is found from -nats-url / NATS_URL, else DATA_DIR/nats-url (written by a standalone ingest
whose embedded server listens); with neither, ingestctl says so and stops. The first line on
stderr names the server used. The events and prune commands read the leads
database instead: -db / DATABASE_URL (a SQLite file or postgres://…), else DATA_DIR/leads.db.
`

// Run executes args and returns the exit code: 0 done, 1 failed, 2 bad usage.
func (c *CLI) Run(ctx context.Context, args []string) int {
	fs := envflag.New("ingestctl", c.Env)
	fs.SetOutput(c.Stderr)
	fs.Usage = func() { fmt.Fprint(c.Stderr, usage) }
	fs.StringEnv(&c.natsURL, "nats-url", "NATS_URL", "", "NATS server URL")
	fs.StringEnv(&c.dataDir, "data-dir", "DATA_DIR", "./data", "a standalone ingest's data directory")
	fs.StringEnv(&c.db, "db", "DATABASE_URL", "", "the leads database for the events commands (default DATA_DIR/leads.db)")
	// Flag only, as before: MAX_BODY_BYTES is the ingest's setting, not ingestctl's.
	fs.Int64Env(&c.maxBody, "max-body", "", 1<<20, "largest body replay accepts, as the ingest's MAX_BODY_BYTES")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	rest := fs.Args()
	var err error
	switch {
	case len(rest) >= 1 && rest[0] == "status":
		err = c.status(ctx, rest[1:])
	case len(rest) >= 2 && rest[0] == "quarantine":
		err = c.quarantine(ctx, rest[1], rest[2:])
	case len(rest) >= 2 && rest[0] == "dlq":
		err = c.dlq(ctx, rest[1], rest[2:])
	case len(rest) >= 2 && rest[0] == "events":
		err = c.events(ctx, rest[1], rest[2:])
	case len(rest) >= 2 && rest[0] == "accounts":
		err = c.accountsCmd(ctx, rest[1], rest[2:])
	case len(rest) >= 1 && rest[0] == "prune":
		err = c.prune(ctx, rest[1:])
	case len(rest) >= 1 && rest[0] == "migrate-store":
		err = c.migrateStore(ctx, rest[1:])
	case len(rest) == 0:
		fmt.Fprint(c.Stderr, usage)
		return 2
	default:
		fmt.Fprintf(c.Stderr, "ingestctl: unknown command %q\n\n%s", strings.Join(rest, " "), usage)
		return 2
	}
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(c.Stderr, "ingestctl: %v\n\n%s", err, usage)
		return 2
	default:
		fmt.Fprintf(c.Stderr, "ingestctl: %v\n", err)
		return 1
	}
}

// usageError is a command line that does not make sense.
type usageError struct{ msg string }

func (u usageError) Error() string { return u.msg }

// connect opens the JetStream context the commands use, on the NATS server named by -nats-url /
// NATS_URL or else recorded in DATA_DIR/nats-url by a standalone ingest; with neither it stops
// and says so (it never guesses a server: the one on the default port may be another
// pipeline's, or none). Its first line on stderr names the server and where it came from.
func (c *CLI) connect() (func(), error) {
	url, from := c.natsURL, "-nats-url / NATS_URL"
	if url == "" {
		path := filepath.Join(c.dataDir, NATSURLFile)
		b, err := os.ReadFile(path)
		if err != nil {
			abs, _ := filepath.Abs(c.dataDir)
			return nil, fmt.Errorf("no NATS server to ask: -nats-url / NATS_URL is not set, and %s does not exist (a standalone ingest writes it in its data directory, here %s, while its embedded NATS listens); "+
				"set NATS_URL=nats://host:4222 for a cluster, or run from the ingest's directory or with -data-dir DIR", path, abs)
		}
		url, from = strings.TrimSpace(string(b)), path
	}
	c.server = queue.RedactURL(url)
	fmt.Fprintf(c.Stderr, "ingestctl: NATS %s (from %s)\n", c.server, from)
	nc, err := natsconn.Client{Name: "ingestctl", Command: true,
		Hint: "set -nats-url, or -data-dir of a standalone ingest started with a free EMBEDDED_NATS_ADDR"}.Connect(url)
	if err != nil {
		return nil, err
	}
	ops, err := NewOps(nc, queue.DefaultConfig(), c.maxBody)
	if err != nil {
		nc.Close()
		return nil, err
	}
	c.ops = ops
	return nc.Close, nil
}
