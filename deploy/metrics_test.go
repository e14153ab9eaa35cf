package deploy_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/internal/testkit"
	"github.com/saleassist-pipeline/pipeline/pkg/app"
	"github.com/saleassist-pipeline/pipeline/pkg/app/ingestapp"
	"github.com/saleassist-pipeline/pipeline/pkg/app/workerapp"
	"github.com/saleassist-pipeline/pipeline/pkg/queue"
)

// family is one metric family as the programs expose it: its type and, per label, the values
// seen (the programs pre-create their labelled series, so every value they can report is there).
type family struct {
	Type   dto.MetricType
	Labels map[string]map[string]bool
}

// targetLabels are added by Prometheus to every scraped series.
var targetLabels = []string{"job", "instance"}

// Label sets of prometheus-nats-exporter's JetStream metrics (collector/jsz.go).
var (
	jszServerLabels   = []string{"server_id", "server_name", "cluster", "domain", "meta_leader", "is_meta_leader"}
	jszStreamLabels   = append(append([]string{}, jszServerLabels...), "account", "account_id", "stream_name", "stream_leader", "is_stream_leader")
	jszConsumerLabels = append(append([]string{}, jszStreamLabels...), "consumer_name", "consumer_leader", "is_consumer_leader", "consumer_desc", "consumer_created")
)

// externalMetrics are the metrics the dashboards and alerts take from outside the pipeline's own
// programs, with their labels: prometheus-nats-exporter run with -varz -routez -healthz -jsz=all
// (docker-compose.yml), and Prometheus's own up. They are deliberately not scraped here (the
// exporter is no dependency of this module); gnatsd_varz_* are checked against nats-server's
// Varz fields instead (the exporter names them after the JSON fields of /varz), and stream and
// consumer names against pkg/queue's.
var externalMetrics = map[string][]string{
	"up": nil,

	"gnatsd_healthz_status": {"server_id"},
	"gnatsd_varz_routes":    {"server_id"}, "gnatsd_varz_connections": {"server_id"},
	"gnatsd_varz_in_msgs": {"server_id"}, "gnatsd_varz_out_msgs": {"server_id"},
	"gnatsd_varz_in_bytes": {"server_id"}, "gnatsd_varz_out_bytes": {"server_id"},
	"gnatsd_varz_slow_consumers": {"server_id"}, "gnatsd_varz_mem": {"server_id"}, "gnatsd_varz_cpu": {"server_id"},

	"jetstream_server_total_streams":       jszServerLabels,
	"jetstream_server_total_consumers":     jszServerLabels,
	"jetstream_server_total_message_bytes": jszServerLabels,
	"jetstream_server_max_storage":         jszServerLabels,
	"jetstream_stream_total_bytes":         jszStreamLabels,
	"jetstream_stream_total_messages":      jszStreamLabels,
	"jetstream_consumer_num_pending":       jszConsumerLabels,
	"jetstream_consumer_num_ack_pending":   jszConsumerLabels,
	"jetstream_consumer_num_redelivered":   jszConsumerLabels,
}

// The names pkg/queue gives JetStream objects, which the NATS panels and alerts select on.
var (
	streamNames   = []string{queue.DefaultStream, queue.DefaultDeadLetterStream, queue.DefaultQuarantineStream}
	consumerNames = []string{queue.DefaultConsumer}
)

// TestEveryReferencedMetricExists runs the real pipeline (a standalone ingest and a separate
// worker attached to its embedded NATS), posts one event, scrapes both /metrics, and checks every
// metric, label and label value named by the dashboards, the alert rules and the rule tests: a
// renamed metric or label would otherwise blank a panel or disarm an alert without any error.
func TestEveryReferencedMetricExists(t *testing.T) {
	t.Parallel()
	ingestURL, workerURL := startPipeline(t)

	families := map[string]family{}
	for _, u := range []string{ingestURL, workerURL} {
		for _, path := range []string{"/healthz", "/readyz"} { // what the compose healthchecks ask
			resp, err := http.Get(u + path)
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, http.StatusOK, resp.StatusCode, u+path)
		}
		for name, f := range scrape(t, u+"/metrics") {
			merged, ok := families[name]
			if !ok {
				families[name] = f
				continue
			}
			for l, vs := range f.Labels {
				if merged.Labels[l] == nil {
					merged.Labels[l] = map[string]bool{}
				}
				for v := range vs {
					merged.Labels[l][v] = true
				}
			}
		}
	}

	jobs := loadPromConfig(t).jobNames()
	checked, skipped := map[string]bool{}, map[string]bool{}
	for _, ref := range references(t) {
		refs, err := parsePromQL(ref.Expr)
		require.NoError(t, err, ref.Where)
		require.NotEmpty(t, refs.Selectors, "%s: no metric in %q", ref.Where, ref.Expr)
		allowedAnywhere := map[string]bool{}
		for _, sel := range refs.Selectors {
			labels, err := labelsOf(sel.Metric, families)
			if err != nil {
				t.Errorf("%s: %v\n  expr: %s", ref.Where, err, ref.Expr)
				continue
			}
			if strings.HasPrefix(sel.Metric, "saleassist_") {
				checked[sel.Metric] = true
			} else {
				skipped[sel.Metric] = true
			}
			for l := range labels {
				allowedAnywhere[l] = true
			}
			for _, m := range sel.Matchers {
				if err := checkMatcher(sel.Metric, m, labels, jobs); err != nil {
					t.Errorf("%s: %v\n  expr: %s", ref.Where, err, ref.Expr)
				}
			}
		}
		for _, l := range refs.Grouping {
			if !allowedAnywhere[l] {
				t.Errorf("%s: groups or matches on label %q, which none of its metrics has\n  expr: %s", ref.Where, l, ref.Expr)
			}
		}
	}
	require.NotEmpty(t, checked)
	t.Logf("checked against the programs' /metrics: %s", strings.Join(sortedKeys(checked), ", "))
	t.Logf("not exposed by the programs, checked against the exporter list instead: %s", strings.Join(sortedKeys(skipped), ", "))
}

// labelsOf returns the labels a series of metric name can carry, with the values seen for the
// pipeline's own metrics (nil values: any). Histogram series are named with _bucket, _sum and
// _count; the family (and the # HELP and # TYPE lines) has the base name.
func labelsOf(name string, families map[string]family) (map[string]map[string]bool, error) {
	labels := map[string]map[string]bool{}
	for _, l := range targetLabels {
		labels[l] = nil
	}
	if !strings.HasPrefix(name, "saleassist_") {
		ls, ok := externalMetrics[name]
		if !ok {
			return nil, fmt.Errorf("metric %s is neither the pipeline's (saleassist_*) nor on the list of exporter metrics (externalMetrics in deploy/metrics_test.go): a typo, or add it there with its source", name)
		}
		if field, ok := strings.CutPrefix(name, "gnatsd_varz_"); ok && !isVarzNumber(field) {
			return nil, fmt.Errorf("metric %s: nats-server's /varz has no numeric field %q for the exporter to export", name, field)
		}
		for _, l := range ls {
			labels[l] = nil
		}
		return labels, nil
	}
	f, ok := families[name]
	switch {
	case ok && f.Type != dto.MetricType_HISTOGRAM && f.Type != dto.MetricType_SUMMARY:
	case ok:
		return nil, fmt.Errorf("metric %s is a %s: select %s_bucket, _sum or _count", name, f.Type, name)
	default:
		base, suffix := "", ""
		for _, s := range []string{"_bucket", "_sum", "_count"} {
			if b, ok := strings.CutSuffix(name, s); ok {
				base, suffix = b, s
			}
		}
		f, ok = families[base]
		switch {
		case ok && f.Type == dto.MetricType_HISTOGRAM:
			if suffix == "_bucket" {
				labels["le"] = nil
			}
		case ok && f.Type == dto.MetricType_SUMMARY && suffix != "_bucket":
		default:
			return nil, fmt.Errorf("metric %s is exposed by neither the ingest nor the worker (renamed? see pkg/ingest/metrics.go and pkg/worker/metrics.go)", name)
		}
	}
	for l, vs := range f.Labels {
		labels[l] = vs
	}
	return labels, nil
}

// checkMatcher checks one label matcher: the label exists on the metric, and an equality or
// regexp matcher can match a value the metric really has: a value the program reports, a scrape
// job of prometheus.yml, or a stream or consumer that pkg/queue creates.
func checkMatcher(metric string, m matcher, labels map[string]map[string]bool, jobs map[string]bool) error {
	values, ok := labels[m.Label]
	if !ok {
		return fmt.Errorf("metric %s has no label %q (it has %s)", metric, m.Label, strings.Join(sortedKeys(labels), ", "))
	}
	if m.Op == "!=" || m.Op == "!~" {
		return nil
	}
	if strings.Contains(m.Value, "$") || m.Label == "account" {
		// A dashboard variable's value (its own query names the label), or an account id: the
		// operator's, which the programs show only once configured.
		return nil
	}
	var known []string
	switch {
	case values != nil:
		known = sortedKeys(values)
	case m.Label == "job":
		known = sortedKeys(jobs)
	case m.Label == "stream_name":
		known = streamNames
	case m.Label == "consumer_name":
		known = consumerNames
	default:
		return nil // a value only the exporter knows (server names ...)
	}
	matches := func(v string) bool { return v == m.Value }
	if m.Op == "=~" {
		re, err := regexp.Compile("^(?:" + m.Value + ")$")
		if err != nil {
			return fmt.Errorf("metric %s: bad regexp %s=~%q: %w", metric, m.Label, m.Value, err)
		}
		matches = re.MatchString
	}
	for _, v := range known {
		if matches(v) {
			return nil
		}
	}
	return fmt.Errorf("metric %s: %s%s%q matches none of its values (%s)", metric, m.Label, m.Op, m.Value, strings.Join(known, ", "))
}

// isVarzNumber reports whether nats-server's /varz has a numeric field with this JSON name.
func isVarzNumber(field string) bool {
	typ := reflect.TypeFor[server.Varz]()
	for i := range typ.NumField() {
		f := typ.Field(i)
		if strings.Split(f.Tag.Get("json"), ",")[0] != field {
			continue
		}
		switch f.Type.Kind() {
		case reflect.Int, reflect.Int32, reflect.Int64, reflect.Uint32, reflect.Uint64, reflect.Float64:
			return true
		}
	}
	return false
}

// scrape reads one /metrics page into families.
func scrape(t *testing.T, url string) map[string]family {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, url)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	parser := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := parser.TextToMetricFamilies(bytes.NewReader(body))
	require.NoError(t, err, url)
	out := map[string]family{}
	for name, mf := range mfs {
		f := family{Type: mf.GetType(), Labels: map[string]map[string]bool{}}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if f.Labels[lp.GetName()] == nil {
					f.Labels[lp.GetName()] = map[string]bool{}
				}
				f.Labels[lp.GetName()][lp.GetValue()] = true
			}
		}
		out[name] = f
	}
	return out
}

// startPipeline runs the real cmd/ingest (standalone, its embedded NATS listening on a free port)
// and a real cmd/worker attached to it, posts the fixture event and waits until it is stored. It
// returns the base URLs of both /metrics servers.
func startPipeline(t *testing.T) (ingestURL, workerURL string) {
	t.Helper()
	const secret = "deploy-test-secret-0123456789abcdef"
	env := func(m map[string]string) app.LookupEnv {
		return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
	}
	ctx := context.Background()

	in := ingestapp.New()
	in.Env = env(map[string]string{"WEBHOOK_SECRETS": secret})
	in.Stdout, in.Stderr = io.Discard, &testkit.SyncBuffer{}
	require.NoError(t, in.ParseFlags([]string{"-addr", "127.0.0.1:0", "-data-dir", t.TempDir(),
		"-embedded-nats-addr", "127.0.0.1:0", "-console-addr", "", "-stream-max-bytes", "67108864"}))
	require.NoError(t, in.Run(ctx))
	t.Cleanup(func() { require.NoError(t, in.Close()) })
	ingestURL = "http://" + in.Addr()

	w := workerapp.New()
	w.Env = env(map[string]string{})
	w.Stderr = &testkit.SyncBuffer{}
	require.NoError(t, w.ParseFlags([]string{"-nats-url", in.EmbeddedNATSURL(),
		"-db", t.TempDir() + "/leads.db", "-addr", "127.0.0.1:0"}))
	require.NoError(t, w.Run(ctx))
	t.Cleanup(func() { require.NoError(t, w.Close()) })
	workerURL = "http://" + w.Addr()

	req, err := http.NewRequest(http.MethodPost, ingestURL+"/webhooks/saleassist", bytes.NewReader(testkit.Fixture(t)))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Webhook-Secret", secret)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusAccepted, resp.StatusCode, "answer: %s", answer)

	// One of the two workers (the ingest's in-process one, or cmd/worker) stores it.
	require.Eventually(t, func() bool {
		for _, u := range []string{ingestURL, workerURL} {
			r, err := http.Get(u + "/metrics")
			if err != nil {
				return false
			}
			b, _ := io.ReadAll(r.Body)
			r.Body.Close()
			if regexp.MustCompile(`(?m)^saleassist_worker_events_total\{[^}]*outcome="stored"[^}]*\} [1-9]`).Match(b) {
				return true
			}
		}
		return false
	}, 15*time.Second, 20*time.Millisecond, "the posted event was not stored")
	return ingestURL, workerURL
}
