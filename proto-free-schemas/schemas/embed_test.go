package schemas_test

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/proto-free-schemas/schemas"
)

const draft202012 = "https://json-schema.org/draft/2020-12/schema"

// TestEverySchemaFile reads the directory itself, not only FS, so a file the embed pattern
// misses (say, a misnamed *.json) still has to be valid.
func TestEverySchemaFile(t *testing.T) {
	t.Parallel()

	paths, err := filepath.Glob("*.json")
	require.NoError(t, err)
	require.NotEmpty(t, paths)
	for _, path := range paths {
		t.Run(path, func(t *testing.T) {
			t.Parallel()
			require.True(t, strings.HasSuffix(path, ".schema.json"), "name must end in .schema.json to be embedded")

			raw, err := os.ReadFile(path)
			require.NoError(t, err)
			var doc map[string]any
			require.NoError(t, json.Unmarshal(raw, &doc), "not valid JSON")
			require.Equal(t, draft202012, doc["$schema"])
			require.Equal(t, "https://saleassist-pipeline.dev/schemas/"+path, doc["$id"])

			embedded, err := fs.ReadFile(schemas.FS, path)
			require.NoError(t, err, "not embedded")
			require.Equal(t, raw, embedded)
		})
	}
}

func TestFSHoldsTheCoreSchemas(t *testing.T) {
	t.Parallel()

	for _, name := range []string{"envelope.schema.json", "lead.schema.json", "widget_new_conversation.schema.json"} {
		_, err := fs.Stat(schemas.FS, name)
		require.NoError(t, err, name)
	}
}
