package ctl

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestHumanBytes(t *testing.T) {
	t.Parallel()
	for n, want := range map[uint64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 5927: "5.8 KiB", 64 << 20: "64.0 MiB", 1 << 30: "1.0 GiB", 3 << 40: "3.0 TiB"} {
		require.Equal(t, want, humanBytes(n), n)
	}
}

func TestPlural(t *testing.T) {
	t.Parallel()
	require.Equal(t, "0 dead letters", plural(0, "dead letter"))
	require.Equal(t, "1 dead letter", plural(1, "dead letter"))
	require.Equal(t, "2 dead letters", plural(2, "dead letter"))
}
