package ctl

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/saleassist-pipeline/pipeline/internal/natsconn"
	"github.com/saleassist-pipeline/pipeline/pkg/admin"
	"github.com/saleassist-pipeline/pipeline/pkg/queue"
	"github.com/saleassist-pipeline/pipeline/pkg/store"
	"github.com/saleassist-pipeline/pipeline/pkg/store/storeurl"
)

// withOps runs fn with the operations on the pipeline's NATS (connect), and closes the
// connection after.
func (c *CLI) withOps(fn func(*admin.Ops) error) error {
	closeConn, err := c.connect()
	if err != nil {
		return err
	}
	defer closeConn()
	return fn(c.ops)
}

// connect opens the JetStream context the commands use, on the NATS server named by -nats-url /
// NATS_URL or else recorded in DATA_DIR/nats-url by a standalone ingest; with neither it stops
// and says so (it never guesses a server: the one on the default port may be another
// pipeline's, or none). Its first line on stderr names the server and where it came from.
func (c *CLI) connect() (func(), error) {
	url, from := c.natsURL, "-nats-url / NATS_URL"
	if url == "" {
		path := filepath.Join(c.dataDir, natsconn.URLFile)
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
	ops, err := admin.NewOps(nc, queue.DefaultConfig(), c.maxBody)
	if err != nil {
		nc.Close()
		return nil, err
	}
	c.ops = ops
	return nc.Close, nil
}

// openStore opens the leads database: -db / DATABASE_URL (a SQLite file, or postgres://…, as the
// worker's; storeurl decides), else DATA_DIR/leads.db of a standalone ingest. It refuses a SQLite
// file that does not exist rather than creating an empty one.
func (c *CLI) openStore(ctx context.Context) (store.Store, error) {
	url := c.db
	if url == "" {
		url = filepath.Join(c.dataDir, "leads.db")
	}
	kind, path, err := storeurl.KindOf(url)
	if err != nil {
		return nil, fmt.Errorf("events: %w", err)
	}
	if kind == storeurl.SQLite {
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("no leads database at %s: give -db (or DATABASE_URL), or -data-dir of a standalone ingest", path)
		}
	}
	return storeurl.Open(ctx, url, storeurl.Options{})
}
