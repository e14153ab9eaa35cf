package ctl_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/saleassist-pipeline/pipeline/cmd/ingestctl/ctl"
	"github.com/saleassist-pipeline/pipeline/pkg/admin/admintest"
	"github.com/stretchr/testify/require"
)

// testBundle is a pipeline's JetStream (admintest) that ingestctl runs against.
type testBundle struct{ *admintest.Bundle }

func setup(t *testing.T) *testBundle { return &testBundle{admintest.Setup(t)} }

// run runs ingestctl against the bundle's server and returns its exit code and output.
func (b *testBundle) run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	return runCtl(append([]string{"-nats-url", b.URL}, args...)...)
}

// ok runs ingestctl, requires it to succeed and returns its stdout.
func (b *testBundle) ok(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errOut := b.run(t, args...)
	require.Equal(t, 0, code, "ingestctl %s: %s", strings.Join(args, " "), errOut)
	return out
}

// refused runs ingestctl, requires it to fail with exit code 1 and returns its stderr.
func (b *testBundle) refused(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errOut := b.run(t, args...)
	require.Equal(t, 1, code, "ingestctl %v should refuse; it printed %s", args, out)
	return errOut
}

// runCtl runs ingestctl with args and no environment, in-process: the real command line, as
// cmd/ingestctl runs it.
func runCtl(args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	c := &ctl.CLI{Env: func(string) (string, bool) { return "", false }, Stdout: &out, Stderr: &errOut}
	code := c.Run(context.Background(), args)
	return code, out.String(), errOut.String()
}
