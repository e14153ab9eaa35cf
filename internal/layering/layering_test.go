package layering_test

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const module = "github.com/saleassist-pipeline/pipeline/"

// importPath returns the import path of pkg, a directory relative to the module root ("." is
// the root package itself).
func importPath(pkg string) string {
	if pkg == "." {
		return strings.TrimSuffix(module, "/")
	}
	return module + pkg
}

// forbidden is, per package of ours, what it must never link (directly or through anything it
// imports).
var forbidden = map[string][]string{
	// Clients of NATS never carry a server: only the standalone ingest embeds one
	// (pkg/queue/embedded).
	"pkg/queue":     {natsServer},
	"pkg/account":   {natsServer, pgx, sqlite3},
	"pkg/admin":     {natsServer, module + "pkg/ingest"},
	"cmd/ingestctl": {natsServer, module + "pkg/ingest"},
	// The worker and the console do not serve webhooks.
	"pkg/worker":  {natsServer, module + "pkg/ingest", module + "pkg/console"},
	"pkg/console": {natsServer, module + "pkg/ingest", module + "pkg/worker"},
	// The ingest's request path never touches the database.
	"pkg/ingest": {natsServer, pgx, sqlite3, module + "pkg/store", module + "pkg/worker", module + "pkg/console"},
	"pkg/accept": {natsServer, pgx, sqlite3, module + "pkg/store"},
	// The domain (the module root, package pipeline) links nothing of ours but internal/jsonscan
	// (its own test, imports_test.go at the root, pins that file by file).
	".": {natsServer, pgx, sqlite3, module + "pkg/store", module + "pkg/queue", module + "pkg/route"},
}

const (
	natsServer = "github.com/nats-io/nats-server/v2/server"
	pgx        = "github.com/jackc/pgx/v5"
	sqlite3    = "github.com/mattn/go-sqlite3"
)

// TestForbiddenDependencies asks the go command for each package's dependencies (as the build
// sees them on this platform) and fails on any forbidden one, naming the chain's start.
func TestForbiddenDependencies(t *testing.T) {
	t.Parallel()
	goCmd := filepath.Join(runtime.GOROOT(), "bin", "go")
	root, err := filepath.Abs("../..")
	require.NoError(t, err)
	for pkg, bad := range forbidden {
		t.Run(strings.ReplaceAll(strings.ReplaceAll(pkg, ".", "root"), "/", "_"), func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(goCmd, "list", "-deps", "-f", "{{.ImportPath}}", "./"+pkg)
			cmd.Dir = root
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, "go list -deps ./%s: %s", pkg, out)
			deps := strings.Fields(string(out))
			require.Contains(t, deps, importPath(pkg), "go list listed the package itself")
			for _, b := range bad {
				require.False(t, slices.Contains(deps, b), "%s links %s, which it must not: find the import that brings it (go list -deps ./%s) and move what it needs apart", pkg, b, pkg)
			}
		})
	}
}
