package deploy_test

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/pkg/ingest"
	"github.com/saleassist-pipeline/pipeline/pkg/queue"
)

// The ports of deploy/nats/nats.conf that the compose file and the exporters rely on.
const (
	natsClientPort  = 4222
	natsClusterPort = 6222
	natsMonitorPort = 8222
)

// natsOptions parses deploy/nats/nats.conf with nats-server's own parser, as the node name would
// (compose passes NATS_SERVER_NAME in the environment; here it is defined as a config variable,
// which the $NATS_SERVER_NAME reference finds first, so the test environment is left alone).
func natsOptions(t *testing.T, name string) *server.Options {
	t.Helper()
	conf := readFile(t, "deploy", "nats", "nats.conf")
	path := filepath.Join(t.TempDir(), "nats.conf")
	require.NoError(t, os.WriteFile(path, append([]byte("NATS_SERVER_NAME: "+strconv.Quote(name)+"\n"), conf...), 0o600))
	opts, err := server.ProcessConfigFile(path)
	require.NoError(t, err, "deploy/nats/nats.conf does not parse")
	return opts
}

// natsMaxPayload is the cluster's max_payload.
func natsMaxPayload(t *testing.T) int64 {
	t.Helper()
	return int64(natsOptions(t, "nats-1").MaxPayload)
}

func TestNATSConfig(t *testing.T) {
	t.Parallel()
	for _, name := range natsServices {
		opts := natsOptions(t, name)
		require.Equal(t, name, opts.ServerName, "server_name from NATS_SERVER_NAME")
		require.Equal(t, natsClientPort, opts.Port)
		require.Equal(t, natsMonitorPort, opts.HTTPPort, "monitoring for the healthcheck and the exporter")

		require.GreaterOrEqual(t, int64(opts.MaxPayload), int64(ingest.DefaultMaxBody)+queue.HeaderRoom,
			"max_payload must take a 1 MiB body and its headers")
		require.True(t, opts.JetStream, "JetStream enabled")
		require.Equal(t, "/data", opts.StoreDir, "store_dir on the node's named volume (compose mounts it at /data)")
		require.GreaterOrEqual(t, opts.JetStreamMaxStore,
			int64(queue.DefaultMaxBytes+queue.DefaultDeadLetterMaxBytes+queue.DefaultQuarantineMaxBytes),
			"max_file_store must hold every stream's MaxBytes: JetStream refuses a stream it cannot reserve")
		require.Positive(t, opts.LameDuckDuration, "lame-duck mode hands clients over on SIGUSR2")

		require.NotEmpty(t, opts.Cluster.Name)
		require.Equal(t, natsClusterPort, opts.Cluster.Port)
		var routes []string
		for _, r := range opts.Routes {
			require.Equal(t, "nats-route", r.Scheme)
			require.Equal(t, strconv.Itoa(natsClusterPort), r.Port())
			routes = append(routes, r.Hostname())
		}
		require.ElementsMatch(t, natsServices, routes, "every node routes to all three (its own route is skipped)")

		// nats-server accepts the combination (a JetStream cluster needs server and cluster names).
		opts.StoreDir = t.TempDir()
		opts.Port, opts.HTTPPort, opts.Cluster.Port = -1, -1, -1
		opts.Routes = nil
		s, err := server.NewServer(opts)
		require.NoError(t, err)
		s.Shutdown()
	}
}
