package ctl_test

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// The CLI lists one account's entries with --account, and shows every entry's account.
func TestIngestctlListsByAccount(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.DeadLetterFor(t, "acme", "dl-acme", "max_deliver")
	b.DeadLetterFor(t, "globex", "dl-globex", "max_deliver")
	b.QuarantineFor(t, "acme", "invalid_json", []byte("{"))
	b.QuarantineFor(t, "globex", "invalid_json", []byte("{"))

	code, out, errOut := b.run(t, "dlq", "list")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "ACCOUNT")
	require.Contains(t, out, "2 dead letters")
	code, out, errOut = b.run(t, "dlq", "list", "--account", "acme")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "dl-acme")
	require.NotContains(t, out, "dl-globex")
	require.Contains(t, out, "1 dead letter\n")

	code, out, errOut = b.run(t, "quarantine", "list", "--account", "globex")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "globex")
	require.NotContains(t, out, "acme")
	require.Contains(t, out, "1 in quarantine")

	code, _, errOut = b.run(t, "dlq", "replay", "1", "--account", "acme")
	require.Equal(t, 2, code)
	require.Contains(t, errOut, "--all")
	code, out, errOut = b.run(t, "dlq", "replay", "--all", "--account", "globex")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "replayed 1 dead letter")
	code, out, _ = b.run(t, "dlq", "list", "--account", "acme")
	require.Equal(t, 0, code)
	require.Contains(t, out, "dl-acme", "replay --all --account leaves other accounts' dead letters")
}
