package app_test

import (
	"io"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/pkg/app/consoleapp"
	"github.com/saleassist-pipeline/pipeline/pkg/app/ingestapp"
)

// CONSOLE_TZ is read at start by both programs that serve the console: a zone name is taken, a
// name that is not a zone stops the start with the setting named and an example.
func TestConsoleTZIsCheckedAtStart(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ tz, wantErr, wantZone string }{
		{"", "", "UTC"},
		{"Asia/Kolkata", "", "Asia/Kolkata"},
		{"Asia/Kolkatta", `CONSOLE_TZ="Asia/Kolkatta" is not a time zone: use an IANA name such as Asia/Kolkata`, ""},
	} {
		env := map[string]string{"WEBHOOK_SECRETS": testSecret}
		if tc.tz != "" {
			env["CONSOLE_TZ"] = tc.tz
		}
		m := ingestapp.New()
		m.Env, m.Stdout, m.Stderr = envOf(env), io.Discard, io.Discard
		c := consoleapp.New()
		c.Env, c.Stdout, c.Stderr = envOf(env), io.Discard, io.Discard
		errIngest, errConsole := m.ParseFlags(nil), c.ParseFlags(nil)
		if tc.wantErr != "" {
			require.ErrorContains(t, errIngest, tc.wantErr, "ingest")
			require.ErrorContains(t, errConsole, tc.wantErr, "console")
			continue
		}
		require.NoError(t, errIngest)
		require.NoError(t, errConsole)
		require.Equal(t, tc.wantZone, m.Config.ConsoleZone.String())
		require.Equal(t, tc.wantZone, c.Config.Zone.String())
	}
}
