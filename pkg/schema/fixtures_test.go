package schema_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/internal/testkit"
)

// Every real payload, in the repository's copies and in ../shared/fixtures (the team's, beside
// the repository: present on the team's machines and in CI, absent in a bare clone, so the tests
// never depend on it), validates against the schema of its event type (or the envelope's); the
// repository's copies match the shared originals.
func TestFixturesMatchTheirSchemas(t *testing.T) {
	t.Parallel()
	b := setup(t)
	fixtures := testkit.FixturesDir(t)
	dirs := []string{fixtures}
	sharedFixtures, ok := testkit.SharedFixturesDir(t)
	if ok {
		dirs = append(dirs, sharedFixtures)
	}
	checked := 0
	for _, dir := range dirs {
		files, err := filepath.Glob(filepath.Join(dir, "*.json"))
		require.NoError(t, err)
		for _, path := range files {
			if filepath.Base(path) == "seed_sample.json" {
				continue // the seed page's copy, invalid JSON on purpose (a test case of the ingest)
			}
			raw, err := os.ReadFile(path)
			require.NoError(t, err)
			doc := decode(t, raw)
			eventType, _ := doc.(map[string]any)["event_type"].(string)
			require.NoError(t, b.v.ValidateEvent(eventType, doc), path)
			checked++
			if dir == sharedFixtures {
				copyPath := filepath.Join(fixtures, filepath.Base(path))
				mine, err := os.ReadFile(copyPath)
				require.NoError(t, err, "copy %s into testdata/fixtures", path)
				require.True(t, bytes.Equal(raw, mine), "%s differs from %s", copyPath, path)
			}
		}
	}
	require.NotZero(t, checked, "no fixtures found in %s", strings.Join(dirs, ", "))
}
