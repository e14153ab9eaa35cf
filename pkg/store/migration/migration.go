// Package migration reads a store's embedded, versioned schema changes. Each store (store/sqlite,
// store/postgres) embeds its own migrations/ directory and applies the list with its own SQL and
// locking; reading and ordering the files is the same for both, so it lives here once.
package migration

import (
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
)

// Migration is one schema change: the file migrations/NNNN_what.sql, whose NNNN is Version.
type Migration struct {
	Version int
	// Name is the file's base name, recorded beside the version once applied.
	Name string
	SQL  string
}

// Load returns the migrations/*.sql files of fsys in version order. A file whose name does not
// start with its number, or two files with one version, is an error: it is a mistake in the
// release, and applying either would leave the schema_migrations table ambiguous.
func Load(fsys fs.FS) ([]Migration, error) {
	names, err := fs.Glob(fsys, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	ms := make([]Migration, 0, len(names))
	for _, n := range names {
		base := strings.TrimPrefix(n, "migrations/")
		num, _, _ := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if err != nil {
			return nil, fmt.Errorf("migration %s: name must start with its number: %w", base, err)
		}
		b, err := fs.ReadFile(fsys, n)
		if err != nil {
			return nil, err
		}
		ms = append(ms, Migration{Version: v, Name: base, SQL: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	for i := 1; i < len(ms); i++ {
		if ms[i].Version == ms[i-1].Version {
			return nil, fmt.Errorf("migrations %s and %s share version %d", ms[i-1].Name, ms[i].Name, ms[i].Version)
		}
	}
	return ms, nil
}
