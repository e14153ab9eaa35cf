package schema_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/internal/testkit"
	"github.com/saleassist-pipeline/pipeline/pkg/schema"
)

// A value that breaks a pattern is lead data typed into the wrong field; the error, which is
// logged and kept in dead-letter headers, names the field and the pattern but not the value.
func TestErrorDoesNotQuoteValues(t *testing.T) {
	t.Parallel()
	v, err := schema.New()
	require.NoError(t, err)
	var doc map[string]any
	require.NoError(t, json.Unmarshal(testkit.Fixture(t), &doc))
	const address = "42 Quixote Lane, Faridabad"
	doc["payload"].(map[string]any)["people_detail"].(map[string]any)["widget_latitude"] = address

	err = v.ValidateEvent("widget_new_conversation", doc)
	require.Error(t, err)
	require.Contains(t, err.Error(), "/payload/people_detail/widget_latitude: does not match pattern")
	require.NotContains(t, err.Error(), address)
}
