// Package storeurl opens the store a DATABASE_URL names, the one place that decides: a URL
// starting postgres:// or postgresql:// is PostgreSQL (store/postgres), anything else a SQLite
// file path, optionally written sqlite:PATH, sqlite://PATH or file:PATH (store/sqlite). The
// worker, the standalone ingest's worker and ingestctl all open their store here, so they agree.
// It lives apart from package store because it imports both implementations, which import store.
package storeurl

import (
	"context"
	"fmt"
	"strings"

	"github.com/saleassist-pipeline/pipeline/internal/redact"
	"github.com/saleassist-pipeline/pipeline/pkg/store"
	"github.com/saleassist-pipeline/pipeline/pkg/store/postgres"
	"github.com/saleassist-pipeline/pipeline/pkg/store/sqlite"
)

// Options are the settings of the implementations; each uses its own.
type Options struct {
	SQLite sqlite.Options
}

// Kind is which implementation a URL selects.
type Kind string

// The kinds of store.
const (
	SQLite   Kind = "sqlite"
	Postgres Kind = "postgres"
)

// KindOf returns the implementation url selects and, for SQLite, the file path.
func KindOf(url string) (Kind, string, error) {
	if postgres.IsURL(url) {
		return Postgres, "", nil
	}
	path := url
	for _, p := range []string{"sqlite://", "sqlite:", "file:"} {
		if strings.HasPrefix(path, p) {
			path = strings.TrimPrefix(path, p)
			break
		}
	}
	if strings.Contains(path, "://") {
		return "", "", fmt.Errorf("database %q: want a SQLite file path such as ./data/leads.db, or postgres://user:password@host:5432/dbname", redact.URL(url))
	}
	if path == "" {
		return "", "", fmt.Errorf("database URL is empty: want a SQLite file path such as ./data/leads.db, or postgres://user:password@host:5432/dbname")
	}
	return SQLite, path, nil
}

// Open opens (creating and migrating as needed) the store url names. Errors name the problem,
// never the password.
func Open(ctx context.Context, url string, o Options) (store.Store, error) {
	kind, path, err := KindOf(url)
	if err != nil {
		return nil, err
	}
	if kind == Postgres {
		return postgres.Open(ctx, url)
	}
	return sqlite.OpenWith(ctx, path, o.SQLite)
}
