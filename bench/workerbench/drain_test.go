package workerbench

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// A tiny drain of each worker stores exactly the events published, one lead each. This checks
// the harness and the baseline for correctness; it asserts nothing about speed.
func TestTinyDrainStoresExactlyTheEvents(t *testing.T) {
	t.Parallel()
	root, err := FindModuleRoot()
	require.NoError(t, err)
	fixture, err := os.ReadFile(filepath.Join(root, FixturePath))
	require.NoError(t, err)
	for _, tc := range []struct {
		kind    Kind
		workers int
		size    string
	}{
		{Real, 1, SizeFixture},
		{Naive, 1, SizeFixture},
		{Real, 2, SizeSmall},
		{Real, 1, SizeLarge},
	} {
		t.Run(string(tc.kind)+"-"+tc.size, func(t *testing.T) {
			t.Parallel()
			tpl, err := NewTemplate(fixture, tc.size)
			require.NoError(t, err)
			res, err := Drain(t.Context(), DrainSpec{Kind: tc.kind, Events: 200, Workers: tc.workers, Template: tpl})
			require.NoError(t, err)
			require.Equal(t, 200, res.Stored)
			require.Equal(t, 200, res.Leads)
			require.Positive(t, res.Drain)
		})
	}
}

// The size classes come out near their names.
func TestTemplateSizes(t *testing.T) {
	t.Parallel()
	root, err := FindModuleRoot()
	require.NoError(t, err)
	fixture, err := os.ReadFile(filepath.Join(root, FixturePath))
	require.NoError(t, err)
	for size, want := range map[string][2]int{SizeSmall: {800, 1300}, SizeFixture: {4000, 5200}, SizeLarge: {60000, 70000}} {
		tpl, err := NewTemplate(fixture, size)
		require.NoError(t, err)
		require.GreaterOrEqual(t, tpl.Size(), want[0], size)
		require.LessOrEqual(t, tpl.Size(), want[1], size)
		require.NotEqual(t, tpl.Body("a", "x@example.com", phone(1), ""), tpl.Body("b", "y@example.com", phone(2), "m"))
	}
}
