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

	// Each program links only what it uses. What they share (pkg/app: Main, the group, the HTTP
	// server) links none of them, nor what only one of them needs.
	"pkg/app": {natsServer, pgx, sqlite3, module + "pkg/ingest", module + "pkg/worker", module + "pkg/console", module + "pkg/store"},
	// A worker stores leads: no NATS server, no webhook path, no console, no other program.
	"cmd/worker": {natsServer, module + "pkg/ingest", module + "pkg/console", ingestApp, consoleApp},
	// The console reads the store and the streams: no NATS server, no webhook path, no worker.
	"cmd/console": {natsServer, module + "pkg/ingest", module + "pkg/worker", ingestApp, workerApp},
}

// onlyThrough is, per package, what it may reach only through the packages named: take those away
// and it must not link them at all.
var onlyThrough = map[string]struct{ never, through []string }{
	// The ingest links a database driver only because a standalone ingest runs the worker and the
	// console in-process (workerapp.Start, consoleapp.Start, on DATABASE_URL or the data
	// directory's leads.db). Its own code, the webhook path, the embedded NATS server and the
	// streams' set-up, reaches no store: an ingest run against NATS_URL, or with INGEST_WORKER=false,
	// uses no database.
	"cmd/ingest": {
		never:   []string{pgx, sqlite3, module + "pkg/store", module + "pkg/worker", module + "pkg/console"},
		through: []string{workerApp, consoleApp},
	},
}

const (
	natsServer = "github.com/nats-io/nats-server/v2/server"
	pgx        = "github.com/jackc/pgx/v5"
	sqlite3    = "github.com/mattn/go-sqlite3"
	ingestApp  = module + "pkg/app/ingestapp"
	workerApp  = module + "pkg/app/workerapp"
	consoleApp = module + "pkg/app/consoleapp"
)

// TestForbiddenDependencies asks the go command for the import graph (as the build sees it on
// this platform) and fails on any forbidden dependency, naming the chain of imports that brings
// it.
func TestForbiddenDependencies(t *testing.T) {
	t.Parallel()
	graph := importGraph(t)
	for pkg, bad := range forbidden {
		t.Run(strings.ReplaceAll(strings.ReplaceAll(pkg, ".", "root"), "/", "_"), func(t *testing.T) {
			t.Parallel()
			for _, b := range bad {
				chain := graph.chain(importPath(pkg), b, nil)
				require.Nil(t, chain, "%s links %s, which it must not, through %s: move what it needs apart",
					pkg, b, strings.Join(chain, " -> "))
			}
		})
	}
	for pkg, rule := range onlyThrough {
		t.Run(strings.ReplaceAll(pkg, "/", "_")+"_only_through", func(t *testing.T) {
			t.Parallel()
			for _, b := range rule.never {
				require.NotNil(t, graph.chain(importPath(pkg), b, nil), "%s no longer links %s at all: drop it from the rule", pkg, b)
				chain := graph.chain(importPath(pkg), b, rule.through)
				require.Nil(t, chain, "%s links %s other than through %s, through %s: move what it needs apart",
					pkg, b, strings.ReplaceAll(strings.Join(rule.through, " or "), module, ""), strings.Join(chain, " -> "))
			}
		})
	}
}

// graph is what each package imports, for every package the pinned ones link.
type graph map[string][]string

// importGraph lists every pinned package's dependencies with their imports, in one go list.
func importGraph(t *testing.T) graph {
	t.Helper()
	root, err := filepath.Abs("../..")
	require.NoError(t, err)
	args := []string{"list", "-deps", "-f", "{{.ImportPath}}{{range .Imports}} {{.}}{{end}}"}
	for pkg := range forbidden {
		args = append(args, "./"+pkg)
	}
	for pkg := range onlyThrough {
		args = append(args, "./"+pkg)
	}
	cmd := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), args...)
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "go list -deps: %s", out)
	g := graph{}
	for line := range strings.Lines(string(out)) {
		f := strings.Fields(line)
		g[f[0]] = f[1:]
	}
	for pkg := range forbidden {
		require.Contains(t, g, importPath(pkg), "go list listed the package itself")
	}
	return g
}

// chain is a shortest chain of imports from one package to another that enters none of the
// packages in skip; nil when there is none.
func (g graph) chain(from, to string, skip []string) []string {
	prev := map[string]string{from: ""}
	queue := []string{from}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		if p == to {
			var chain []string
			for ; p != ""; p = prev[p] {
				chain = append(chain, strings.TrimPrefix(p, module))
			}
			slices.Reverse(chain)
			return chain
		}
		for _, next := range g[p] {
			if _, seen := prev[next]; !seen && !slices.Contains(skip, next) {
				prev[next] = p
				queue = append(queue, next)
			}
		}
	}
	return nil
}
