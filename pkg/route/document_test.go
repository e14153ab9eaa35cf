package route_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline"
	"github.com/saleassist-pipeline/pipeline/internal/testkit"
	"github.com/saleassist-pipeline/pipeline/pkg/route"
)

// Document gives handlers the body as generic values with numbers as json.Number, so 13-digit
// millisecond timestamps and coordinates keep every digit; a body it cannot decode is an error
// that names the event.
func TestDocument(t *testing.T) {
	t.Parallel()
	ev := testkit.FixtureEvent(t, "ev-doc")
	doc, err := route.Document(context.Background(), ev)
	require.NoError(t, err)
	require.Equal(t, pipeline.WidgetNewConversation, doc["event_type"])
	p := doc["payload"].(map[string]any)
	require.Equal(t, json.Number("1720694558068"), p["created_on"])
	require.Equal(t, json.Number("30"), p["meta"].([]any)[0].(map[string]any)["duration"])
	person := p["people_detail"].(map[string]any)
	require.Equal(t, "Prakash Mudhaliyar", person["name"])
	require.Equal(t, json.Number("28.4098"), person["widget_latitude"])

	for _, body := range []string{`{"event_type":`, `[1,2]`, ``} {
		_, err := route.Document(context.Background(), testkit.NewEvent("ev-bad", "x", []byte(body)))
		require.Error(t, err, "%q", body)
		require.Contains(t, err.Error(), "ev-bad", "the error names the event")
	}
}
