package envflag_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/internal/envflag"
)

func envOf(m map[string]string) envflag.LookupEnv {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

// The env value is the default, a flag overrides it, an empty value means the default unless
// empty is a meaning of its own, and the help names the variable.
func TestEnvIsTheDefaultAndTheFlagWins(t *testing.T) {
	t.Parallel()
	fs := envflag.New("x", envOf(map[string]string{"A": "from-env", "B": "", "C": "", "N": "7", "D": "3s", "F": "true"}))
	var a, b, c, flagOnly string
	var n int64
	var d time.Duration
	var on bool
	fs.StringEnv(&a, "a", "A", "def-a", "a setting")
	fs.StringEnv(&b, "b", "B", "def-b", "b setting")
	fs.StringEnvEmptyOK(&c, "c", "C", "def-c", "c setting")
	fs.StringEnv(&flagOnly, "only", "", "def-only", "flag only")
	fs.Int64Env(&n, "n", "N", 1, "n")
	fs.DurationEnv(&d, "d", "D", time.Second, "d")
	fs.BoolEnv(&on, "f", "F", false, "f")
	require.NoError(t, fs.Parse([]string{"-n", "9"}))
	require.Equal(t, "from-env", a)
	require.Equal(t, "def-b", b, "an empty env value falls back to the default")
	require.Empty(t, c, "an empty env value turns an EmptyOK setting off")
	require.Equal(t, "def-only", flagOnly)
	require.EqualValues(t, 9, n, "the flag wins over the env")
	require.Equal(t, 3*time.Second, d)
	require.True(t, on)
	require.Equal(t, "a setting (env A)", fs.Lookup("a").Usage)
	require.Equal(t, "flag only", fs.Lookup("only").Usage)
}

// Every bad env value is reported, by its variable's name, before any flag is parsed.
func TestBadEnvValuesAreReportedByName(t *testing.T) {
	t.Parallel()
	fs := envflag.New("x", envOf(map[string]string{"F": "maybe", "N": "1MB", "D": "soon"}))
	var on bool
	var n int64
	var d time.Duration
	fs.BoolEnv(&on, "f", "F", false, "f")
	fs.Int64Env(&n, "n", "N", 0, "n")
	fs.DurationEnv(&d, "d", "D", 0, "d")
	err := fs.Parse(nil)
	require.ErrorContains(t, err, `F="maybe": want true or false`)
	require.ErrorContains(t, err, `N="1MB": want a whole number`)
	require.ErrorContains(t, err, `D="soon": want a duration`)
}
