package scaleout

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/bench/workerbench"
	"github.com/saleassist-pipeline/pipeline/internal/testkit"
	"github.com/saleassist-pipeline/pipeline/pkg/queue"
)

// With fewer people than events (-returning, the hot key), event i is about person i mod people:
// each person's events come back in order, each event under an id of its own.
func TestPrefillReturningPeople(t *testing.T) {
	root, err := workerbench.FindModuleRoot()
	require.NoError(t, err)
	fixture, err := os.ReadFile(filepath.Join(root, workerbench.FixturePath))
	require.NoError(t, err)
	tpl, err := workerbench.NewTemplate(fixture, workerbench.SizeFixture)
	require.NoError(t, err)
	js := testkit.StartJetStream(t)

	const events, people = 6, 3
	require.NoError(t, prefill(t.Context(), js.Conn, tpl, events, people))

	s, err := js.JS.Stream(t.Context(), queue.DefaultConfig().Stream)
	require.NoError(t, err)
	var emails, ids []string
	for seq := uint64(1); seq <= events; seq++ {
		m, err := s.GetMsg(t.Context(), seq)
		require.NoError(t, err)
		var doc struct {
			Payload struct {
				ID     string `json:"id"`
				People struct {
					Email string `json:"email"`
				} `json:"people_detail"`
			} `json:"payload"`
		}
		require.NoError(t, json.Unmarshal(m.Data, &doc))
		emails = append(emails, doc.Payload.People.Email)
		ids = append(ids, doc.Payload.ID)
	}
	for i := range events {
		require.Equal(t, emails[i%people], emails[i], "event %d is about person %d", i, i%people)
		require.Equal(t, i < people, !slices.Contains(emails[:i], emails[i]), "event %d: a new person only in the first round", i)
		require.False(t, slices.Contains(ids[:i], ids[i]), "event ids are unique: %v", ids)
	}
}
