package deploy_test

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/pkg/store/storeurl"
)

// locksPerRecord is about how many advisory locks the PostgreSQL store holds per record of a
// batch until it commits (README, PostgreSQL).
const locksPerRecord = 3

// The postgres service: the official image on a named volume, a pg_isready healthcheck, its
// password from the env file, and a lock table and connection limit the workers fit in.
func TestComposePostgres(t *testing.T) {
	t.Parallel()
	p := loadCompose(t, true)
	pg := service(t, p, "postgres")
	require.True(t, strings.HasPrefix(pg.Image, "postgres:15"), "postgres runs %s", pg.Image)
	data := volumeMount(t, pg, "/var/lib/postgresql/data")
	require.Equal(t, types.VolumeTypeVolume, data.Type)
	require.Equal(t, "postgres-data", data.Source)
	require.Empty(t, pg.Ports, "the database is reached on the compose network only")
	require.Contains(t, pg.HealthCheck.Test, "pg_isready")
	env := envOf(pg)
	require.NotEmpty(t, env["POSTGRES_PASSWORD"], "POSTGRES_PASSWORD from the env file")
	require.NotEmpty(t, env["POSTGRES_USER"])
	require.NotEmpty(t, env["POSTGRES_DB"])

	// The shared lock table (max_locks_per_transaction x max_connections entries) holds the
	// advisory locks of every worker's full batch, with room for --scale worker=16.
	settings := serverSettings(t, pg)
	locks, conns := settings["max_locks_per_transaction"], settings["max_connections"]
	w := service(t, p, "worker")
	batch, err := strconv.Atoi(envOf(w)["WORKER_BATCH_SIZE"])
	require.NoError(t, err)
	require.GreaterOrEqual(t, locks*conns, locksPerRecord*batch*16,
		"raise max_locks_per_transaction: the workers' batches would exhaust the lock table")

	// Every program's pool fits max_connections, with room to spare for scaling and psql.
	total := 0
	for _, name := range []string{"worker", "console", "ingestctl"} {
		s := service(t, p, name)
		cfg, err := pgxpool.ParseConfig(envOf(s)["DATABASE_URL"])
		require.NoError(t, err, name)
		n := 1
		if s.Deploy != nil && s.Deploy.Replicas != nil {
			n = *s.Deploy.Replicas
		}
		total += n * int(cfg.MaxConns)
	}
	require.Less(t, total*4, conns, "workers x pool_max_conns must stay well below max_connections")
}

// serverSettings reads the -c name=value settings of the postgres service's command; the
// defaults stand for those it does not set.
func serverSettings(t *testing.T, pg types.ServiceConfig) map[string]int {
	t.Helper()
	out := map[string]int{"max_locks_per_transaction": 64, "max_connections": 100}
	cmd := []string(pg.Command)
	require.NotEmpty(t, cmd)
	require.Equal(t, "postgres", cmd[0])
	for i := 1; i < len(cmd); i++ {
		if cmd[i] != "-c" || i+1 == len(cmd) {
			continue
		}
		k, v, ok := strings.Cut(cmd[i+1], "=")
		require.True(t, ok, cmd[i+1])
		if _, known := out[k]; known {
			n, err := strconv.Atoi(v)
			require.NoError(t, err, cmd[i+1])
			out[k] = n
		}
	}
	return out
}

// requirePostgresURL checks that db, a service's DATABASE_URL, selects the PostgreSQL store on
// the postgres service as its user and database, holds no password (the service gets it as
// PGPASSWORD from the env file, equal to the server's), and that the service waits for the
// database to be healthy.
func requirePostgresURL(t *testing.T, p *types.Project, name, db string) {
	t.Helper()
	kind, _, err := storeurl.KindOf(db)
	require.NoError(t, err, name)
	require.Equal(t, storeurl.Postgres, kind, "service %s: DATABASE_URL=%s is not PostgreSQL", name, db)
	u, err := url.Parse(db)
	require.NoError(t, err, name)
	require.Equal(t, "postgres", u.Hostname(), "service %s: DATABASE_URL names another host", name)
	require.Equal(t, "5432", u.Port(), name)
	_, hasPassword := u.User.Password()
	require.False(t, hasPassword, "service %s: the password belongs in the env file (PGPASSWORD), not in DATABASE_URL", name)
	pg := envOf(service(t, p, "postgres"))
	require.Equal(t, pg["POSTGRES_USER"], u.User.Username(), name)
	require.Equal(t, "/"+pg["POSTGRES_DB"], u.Path, name)
	_, err = pgxpool.ParseConfig(db)
	require.NoError(t, err, name)

	s := service(t, p, name)
	require.Equal(t, pg["POSTGRES_PASSWORD"], envOf(s)["PGPASSWORD"], "service %s logs in with the server's password", name)
	require.Equal(t, "service_healthy", s.DependsOn["postgres"].Condition, "service %s must wait for the database", name)
	require.True(t, slices.ContainsFunc(s.EnvFiles, func(f types.EnvFile) bool { return bool(f.Required) }), name)
}
