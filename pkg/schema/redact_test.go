package schema_test

import (
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
	const address = "42 Quixote Lane, Faridabad"
	doc := testkit.FixtureDocument(t, testkit.FixtureID, func(_, _, person map[string]any) {
		person["widget_latitude"] = address
	})

	err = v.ValidateEvent("widget_new_conversation", doc)
	require.Error(t, err)
	require.Contains(t, err.Error(), "/payload/people_detail/widget_latitude: does not match pattern")
	require.NotContains(t, err.Error(), address)
}
