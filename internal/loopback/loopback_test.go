package loopback_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/internal/loopback"
)

func TestIs(t *testing.T) {
	t.Parallel()
	for addr, want := range map[string]bool{
		"127.0.0.1:4222": true, "127.1.2.3:0": true, "localhost:8081": true, "[::1]:6060": true,
		":8081": false, "0.0.0.0:4222": false, "[::]:4222": false, "192.168.1.5:8081": false, "example.com:80": false,
	} {
		got, err := loopback.Is(addr)
		require.NoError(t, err, addr)
		require.Equal(t, want, got, addr)
	}
	for _, addr := range []string{"nonsense", "127.0.0.1", ""} {
		got, err := loopback.Is(addr)
		require.Error(t, err, addr)
		require.False(t, got, addr)
	}
}
