package console_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// oddIDs stores events whose id and type are "." and "..", one lead each, and returns the lead ids.
func (b *testBundle) oddIDs(t *testing.T) []int64 {
	t.Helper()
	var ids []int64
	for _, id := range []string{".", ".."} {
		body := fmt.Appendf(nil, `{"event_type":%q,"payload":{"id":%q,"people_detail":{"name":"Dot %d","email":"dot%d@example.com"}}}`,
			id, id, len(id), len(id))
		ids = append(ids, b.store(t, body)...)
	}
	return ids
}

// Links to an event id or type that is "." or "..": the page links carry it in the query string
// (a browser resolves "/events/.." and "/events/%2E%2E" alike to "/"), and the path forms take
// it escaped, %2E%2E, and resolve it back.
func TestLinksToDotIDs(t *testing.T) {
	t.Parallel()
	b := setup(t)
	leads := b.oddIDs(t)
	_, page := b.do(t, http.MethodGet, fmt.Sprintf("/leads/%d", leads[1]), nil, true)
	require.Contains(t, string(page), `href="/events?id=.."`)
	require.NotContains(t, string(page), `href="/events/.."`)
	_, page = b.do(t, http.MethodGet, "/schema/%2E%2E", nil, true)
	require.Contains(t, string(page), `<h1>Schema: ..</h1>`)
	for _, link := range []string{`href="/schema?type=.."`, `href="/schema?type=."`, `href="/api/mapping.yaml?event_type=.."`, `action="/schema?type=.."`} {
		require.Contains(t, string(page), link)
	}

	for id, paths := range map[string][]string{
		"..": {"/api/events/%2E%2E", "/api/events/.%2e", "/api/events?id=..", "/events/%2E%2E", "/events?id=.."},
		".":  {"/api/events/%2E", "/api/events?id=.", "/events/%2e", "/events?id=."},
	} {
		for _, p := range paths {
			code, body := b.do(t, http.MethodGet, p, nil, true)
			require.Equal(t, http.StatusOK, code, "%s: %s", p, body)
			if strings.HasPrefix(p, "/api/") {
				require.Contains(t, string(body), fmt.Sprintf(`"event_id":%q`, id), p)
			} else {
				require.Contains(t, string(body), fmt.Sprintf(`<span id="event-id">%s</span>`, id), p)
			}
		}
	}
	var a schemaAnswer
	b.getJSON(t, "/api/schema/%2E%2E", &a)
	require.Equal(t, "..", a.EventType)
	for _, p := range []string{"/api/mapping.yaml?event_type=..", "/api/schema/%2E%2E/mapping.yaml"} {
		code, body := b.do(t, http.MethodGet, p, nil, true)
		require.Equal(t, http.StatusOK, code, p)
		require.Contains(t, string(body), `for the event type ".."`, p)
	}
}
