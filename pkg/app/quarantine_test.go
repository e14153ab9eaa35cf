package app_test

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	ingestctl "github.com/saleassist-pipeline/pipeline/cmd/ingestctl/ctl"
	"github.com/saleassist-pipeline/pipeline/internal/testkit"
	"github.com/saleassist-pipeline/pipeline/pkg/account"
)

// The quarantine workflow end to end, as the README tells it: the seed page's broken sample is
// answered 400 with a quarantine_id; ingestctl (finding the standalone ingest through its data
// directory) lists it, shows it byte for byte, replays a corrected body, and the lead is stored.
func TestQuarantineWorkflowEndToEnd(t *testing.T) {
	t.Parallel()
	tb := setup(t)
	seed := testkit.SeedSample(t)
	code, a := post(t, tb.url, testSecret, seed)
	require.Equal(t, http.StatusBadRequest, code)
	require.Equal(t, "invalid_json", a.Error)
	require.Contains(t, a.Message, "line 143, column")
	require.NotEmpty(t, a.QuarantineID)
	require.Contains(t, a.Message, "quarantine_id "+a.QuarantineID)

	ctl := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		c := &ingestctl.CLI{Env: envOf(nil), Stdout: &out, Stderr: &errOut}
		code := c.Run(context.Background(), append([]string{"-data-dir", tb.dataDir}, args...))
		return code, out.String(), errOut.String()
	}
	code, out, errOut := ctl("quarantine", "list")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "invalid_json")
	require.Contains(t, out, "1 in quarantine")

	code, out, _ = ctl("quarantine", "show", a.QuarantineID)
	require.Equal(t, 0, code)
	require.Equal(t, string(seed), out)

	fixed := filepath.Join(t.TempDir(), "fixed.json")
	require.NoError(t, os.WriteFile(fixed, testkit.Fixture(t), 0o600))
	code, out, errOut = ctl("quarantine", "replay", a.QuarantineID, "--body", fixed)
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, testkit.FixtureID)

	st := tb.openStore(t)
	awaitEvents(t, st, 1)
	_, err := st.LeadByEmail(context.Background(), account.Default, "prakashm@athenabpo.in")
	require.NoError(t, err)
	code, out, _ = ctl("quarantine", "list")
	require.Equal(t, 0, code)
	require.Contains(t, out, "0 in quarantine")
}
