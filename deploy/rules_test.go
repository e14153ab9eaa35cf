package deploy_test

import (
	"regexp"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/saleassist-pipeline/pipeline/pkg/app/ingestapp"
	"github.com/saleassist-pipeline/pipeline/pkg/queue"
)

// The alerts the issue asks for: lag growing, dead letters, 5xx/503, no webhooks while traffic is
// expected, target down, stream near MaxBytes; and the NATS cluster losing a node.
var requiredAlerts = []string{
	"SaleassistConsumerLagGrowing",
	"SaleassistEventsDeadLettered", "SaleassistDeadLettersPresent",
	"SaleassistIngestServerErrors", "SaleassistIngestUnavailable",
	"SaleassistNoWebhooks",
	"SaleassistTargetDown", "SaleassistNoWorkers",
	"SaleassistStreamNearFull",
	"SaleassistNatsServerDown",
}

func TestAlertRules(t *testing.T) {
	t.Parallel()
	rules := loadAlerts(t)
	names := map[string]bool{}
	for _, r := range rules {
		require.NotEmpty(t, r.Alert, "recording rules are not expected here: %+v", r)
		require.False(t, names[r.Alert], "duplicate alert %s", r.Alert)
		names[r.Alert] = true
		require.NotEmpty(t, r.Expr, r.Alert)
		require.Contains(t, []string{"critical", "warning", "info"}, r.Labels["severity"], "%s: severity", r.Alert)
		for _, a := range []string{"summary", "description", "action"} {
			require.NotEmpty(t, r.Annotations[a], "%s: annotation %s (what happened, and what to do)", r.Alert, a)
		}
	}
	for _, a := range requiredAlerts {
		require.True(t, names[a], "alert %s is missing", a)
	}

	// Every alert is proven to fire by a promtool unit test (run by .ci/run).
	fired := map[string]bool{}
	for _, f := range ruleTestFiles {
		var tf ruleTestFile
		readYAML(t, &tf, "deploy", "prometheus", f)
		require.Equal(t, []string{"alerts.yml"}, tf.RuleFiles, f)
		for _, tc := range tf.Tests {
			for _, at := range tc.AlertRuleTests {
				require.True(t, names[at.Alertname], "%s tests an unknown alert %s", f, at.Alertname)
				if len(at.ExpAlerts) > 0 {
					fired[at.Alertname] = true
				}
			}
		}
	}
	for a := range names {
		require.True(t, fired[a], "no promtool test shows %s firing", a)
	}
}

// SaleassistStreamNearFull divides each stream's bytes by its MaxBytes, which the exporter does
// not report: the divisors must be the limits the compose stack configures.
func TestStreamNearFullUsesTheConfiguredLimits(t *testing.T) {
	t.Parallel()
	var expr string
	for _, r := range loadAlerts(t) {
		if r.Alert == "SaleassistStreamNearFull" {
			expr = r.Expr
		}
	}
	p := loadCompose(t, true)
	m := ingestapp.New()
	m.Env = lookup(envOf(service(t, p, "ingest")))
	require.NoError(t, m.ParseFlags(nil))
	want := map[string]int64{
		queue.DefaultStream:           m.Config.StreamMaxBytes,
		queue.DefaultDeadLetterStream: queue.DefaultDeadLetterMaxBytes,
		queue.DefaultQuarantineStream: m.Config.QuarantineMax,
	}
	got := map[string]int64{}
	for _, match := range regexp.MustCompile(`stream_name="(\w+)"\}\)\s*/\s*(\d+)`).FindAllStringSubmatch(expr, -1) {
		n, err := strconv.ParseInt(match[2], 10, 64)
		require.NoError(t, err)
		got[match[1]] = n
	}
	require.Equal(t, want, got, "the divisors in SaleassistStreamNearFull must be the streams' MaxBytes")
}
