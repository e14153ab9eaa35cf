package deploy_test

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/pkg/app"
	"github.com/saleassist-pipeline/pipeline/pkg/app/ingestapp"
	"github.com/saleassist-pipeline/pipeline/pkg/app/workerapp"
	"github.com/saleassist-pipeline/pipeline/pkg/ingest"
	"github.com/saleassist-pipeline/pipeline/pkg/queue"
)

var natsServices = []string{"nats-1", "nats-2", "nats-3"}

// Secrets the compose file must take from the env file only.
var secretKeys = []string{"WEBHOOK_SECRETS", "WEBHOOK_SIGNATURE_SECRETS", "GF_SECURITY_ADMIN_PASSWORD", "ADMIN_TOKEN",
	"POSTGRES_PASSWORD", "PGPASSWORD"}

// loadCompose loads docker-compose.yml as `docker compose --profile tools config` would, with
// .env.example as both the project's .env and the services' env file (ENV_FILE), and nothing
// from the test's own environment. resolveEnv merges each service's env_file into its environment.
func loadCompose(t *testing.T, resolveEnv bool) *types.Project {
	t.Helper()
	abs, err := filepath.Abs(root)
	require.NoError(t, err)
	opts := []cli.ProjectOptionsFn{
		cli.WithWorkingDirectory(abs),
		cli.WithEnvFiles(filepath.Join(abs, ".env.example")),
		cli.WithDotEnv,
		cli.WithEnv([]string{"ENV_FILE=.env.example"}),
		cli.WithProfiles([]string{"tools"}),
		cli.WithResolvedPaths(true),
	}
	if !resolveEnv {
		opts = append(opts, cli.WithoutEnvironmentResolution)
	}
	o, err := cli.NewProjectOptions([]string{filepath.Join(abs, "docker-compose.yml")}, opts...)
	require.NoError(t, err)
	p, err := o.LoadProject(context.Background())
	require.NoError(t, err, "docker-compose.yml does not load")
	return p
}

func service(t *testing.T, p *types.Project, name string) types.ServiceConfig {
	t.Helper()
	s, err := p.GetService(name)
	require.NoError(t, err, "docker-compose.yml has no service %s", name)
	return s
}

// envOf returns a service's resolved environment as the programs read it.
func envOf(s types.ServiceConfig) map[string]string {
	m := map[string]string{}
	for k, v := range s.Environment {
		if v != nil {
			m[k] = *v
		}
	}
	return m
}

func lookup(m map[string]string) app.LookupEnv {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

// longRunning are the services that stay up: all but the tools profile (ingestctl).
func longRunning(p *types.Project) []types.ServiceConfig {
	var out []types.ServiceConfig
	for _, name := range p.ServiceNames() {
		s := p.Services[name]
		if !slices.Contains(s.Profiles, "tools") {
			out = append(out, s)
		}
	}
	return out
}

// volumeMount returns the mount of s at target.
func volumeMount(t *testing.T, s types.ServiceConfig, target string) types.ServiceVolumeConfig {
	t.Helper()
	for _, v := range s.Volumes {
		if v.Target == target {
			return v
		}
	}
	t.Fatalf("service %s mounts nothing at %s", s.Name, target)
	return types.ServiceVolumeConfig{}
}

// natsHosts parses a comma-separated NATS_URL into host:port.
func natsHosts(t *testing.T, urls string) []string {
	t.Helper()
	var hosts []string
	for _, u := range strings.Split(urls, ",") {
		parsed, err := url.Parse(strings.TrimSpace(u))
		require.NoError(t, err, u)
		require.Equal(t, "nats", parsed.Scheme, u)
		hosts = append(hosts, parsed.Host)
	}
	return hosts
}

func TestComposeServicesAreProductionShaped(t *testing.T) {
	t.Parallel()
	p := loadCompose(t, true)

	for _, s := range longRunning(p) {
		require.Contains(t, []string{types.RestartPolicyUnlessStopped, types.RestartPolicyAlways}, s.Restart,
			"service %s needs a restart policy", s.Name)
		require.NotNil(t, s.HealthCheck, "service %s needs a healthcheck", s.Name)
		require.False(t, s.HealthCheck.Disable, "service %s: healthcheck disabled", s.Name)
		require.GreaterOrEqual(t, len(s.HealthCheck.Test), 2, "service %s: empty healthcheck", s.Name)
		require.Contains(t, []string{"CMD", "CMD-SHELL"}, s.HealthCheck.Test[0], s.Name)
		require.NotNil(t, s.HealthCheck.Interval, s.Name)
		require.NotNil(t, s.HealthCheck.Timeout, s.Name)
		require.NotNil(t, s.HealthCheck.StartPeriod, s.Name)
		for _, d := range s.DependsOn {
			require.NotEmpty(t, d.Condition, s.Name)
		}
		for dep := range s.DependsOn {
			require.Contains(t, p.ServiceNames(), dep, "service %s depends on an unknown service", s.Name)
		}
	}

	// Every volume is a declared named volume or a bind mount of a file of this repository.
	for _, name := range p.ServiceNames() {
		s := p.Services[name]
		for _, v := range s.Volumes {
			switch v.Type {
			case types.VolumeTypeVolume:
				require.NotEmpty(t, v.Source, "service %s: anonymous volume at %s; name it", name, v.Target)
				require.Contains(t, p.Volumes, v.Source, "service %s: volume %s is not declared", name, v.Source)
			case types.VolumeTypeBind:
				_, err := os.Stat(v.Source)
				require.NoError(t, err, "service %s mounts a missing %s", name, v.Source)
				require.True(t, v.ReadOnly, "service %s: configuration mount %s should be read-only", name, v.Target)
			default:
				t.Errorf("service %s: unexpected volume type %s", name, v.Type)
			}
		}
	}
	// The state of each stateful service is on its own named volume.
	for name, target := range map[string]string{
		"nats-1": "/data", "nats-2": "/data", "nats-3": "/data", "ingest": "/data",
		"prometheus": "/prometheus", "grafana": "/var/lib/grafana", "postgres": "/var/lib/postgresql/data",
	} {
		require.Equal(t, types.VolumeTypeVolume, volumeMount(t, service(t, p, name), target).Type, name)
	}
	// The workers keep nothing of their own (the leads are on the postgres service), so they can
	// run on any host; a shared volume would tie them to one.
	require.Empty(t, service(t, p, "worker").Volumes, "workers are stateless")

	// Our own containers run read-only, unprivileged, without capabilities; logs are rotated.
	for _, name := range p.ServiceNames() {
		s := p.Services[name]
		if s.Build != nil {
			require.True(t, s.ReadOnly, "service %s: read_only root file system", name)
			require.Contains(t, s.SecurityOpt, "no-new-privileges:true", name)
			require.Equal(t, []string{"ALL"}, s.CapDrop, name)
		}
		if !slices.Contains(s.Profiles, "tools") {
			require.NotNil(t, s.Logging, "service %s: log rotation", name)
			require.NotEmpty(t, s.Logging.Options["max-size"], name)
		}
	}
}

func TestComposeNATSCluster(t *testing.T) {
	t.Parallel()
	p := loadCompose(t, true)
	volumes := map[string]bool{}
	for i, name := range natsServices {
		s := service(t, p, name)
		require.True(t, strings.HasPrefix(s.Image, "nats:"), "%s runs %s", name, s.Image)
		require.Equal(t, name, envOf(s)["NATS_SERVER_NAME"], "%s: server_name comes from NATS_SERVER_NAME", name)
		require.Equal(t, []string{"nats-server", "--config", "/etc/nats/nats.conf"}, []string(s.Command), name)
		conf := volumeMount(t, s, "/etc/nats/nats.conf")
		require.Equal(t, mustAbs(t, repoPath("deploy", "nats", "nats.conf")), conf.Source, name)
		data := volumeMount(t, s, "/data") // nats.conf's store_dir
		require.False(t, volumes[data.Source], "%s shares volume %s with another node", name, data.Source)
		volumes[data.Source] = true
		// Monitoring: published on the host's loopback, 8222, 8223, 8224.
		require.Len(t, s.Ports, 1, name)
		require.Equal(t, uint32(natsMonitorPort), s.Ports[0].Target, name)
		require.Equal(t, strconv.Itoa(8222+i), s.Ports[0].Published, name)
		require.Equal(t, "127.0.0.1", s.Ports[0].HostIP, "%s: monitoring only on the host's loopback", name)
		require.Contains(t, strings.Join(s.HealthCheck.Test, " "), fmt.Sprintf(":%d/healthz", natsMonitorPort), name)

		// Its exporter watches it, and waits for it to be healthy (the exporter learns /varz's
		// fields from the first answer).
		exp := service(t, p, "nats-exporter-"+strconv.Itoa(i+1))
		require.Equal(t, "nats-exporter", exp.Build.Target)
		cmd := strings.Join(exp.Command, " ")
		for _, flag := range []string{"-varz", "-routez", "-healthz", "-jsz=all", fmt.Sprintf("%s,http://%s:%d", name, name, natsMonitorPort)} {
			require.Contains(t, cmd, flag, exp.Name)
		}
		require.Equal(t, "service_healthy", exp.DependsOn[name].Condition, exp.Name)
	}
}

func TestComposeIngestAndWorkers(t *testing.T) {
	t.Parallel()
	p := loadCompose(t, true)
	wantNATS := []string{}
	for _, n := range natsServices {
		wantNATS = append(wantNATS, net.JoinHostPort(n, strconv.Itoa(natsClientPort)))
	}

	// The ingest, configured by the real cmd/ingest flag parser from the service's environment.
	in := service(t, p, "ingest")
	require.Equal(t, []string{"ingest"}, []string(in.Command))
	require.Equal(t, "pipeline", in.Build.Target)
	m := ingestapp.New()
	m.Env = lookup(envOf(in))
	require.NoError(t, m.ParseFlags(nil))
	c := m.Config
	require.False(t, m.Standalone(), "the ingest must use the cluster, not an embedded server")
	require.ElementsMatch(t, wantNATS, natsHosts(t, c.NatsURL), "NATS_URL lists every node")
	require.EqualValues(t, 3, c.StreamReplicas, "STREAM_REPLICAS=3 on a three-node cluster")
	require.NotEmpty(t, c.Secrets, "WEBHOOK_SECRETS from the env file")
	// .env.example's WEBHOOK_SECRETS is a placeholder, refused at start (issue 23, item 5).
	require.ErrorContains(t, ingest.CheckSecrets(c.Secrets), "placeholder of .env.example")
	require.Equal(t, "/data", c.DataDir)
	require.Equal(t, types.VolumeTypeVolume, volumeMount(t, in, c.DataDir).Type)
	require.LessOrEqual(t, c.MaxBody+queue.HeaderRoom, natsMaxPayload(t),
		"MAX_BODY_BYTES plus headers must fit nats.conf's max_payload, or the ingest lowers it")
	require.LessOrEqual(t, c.StreamMaxBytes+c.QuarantineMax+queue.DefaultDeadLetterMaxBytes, natsOptions(t, "nats-1").JetStreamMaxStore,
		"nats.conf's max_file_store must hold every stream's MaxBytes")
	_, port, err := net.SplitHostPort(c.Addr)
	require.NoError(t, err)
	require.Len(t, in.Ports, 1)
	require.Equal(t, port, strconv.Itoa(int(in.Ports[0].Target)), "the published port is INGEST_ADDR's")
	require.Contains(t, strings.Join(in.HealthCheck.Test, " "), ":"+port+"/readyz")
	for _, n := range natsServices {
		require.Equal(t, "service_healthy", in.DependsOn[n].Condition)
	}

	// The workers: scalable (no container_name, no host port), on the postgres service.
	w := service(t, p, "worker")
	require.Equal(t, []string{"worker"}, []string(w.Command))
	require.Empty(t, w.ContainerName, "container_name would stop --scale worker=N")
	require.Empty(t, w.Ports, "a host port would stop --scale worker=N")
	require.NotNil(t, w.Deploy)
	require.NotNil(t, w.Deploy.Replicas)
	require.GreaterOrEqual(t, *w.Deploy.Replicas, 2, "two workers by default")
	wm := workerapp.New()
	wm.Env = lookup(envOf(w))
	require.NoError(t, wm.ParseFlags(nil))
	wc := wm.Config
	require.ElementsMatch(t, wantNATS, natsHosts(t, wc.NatsURL))
	require.EqualValues(t, 3, wc.StreamReplicas)
	requirePostgresURL(t, p, w.Name, wc.DB)
	_, wport, err := net.SplitHostPort(wc.Addr)
	require.NoError(t, err)
	require.Equal(t, wport, strconv.Itoa(workerDNSPort(t)), "Prometheus scrapes workers on WORKER_ADDR's port")
	require.Contains(t, strings.Join(w.HealthCheck.Test, " "), ":"+wport+"/readyz")
	require.Equal(t, in.Image, w.Image, "one image for the ingest and the workers")

	// ingestctl, on demand.
	ctl := service(t, p, "ingestctl")
	require.Equal(t, []string{"/usr/local/bin/ingestctl"}, []string(ctl.Entrypoint))
	require.ElementsMatch(t, wantNATS, natsHosts(t, envOf(ctl)["NATS_URL"]))
	requirePostgresURL(t, p, ctl.Name, envOf(ctl)["DATABASE_URL"])
	// The SQLite file of a stack from before PostgreSQL, where migrate-store finds it.
	require.Equal(t, "leads-data", volumeMount(t, ctl, "/data").Source)
}

// Secrets are in the env file, never in docker-compose.yml itself.
func TestComposeSecretsFromEnvFile(t *testing.T) {
	t.Parallel()
	raw := loadCompose(t, false) // environment: as written, env files not merged
	for _, name := range raw.ServiceNames() {
		for _, k := range secretKeys {
			require.NotContains(t, raw.Services[name].Environment, k, "service %s: %s belongs in the env file", name, k)
		}
	}
	for name, keys := range map[string][]string{
		"ingest":   {"WEBHOOK_SECRETS"},
		"console":  {"ADMIN_TOKEN", "PGPASSWORD"},
		"worker":   {"PGPASSWORD"},
		"postgres": {"POSTGRES_PASSWORD"},
		"grafana":  {"GF_SECURITY_ADMIN_USER", "GF_SECURITY_ADMIN_PASSWORD"},
	} {
		s := service(t, raw, name)
		require.NotEmpty(t, s.EnvFiles, "service %s takes its secrets from an env file", name)
		for _, f := range s.EnvFiles {
			require.True(t, bool(f.Required), "service %s: a missing env file must stop the start", name)
			require.Equal(t, ".env.example", filepath.Base(f.Path), "ENV_FILE chooses the file")
		}
		resolved := envOf(service(t, loadCompose(t, true), name))
		for _, k := range keys {
			require.NotEmpty(t, resolved[k], "service %s: %s from the env file", name, k)
		}
	}
	ignore := string(readFile(t, ".dockerignore"))
	require.Contains(t, strings.Fields(ignore), ".env", "the filled-in .env must not reach the build context")
}

func TestComposeMonitoring(t *testing.T) {
	t.Parallel()
	p := loadCompose(t, true)
	prom := service(t, p, "prometheus")
	require.Equal(t, mustAbs(t, repoPath("deploy", "prometheus")), volumeMount(t, prom, "/etc/prometheus").Source)
	require.Contains(t, []string(prom.Command), "--config.file=/etc/prometheus/prometheus.yml")

	// Every scrape target is a compose service, on a port that service serves.
	cfg := loadPromConfig(t)
	require.Subset(t, sortedKeys(cfg.jobNames()), []string{"ingest", "worker", "nats"})
	for _, sc := range cfg.ScrapeConfigs {
		for _, st := range sc.StaticConfigs {
			for _, target := range st.Targets {
				host, _, err := net.SplitHostPort(target)
				require.NoError(t, err, target)
				if host == "localhost" {
					continue
				}
				require.Contains(t, p.ServiceNames(), host, "job %s scrapes %s, which is no compose service", sc.JobName, target)
			}
		}
		for _, dns := range sc.DNSSDConfigs {
			require.Equal(t, "A", dns.Type)
			for _, n := range dns.Names {
				require.Contains(t, p.ServiceNames(), n, "job %s looks up %s, which is no compose service", sc.JobName, n)
			}
		}
	}
	require.Contains(t, staticTargets(cfg, "ingest"), "ingest:8080")
	var exporters []string
	for i := range natsServices {
		exporters = append(exporters, fmt.Sprintf("nats-exporter-%d:7777", i+1))
	}
	require.ElementsMatch(t, exporters, staticTargets(cfg, "nats"))

	// Grafana: provisioning and dashboards mounted where the provisioning files say.
	g := service(t, p, "grafana")
	require.Equal(t, mustAbs(t, repoPath("deploy", "grafana", "provisioning")), volumeMount(t, g, "/etc/grafana/provisioning").Source)
	dash := volumeMount(t, g, dashboardProviderPath(t))
	require.Equal(t, mustAbs(t, repoPath("deploy", "grafana", "dashboards")), dash.Source)
	ds := provisionedDatasource(t)
	u, err := url.Parse(ds.URL)
	require.NoError(t, err)
	require.Equal(t, "prometheus", u.Hostname(), "the datasource points at the prometheus service")
	require.Equal(t, "service_healthy", g.DependsOn["prometheus"].Condition)
}

func staticTargets(c promConfig, job string) []string {
	var out []string
	for _, sc := range c.ScrapeConfigs {
		if sc.JobName == job {
			for _, st := range sc.StaticConfigs {
				out = append(out, st.Targets...)
			}
		}
	}
	return out
}

// workerDNSPort is the port Prometheus scrapes the workers found through Docker's DNS on.
func workerDNSPort(t *testing.T) int {
	t.Helper()
	for _, sc := range loadPromConfig(t).ScrapeConfigs {
		if sc.JobName == "worker" {
			require.Len(t, sc.DNSSDConfigs, 1)
			require.Equal(t, []string{"worker"}, sc.DNSSDConfigs[0].Names)
			return sc.DNSSDConfigs[0].Port
		}
	}
	t.Fatal("prometheus.yml has no job worker")
	return 0
}

func mustAbs(t *testing.T, path string) string {
	t.Helper()
	abs, err := filepath.Abs(path)
	require.NoError(t, err)
	return abs
}
