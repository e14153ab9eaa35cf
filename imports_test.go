package pipeline_test

import (
	"go/parser"
	"go/token"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// jsonscan is the one package of ours the domain may import: the JSON grammar, itself standard
// library only.
const jsonscanPath = "github.com/saleassist-pipeline/pipeline/internal/jsonscan"

// TestImportsOnlyStandardLibraryAndJSONScan keeps the domain free of dependencies: every import
// of the root package's non-test files must be standard library, which the go command tells by
// a first path element without a dot ("encoding/json", not "golang.org/x/text" or
// "github.com/…"), or internal/jsonscan. Anything else of ours or a third-party module belongs in
// a package below this one (pkg/mapping for what turning an event into a Lead needs).
//
// It reads the files with go/parser rather than asking `go list`, so it needs no go command,
// module download or network, and it checks files of every build tag (not just the current
// platform's), since an import behind a tag still drags its module into the build.
func TestImportsOnlyStandardLibraryAndJSONScan(t *testing.T) {
	t.Parallel()
	entries, err := os.ReadDir(".")
	require.NoError(t, err)
	fset := token.NewFileSet()
	files := 0
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ImportsOnly)
		require.NoError(t, err)
		files++
		for _, imp := range f.Imports {
			path, err := strconv.Unquote(imp.Path.Value)
			require.NoError(t, err)
			if path == jsonscanPath {
				continue
			}
			first, _, _ := strings.Cut(path, "/")
			require.NotContains(t, first, ".",
				"%s imports %q: package pipeline imports the standard library and internal/jsonscan only (see doc.go)", fset.Position(imp.Pos()), path)
		}
	}
	require.NotZero(t, files, "no non-test Go files read: is the test running in the package's directory?")
}
