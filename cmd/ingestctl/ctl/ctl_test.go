package ctl_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Issue 24, item 3: an unknown command, group or verb is named, with the usage (exit 2); a
// command's own mistakes are followed by its own usage, flags and all.
func TestIngestctlNamesWhatItDoesNotKnow(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args       []string
		says, help string
	}{
		{[]string{"frobnicate"}, `ingestctl: unknown command "frobnicate"`, "usage: ingestctl [-nats-url URL]"},
		{[]string{"dlq"}, "ingestctl: dlq needs a command: delete, discard, discarded, list, replay, show", "usage: ingestctl [-nats-url URL]"},
		{[]string{"accounts", "explode"}, `ingestctl: unknown accounts command "explode" (add, delete, disable, enable, list,`, "usage: ingestctl [-nats-url URL]"},
		{[]string{"dlq", "show"}, "ingestctl: dlq show needs an ID (see `ingestctl dlq list`)", "usage: ingestctl dlq show ID\n"},
		{[]string{"dlq", "show", "1", "2"}, `ingestctl: dlq show: unexpected argument "2"`, "usage: ingestctl dlq show ID\n"},
		{[]string{"dlq", "list", "--bogus"}, "ingestctl: dlq list: flag provided but not defined: -bogus", "  -account string\n"},
		{[]string{"quarantine", "replay", "1", "--body"}, "ingestctl: quarantine replay: flag needs an argument: -body", "  -body FILE\n"},
		{[]string{"dlq", "discard", "1"}, "ingestctl: dlq discard needs --reason TEXT", "usage: ingestctl dlq discard ID --reason TEXT"},
	} {
		code, out, errOut := runCtl(tc.args...)
		require.Equal(t, 2, code, "%v: %s", tc.args, errOut)
		require.Empty(t, out, tc.args)
		require.True(t, strings.HasPrefix(errOut, tc.says), "%v: %s", tc.args, errOut)
		require.Contains(t, errOut, tc.help, tc.args)
	}
}

// Flags take one dash or two, before or after the ID.
func TestIngestctlFlagsEitherWay(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, args := range [][]string{{"dlq", "list", "-json"}, {"dlq", "list", "--json"}, {"quarantine", "list", "-json", "-account", "acme"}} {
		code, out, errOut := b.run(t, args...)
		require.Equal(t, 0, code, "%v: %s", args, errOut)
		require.Equal(t, "[]\n", out, args)
	}
	id := b.QuarantineFor(t, "acme", "invalid_json", []byte("{"))
	for _, args := range [][]string{{"quarantine", "replay", "-body", "nowhere.json", "1"}, {"quarantine", "replay", "1", "--body=nowhere.json"}} {
		code, _, errOut := b.run(t, args...)
		require.Equal(t, 1, code, args)
		require.Contains(t, errOut, "read corrected body", args)
	}
	code, out, errOut := b.run(t, "quarantine", "list")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "1 in quarantine")
	require.EqualValues(t, 1, id)
}

// A command's -h (or --help) prints its own usage on stdout, and is no error.
func TestIngestctlCommandHelp(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"dlq", "replay", "-h"}, {"dlq", "replay", "--help"}} {
		code, out, errOut := runCtl(args...)
		require.Equal(t, 0, code, errOut)
		require.Empty(t, errOut)
		require.True(t, strings.HasPrefix(out, "usage: ingestctl dlq replay ID [--body FILE]"), out)
		require.Contains(t, out, "  -unchanged\n")
	}
}
