package metrics

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
)

// The campaign metrics: values land on the right series, an AMD verdict
// outside the set is "other", a nil *Campaigns is a no-op, and the
// exposition passes promlint and promtool.
func TestCampaignMetrics(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m := NewCampaigns(reg)
	m.TrunkChannels("carrier", 3)
	m.TrunkAttempt("carrier", 503)
	m.TrunkAttempt("carrier", 503)
	m.TrunkAttempt("carrier", 42)
	m.Attempt("disp-2026", "reached")
	m.AbandonRatio("disp-2026", WindowDay, 0.02)
	m.AbandonRatio("disp-2026", WindowMonth, 0.01)
	m.DialLevel("disp-2026", 1.5)
	m.Contacts("disp-2026", "pending", 120)
	m.DialDecision("disp-2026", true)
	m.DialDecision("disp-2026", false)
	m.DialDecision("disp-2026", false)
	m.AMDDecision("machine", 1.9)
	m.AMDDecision("maybe", 0.5)
	m.AMDDecision("unknown", 1.0)
	for _, tc := range []struct {
		c    prometheus.Collector
		want float64
	}{
		{m.trunkChannels.WithLabelValues("carrier"), 3},
		{m.trunkAttempts.WithLabelValues("carrier", "503"), 2},
		{m.trunkAttempts.WithLabelValues("carrier", Other), 1},
		{m.attempts.WithLabelValues("disp-2026", "reached"), 1},
		{m.abandon.WithLabelValues("disp-2026", "30d"), 0.01},
		{m.dialLevel.WithLabelValues("disp-2026"), 1.5},
		{m.contacts.WithLabelValues("disp-2026", "pending"), 120},
		{m.decisions.WithLabelValues("disp-2026", "dial"), 1},
		{m.decisions.WithLabelValues("disp-2026", "not_now"), 2},
		{m.amdDecisions.WithLabelValues("machine"), 1},
		{m.amdDecisions.WithLabelValues(Other), 1},
	} {
		if got := testutil.ToFloat64(tc.c); got != tc.want {
			t.Errorf("%v = %v, want %v", tc.c.(prometheus.Metric).Desc(), got, tc.want)
		}
	}
	text := exposition(t, reg)
	for _, name := range []string{"obzvon_trunk_channels", "obzvon_trunk_attempts_total", "obzvon_campaign_attempts_total",
		"obzvon_campaign_abandon_ratio", "obzvon_campaign_dial_level", "obzvon_campaign_contacts", "obzvon_campaign_dial_decisions_total",
		"obzvon_amd_decisions_total", "obzvon_amd_decision_seconds_bucket"} {
		if !strings.Contains(string(text), name) {
			t.Errorf("exposition lacks %s", name)
		}
	}
	// The decision time is split by result: the bench reads a person's
	// wait (human, unknown) apart from a machine's.
	for _, line := range []string{`obzvon_amd_decision_seconds_sum{result="machine"} 1.9`,
		`obzvon_amd_decision_seconds_count{result="unknown"} 1`, `obzvon_amd_decision_seconds_count{result="human"} 0`,
		`obzvon_amd_decision_seconds_sum{result="other"} 0.5`} {
		if !strings.Contains(string(text), line+"\n") {
			t.Errorf("exposition lacks %s", line)
		}
	}
	problems, err := promlint.New(bytes.NewReader(text)).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
	if promtool, err := exec.LookPath("promtool"); err == nil {
		cmd := exec.Command(promtool, "check", "metrics")
		cmd.Stdin = bytes.NewReader(text)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool check metrics: %v\n%s", err, out)
		}
	} else if os.Getenv("CI") == "true" {
		t.Fatalf("promtool not found under CI=true: %v", err)
	}
	var nilM *Campaigns
	nilM.Attempt("x", "y")
	nilM.AMDDecision("human", 1)
}
