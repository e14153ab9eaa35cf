package deploy_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// root is the repository's top directory: tests run in deploy/.
const root = ".."

func repoPath(parts ...string) string { return filepath.Join(append([]string{root}, parts...)...) }

func readFile(t testing.TB, parts ...string) []byte {
	t.Helper()
	b, err := os.ReadFile(repoPath(parts...))
	require.NoError(t, err)
	return b
}

// readYAML decodes a YAML file into v, which models the part the tests read (promtool checks
// the rest).
func readYAML(t testing.TB, v any, parts ...string) {
	t.Helper()
	dec := yaml.NewDecoder(strings.NewReader(string(readFile(t, parts...))))
	require.NoError(t, dec.Decode(v), filepath.Join(parts...))
}

// promConfig is the part of prometheus.yml the tests read.
type promConfig struct {
	Global        map[string]any `yaml:"global"`
	RuleFiles     []string       `yaml:"rule_files"`
	ScrapeConfigs []struct {
		JobName       string `yaml:"job_name"`
		StaticConfigs []struct {
			Targets []string `yaml:"targets"`
		} `yaml:"static_configs"`
		DNSSDConfigs []struct {
			Names           []string `yaml:"names"`
			Type            string   `yaml:"type"`
			Port            int      `yaml:"port"`
			RefreshInterval string   `yaml:"refresh_interval"`
		} `yaml:"dns_sd_configs"`
	} `yaml:"scrape_configs"`
}

func loadPromConfig(t testing.TB) promConfig {
	t.Helper()
	var c promConfig
	readYAML(t, &c, "deploy", "prometheus", "prometheus.yml")
	return c
}

// jobNames are the scrape jobs of prometheus.yml.
func (c promConfig) jobNames() map[string]bool {
	jobs := map[string]bool{}
	for _, sc := range c.ScrapeConfigs {
		jobs[sc.JobName] = true
	}
	return jobs
}

// rule is one alerting rule of alerts.yml.
type rule struct {
	Alert       string            `yaml:"alert"`
	Record      string            `yaml:"record"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []rule `yaml:"rules"`
	} `yaml:"groups"`
}

func loadAlerts(t testing.TB) []rule {
	t.Helper()
	var f ruleFile
	readYAML(t, &f, "deploy", "prometheus", "alerts.yml")
	var rules []rule
	for _, g := range f.Groups {
		rules = append(rules, g.Rules...)
	}
	require.NotEmpty(t, rules)
	return rules
}

// ruleTestFile is a promtool unit-test file.
type ruleTestFile struct {
	RuleFiles []string `yaml:"rule_files"`
	Tests     []struct {
		Name        string `yaml:"name"`
		InputSeries []struct {
			Series string `yaml:"series"`
		} `yaml:"input_series"`
		AlertRuleTests []struct {
			Alertname string `yaml:"alertname"`
			ExpAlerts []struct {
				ExpLabels map[string]string `yaml:"exp_labels"`
			} `yaml:"exp_alerts"`
		} `yaml:"alert_rule_test"`
	} `yaml:"tests"`
}

// ruleTestFiles are the promtool unit-test files .ci/run runs.
var ruleTestFiles = []string{"alerts_test.yml", "alerts_week_test.yml"}

// dashboard is the part of a Grafana dashboard JSON the tests read.
type dashboard struct {
	UID           string  `json:"uid"`
	Title         string  `json:"title"`
	SchemaVersion int     `json:"schemaVersion"`
	Panels        []panel `json:"panels"`
	Templating    struct {
		List []struct {
			Name       string      `json:"name"`
			Type       string      `json:"type"`
			Datasource *datasource `json:"datasource"`
			Definition string      `json:"definition"`
			IncludeAll bool        `json:"includeAll"`
			AllValue   string      `json:"allValue"`
		} `json:"list"`
	} `json:"templating"`
	file string
}

type panel struct {
	ID         int         `json:"id"`
	Type       string      `json:"type"`
	Title      string      `json:"title"`
	Datasource *datasource `json:"datasource"`
	GridPos    struct {
		H, W, X, Y int
	} `json:"gridPos"`
	Targets []struct {
		RefID      string      `json:"refId"`
		Expr       string      `json:"expr"`
		Datasource *datasource `json:"datasource"`
	} `json:"targets"`
	Panels []panel `json:"panels"` // a collapsed row's panels
}

type datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

func loadDashboards(t testing.TB) []dashboard {
	t.Helper()
	files, err := filepath.Glob(repoPath("deploy", "grafana", "dashboards", "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, files, "no dashboards in deploy/grafana/dashboards")
	var ds []dashboard
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		var d dashboard
		require.NoError(t, json.Unmarshal(b, &d), f)
		d.file = filepath.Base(f)
		ds = append(ds, d)
	}
	return ds
}

// allPanels flattens rows: the panels of collapsed rows are nested in the row.
func (d dashboard) allPanels() []panel {
	var ps []panel
	var walk func([]panel)
	walk = func(list []panel) {
		for _, p := range list {
			ps = append(ps, p)
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	return ps
}

// reference is one PromQL expression of the dashboards, the alert rules or the rule tests, with
// where it is, for messages.
type reference struct {
	Where string
	Expr  string
}

// references gathers every PromQL expression the operations assets depend on: each dashboard
// target, each alert rule, and each input series of the rule tests (so that the tests cannot keep
// exercising a metric that no longer exists).
func references(t testing.TB) []reference {
	t.Helper()
	var refs []reference
	for _, d := range loadDashboards(t) {
		for _, p := range d.allPanels() {
			for _, tg := range p.Targets {
				refs = append(refs, reference{fmt.Sprintf("dashboard %s, panel %q (%s)", d.file, p.Title, tg.RefID), tg.Expr})
			}
		}
	}
	for _, r := range loadAlerts(t) {
		refs = append(refs, reference{"alert " + r.Alert, r.Expr})
	}
	for _, f := range ruleTestFiles {
		var tf ruleTestFile
		readYAML(t, &tf, "deploy", "prometheus", f)
		for _, tc := range tf.Tests {
			for _, s := range tc.InputSeries {
				refs = append(refs, reference{fmt.Sprintf("%s, test %q", f, tc.Name), s.Series})
			}
		}
	}
	return refs
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
