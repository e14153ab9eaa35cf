package workerbench

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/internal/testkit"
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
		require.NotEqual(t, tpl.Body("a", "x@example.com", phone(1), "", ""), tpl.Body("b", "y@example.com", phone(2), "m", altPhone(2)))
	}
}

// Tiny PostgreSQL drains, in process and as two one-core cmd/worker processes, store exactly the
// events published with one lead per person (also when several events share one), and the
// process drains read CPU time from /proc. Skipped, like every PostgreSQL test, without
// TEST_DATABASE_URL.
func TestTinyPostgresDrains(t *testing.T) {
	base := testkit.PostgresURL(t)
	root, err := FindModuleRoot()
	require.NoError(t, err)
	fixture, err := os.ReadFile(filepath.Join(root, FixturePath))
	require.NoError(t, err)
	tpl, err := NewTemplate(fixture, SizeFixture)
	require.NoError(t, err)
	bin, err := BuildWorker(t.Context(), root, t.TempDir())
	require.NoError(t, err)
	for _, spec := range []DrainSpec{
		{Kind: Real, Events: 200, Template: tpl, Postgres: base, Postmaster: Postmaster(t.Context(), base), MeetingPerPerson: true},
		{Kind: Real, Events: 200, Workers: 2, Template: tpl, Postgres: base, Postmaster: Postmaster(t.Context(), base), WorkerBin: bin, MaxProcs: 1, MeetingPerPerson: true},
		{Kind: Real, Events: 200, Workers: 2, Template: tpl, Postgres: base, Postmaster: Postmaster(t.Context(), base), WorkerBin: bin, MaxProcs: 1, PerPerson: 4},
	} {
		res, err := Drain(t.Context(), spec)
		require.NoError(t, err)
		require.Equal(t, 200, res.Stored)
		require.Equal(t, spec.wantLeads(), res.Leads)
		if spec.WorkerBin != "" {
			require.Positive(t, res.WorkerCPU)
			require.Equal(t, res.WorkerCPU+res.ServerCPU, res.CPU)
		}
	}
}

// An unreachable server is reported, not hung on.
func TestPostgresUnreachable(t *testing.T) {
	t.Parallel()
	_, err := PostgresReachable(t.Context(), "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=2")
	require.Error(t, err)
}

// Issue 23, item 6: without a server named by -pg-url or TEST_DATABASE_URL the PostgreSQL section
// does not run (it would create and drop databases there), and says in one line how to enable it.
func TestPostgresSectionNeedsAServerGiven(t *testing.T) {
	t.Parallel()
	skipped, version := postgresSection(t.Context(), Options{})
	require.Empty(t, version)
	require.Contains(t, skipped, "no server given")
	require.Contains(t, skipped, "-pg-url")
	require.Contains(t, skipped, "TEST_DATABASE_URL")
	require.NotContains(t, skipped, "\n")
	skipped, _ = postgresSection(t.Context(), Options{SkipPostgres: true, PostgresURL: "postgres://x@127.0.0.1:1/db"})
	require.Equal(t, "-skip-postgres", skipped)
	skipped, _ = postgresSection(t.Context(), Options{PostgresURL: "postgres://x@127.0.0.1:1/db"})
	require.Contains(t, skipped, "unreachable at postgres://x@127.0.0.1:1/db")
}
