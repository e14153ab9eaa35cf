package deploy_test

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

type provisionedDS struct {
	Name      string `yaml:"name"`
	UID       string `yaml:"uid"`
	Type      string `yaml:"type"`
	URL       string `yaml:"url"`
	IsDefault bool   `yaml:"isDefault"`
}

func provisionedDatasource(t *testing.T) provisionedDS {
	t.Helper()
	var f struct {
		APIVersion  int             `yaml:"apiVersion"`
		Datasources []provisionedDS `yaml:"datasources"`
	}
	readYAML(t, &f, "deploy", "grafana", "provisioning", "datasources", "prometheus.yml")
	require.Equal(t, 1, f.APIVersion)
	require.Len(t, f.Datasources, 1)
	ds := f.Datasources[0]
	require.Equal(t, "prometheus", ds.Type)
	require.NotEmpty(t, ds.UID, "the dashboards refer to the datasource by uid")
	return ds
}

// dashboardProviderPath is where Grafana reads the dashboard files (the compose mount target).
func dashboardProviderPath(t *testing.T) string {
	t.Helper()
	var f struct {
		APIVersion int `yaml:"apiVersion"`
		Providers  []struct {
			Name    string `yaml:"name"`
			Type    string `yaml:"type"`
			Options struct {
				Path string `yaml:"path"`
			} `yaml:"options"`
		} `yaml:"providers"`
	}
	readYAML(t, &f, "deploy", "grafana", "provisioning", "dashboards", "dashboards.yml")
	require.Equal(t, 1, f.APIVersion)
	require.Len(t, f.Providers, 1)
	require.Equal(t, "file", f.Providers[0].Type)
	require.NotEmpty(t, f.Providers[0].Options.Path)
	return f.Providers[0].Options.Path
}

func TestDashboards(t *testing.T) {
	t.Parallel()
	ds := provisionedDatasource(t)
	uids := map[string]string{}
	metrics := map[string]bool{} // every metric some panel shows
	for _, d := range loadDashboards(t) {
		require.NotEmpty(t, d.UID, d.file)
		require.NotEmpty(t, d.Title, d.file)
		require.Positive(t, d.SchemaVersion, d.file)
		require.NotContains(t, uids, d.UID, "%s and %s share uid %s", d.file, uids[d.UID], d.UID)
		uids[d.UID] = d.file
		ids := map[int]bool{}
		for _, p := range d.allPanels() {
			where := fmt.Sprintf("%s: panel %d %q", d.file, p.ID, p.Title)
			require.NotZero(t, p.ID, where)
			require.False(t, ids[p.ID], "%s: duplicate panel id", where)
			ids[p.ID] = true
			require.NotEmpty(t, strings.TrimSpace(p.Title), "%s: every panel needs a title", where)
			require.True(t, p.GridPos.W > 0 && p.GridPos.H > 0 && p.GridPos.X+p.GridPos.W <= 24, "%s: gridPos %+v", where, p.GridPos)
			if p.Type == "row" {
				continue
			}
			require.NotNil(t, p.Datasource, where)
			require.Equal(t, ds.UID, p.Datasource.UID, "%s: datasource is the provisioned one", where)
			require.NotEmpty(t, p.Targets, "%s: a panel without a query", where)
			refIDs := map[string]bool{}
			for _, tg := range p.Targets {
				require.NotEmpty(t, strings.TrimSpace(tg.Expr), "%s: target %s has no expr", where, tg.RefID)
				require.NotEmpty(t, tg.RefID, where)
				require.False(t, refIDs[tg.RefID], "%s: duplicate refId %s", where, tg.RefID)
				refIDs[tg.RefID] = true
				if tg.Datasource != nil {
					require.Equal(t, ds.UID, tg.Datasource.UID, where)
				}
				refs, err := parsePromQL(tg.Expr)
				require.NoError(t, err, where)
				for _, s := range refs.Selectors {
					metrics[s.Metric] = true
				}
			}
		}
	}

	// What the issue asks the dashboards to show, by the metric that shows it.
	for what, metric := range map[string]string{
		"ingest throughput by status":            "saleassist_ingest_requests_total",
		"request latency p50/p95/p99":            "saleassist_ingest_request_duration_seconds_bucket",
		"publish latency":                        "saleassist_ingest_publish_duration_seconds_bucket",
		"worker events/s by type and outcome":    "saleassist_worker_events_total",
		"consumer lag":                           "saleassist_worker_consumer_lag",
		"redeliveries":                           "saleassist_worker_redeliveries_total",
		"dead letters":                           "saleassist_worker_dead_letters_total",
		"quarantine":                             "saleassist_ingest_quarantined_total",
		"dead-letter and quarantine stream size": "jetstream_stream_total_messages",
		"duplicates":                             "saleassist_ingest_duplicates_total",
		"stream bytes":                           "jetstream_stream_total_bytes",
		"NATS cluster health":                    "gnatsd_healthz_status",
		"NATS routes":                            "gnatsd_varz_routes",
	} {
		require.True(t, metrics[metric], "no panel shows %s (%s)", what, metric)
	}
	// The latency panels show the three quantiles.
	var exprs []string
	for _, d := range loadDashboards(t) {
		for _, p := range d.allPanels() {
			for _, tg := range p.Targets {
				exprs = append(exprs, tg.Expr)
			}
		}
	}
	for _, h := range []string{"saleassist_ingest_request_duration_seconds_bucket", "saleassist_ingest_publish_duration_seconds_bucket"} {
		for _, q := range []string{"0.5", "0.95", "0.99"} {
			require.True(t, slices.ContainsFunc(exprs, func(e string) bool {
				return strings.Contains(e, "histogram_quantile("+q+",") && strings.Contains(e, h)
			}), "no p%s of %s", q, h)
		}
	}
}

// The pipeline dashboard has an account variable, listing the worker's account label values, and
// every panel whose metric carries the label follows it; worker panels show accounts apart.
func TestDashboardAccountVariable(t *testing.T) {
	t.Parallel()
	var found bool
	for _, d := range loadDashboards(t) {
		if d.UID != "saleassist-pipeline" {
			continue
		}
		found = true
		var ok bool
		for _, v := range d.Templating.List {
			if v.Name != "account" {
				continue
			}
			ok = true
			require.Equal(t, "query", v.Type)
			require.Equal(t, "label_values(saleassist_worker_events_total, account)", v.Definition)
			require.True(t, v.IncludeAll)
			require.Equal(t, ".*", v.AllValue, "All must match every account, including ones added later")
		}
		require.True(t, ok, "no account variable")
		perAccount := []string{"saleassist_worker_events_total", "saleassist_worker_consumer_lag", "saleassist_worker_consumer_pending",
			"saleassist_worker_consumer_ack_pending", "saleassist_worker_dead_letters_total", "saleassist_worker_events_invalid_total"}
		filtered := append([]string{"saleassist_ingest_requests_total", "saleassist_ingest_request_duration_seconds_bucket",
			"saleassist_ingest_publish_duration_seconds_bucket", "saleassist_ingest_duplicates_total",
			"saleassist_ingest_auth_failures_total", "saleassist_ingest_quarantined_total"}, perAccount...)
		for _, p := range d.allPanels() {
			for _, tg := range p.Targets {
				for _, m := range filtered {
					if strings.Contains(tg.Expr, m+"{") || strings.Contains(tg.Expr, m+"[") {
						require.Regexp(t, regexp.QuoteMeta(m)+`\{account=~"\$account"[,}]`, tg.Expr, "panel %q follows the account variable", p.Title)
					}
				}
				for _, m := range perAccount {
					if strings.Contains(tg.Expr, m+"{") || strings.Contains(tg.Expr, m+"[") || strings.Contains(tg.Expr, m+")") {
						require.Contains(t, tg.Expr, "by (account", "panel %q shows accounts apart", p.Title)
					}
				}
			}
		}
	}
	require.True(t, found, "no pipeline dashboard")
}
