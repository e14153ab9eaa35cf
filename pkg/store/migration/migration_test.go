package migration

import (
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"
)

func TestLoadOrdersByVersion(t *testing.T) {
	ms, err := Load(fstest.MapFS{
		"migrations/0010_later.sql": {Data: []byte("B")},
		"migrations/0002_first.sql": {Data: []byte("A")},
		"migrations/README":         {Data: []byte("not a migration")},
	})
	require.NoError(t, err)
	require.Equal(t, []Migration{{2, "0002_first.sql", "A"}, {10, "0010_later.sql", "B"}}, ms)
}

func TestLoadRefusesBadNamesAndSharedVersions(t *testing.T) {
	_, err := Load(fstest.MapFS{"migrations/init.sql": {}})
	require.ErrorContains(t, err, "migration init.sql: name must start with its number")

	_, err = Load(fstest.MapFS{"migrations/0003_a.sql": {}, "migrations/0003_b.sql": {}})
	require.ErrorContains(t, err, "migrations 0003_a.sql and 0003_b.sql share version 3")
}
