package secretcheck

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCheck(t *testing.T) {
	t.Parallel()
	for _, v := range []string{"change-me-openssl-rand-base64-32", "CHANGE-ME-console-openssl-rand-base64-32", "change-me", "change-meeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"} {
		err := Check("ADMIN_TOKEN", v, 16)
		require.Error(t, err, v)
		require.Contains(t, err.Error(), "ADMIN_TOKEN is the placeholder of .env.example")
		require.Contains(t, err.Error(), "openssl rand -base64 32")
		if rest := v[len(PlaceholderPrefix):]; rest != "" {
			require.NotContains(t, err.Error(), rest, "the value is not echoed")
		}
	}
	err := Check("WEBHOOK_SECRETS #2", "short", 16)
	require.EqualError(t, err, "WEBHOOK_SECRETS #2 is 5 characters; use at least 16: generate one with `openssl rand -base64 32`")
	require.NoError(t, Check("x", "k3Jx9QmZ2vLp8RtY4wNb", 16))
	require.NoError(t, Check("x", "we-change-me-later-0123456789", 16), "only a value that starts with the placeholder")
}
