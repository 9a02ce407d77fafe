package ops

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/obzvon/obzvon/internal/peertest"
	"github.com/obzvon/obzvon/metrics"
)

const (
	rulesFile     = "prometheus/obzvon-rules.yml"
	rulesTestFile = "prometheus/obzvon-rules.test.yml"
	dashboardFile = "grafana/obzvon.json"
	runbookFile   = "../docs/operations.md"
)

// pending are the metric names that the ACD and the campaign runtime are
// building now: the rules and the dashboard use them (with synthetic series
// in the rule tests) before the daemon exports them. A name that the daemon
// exports is no longer pending; remove it from here then.
var pending = []string{
	"obzvon_queue_waiting", "obzvon_queue_wait_seconds", "obzvon_queue_calls_total",
	"obzvon_queue_service_level_ratio", "obzvon_agents",
	"obzvon_campaign_abandon_ratio", "obzvon_campaign_dial_level", "obzvon_campaign_attempts_total",
}

// exported returns the metric family names the daemon exports, from a
// registry wired as serve wires it.
func exported(t *testing.T) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	for _, n := range metrics.Names() {
		names[n] = true
	}
	return names
}

// known reports whether name (a series name as used in PromQL, possibly a
// histogram's _bucket, _count or _sum) is exported or pending.
func known(exp map[string]bool, name string) bool {
	if exp[name] || slices.Contains(pending, name) {
		return true
	}
	for _, suf := range []string{"_bucket", "_count", "_sum"} {
		if base, ok := strings.CutSuffix(name, suf); ok && (exp[base] || slices.Contains(pending, base)) {
			return true
		}
	}
	return false
}

var metricName = regexp.MustCompile(`\b(obzvon_[a-z0-9_]+|go_[a-z0-9_]+|process_[a-z0-9_]+)\b`)

func promtool(t *testing.T, args ...string) {
	t.Helper()
	bin := peertest.RequirePeer(t, "promtool")
	cmd := exec.Command(bin, args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func TestRulesCheckAndUnitTests(t *testing.T) {
	promtool(t, "check", "rules", rulesFile)
	promtool(t, "test", "rules", rulesTestFile)
}

func TestPendingNamesAreNotExported(t *testing.T) {
	exp := exported(t)
	for _, n := range pending {
		if exp[n] {
			t.Errorf("%s is exported now: remove it from pending", n)
		}
	}
}

func TestRulesUseKnownMetrics(t *testing.T) {
	b, err := os.ReadFile(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	exp := exported(t)
	for _, m := range metricName.FindAllString(string(b), -1) {
		if !known(exp, m) {
			t.Errorf("%s uses %s, which obzvon does not export", rulesFile, m)
		}
	}
}

// Every alert has a runbook section whose anchor its runbook_url names.
func TestEveryAlertHasARunbookSection(t *testing.T) {
	rules, err := os.ReadFile(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	runbook, err := os.ReadFile(runbookFile)
	if err != nil {
		t.Fatal(err)
	}
	alerts := regexp.MustCompile(`(?m)^\s+- alert: (\w+)$`).FindAllStringSubmatch(string(rules), -1)
	if len(alerts) < 10 {
		t.Fatalf("found %d alerts in %s, want the 10 the issue lists at least", len(alerts), rulesFile)
	}
	urls := regexp.MustCompile(`runbook_url: "[^"#]*#([^"]+)"`).FindAllStringSubmatch(string(rules), -1)
	if len(urls) != len(alerts) {
		t.Errorf("%d alerts but %d runbook_url annotations", len(alerts), len(urls))
	}
	for i, a := range alerts {
		name := a[1]
		if !strings.Contains(string(runbook), "\n### Alert: "+name+"\n") {
			t.Errorf("%s has no section \"### Alert: %s\" in %s", name, name, runbookFile)
		}
		if i < len(urls) && urls[i][1] != "alert-"+strings.ToLower(name) {
			t.Errorf("%s: runbook_url anchor %q, want %q", name, urls[i][1], "alert-"+strings.ToLower(name))
		}
	}
}

type dashboard struct {
	UID        string  `json:"uid"`
	Title      string  `json:"title"`
	Panels     []panel `json:"panels"`
	Templating struct {
		List []struct {
			Name string `json:"name"`
		} `json:"list"`
	} `json:"templating"`
}

type panel struct {
	Type    string `json:"type"`
	Title   string `json:"title"`
	Targets []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
}

// The dashboard has the four rows the issue asks for, every panel queries
// metrics obzvon exports (or that are being built), and every query is
// valid PromQL: promtool checks them as recording rules, with Grafana's
// variables replaced by values.
func TestDashboard(t *testing.T) {
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	if d.UID == "" || d.Title == "" {
		t.Errorf("dashboard needs a uid and a title (provisioning keys on the uid)")
	}
	var rows []string
	for _, p := range d.Panels {
		if p.Type == "row" {
			rows = append(rows, p.Title)
		}
	}
	want := []string{"Calls and media", "Queues and operators", "Campaigns and pacing", "Journal and process"}
	if !slices.Equal(rows, want) {
		t.Errorf("rows %q, want %q", rows, want)
	}
	var vars []string
	for _, v := range d.Templating.List {
		vars = append(vars, v.Name)
	}
	if !slices.Contains(vars, "datasource") || !slices.Contains(vars, "instance") {
		t.Errorf("template variables %q, want datasource and instance", vars)
	}

	exp := exported(t)
	used := map[string]bool{}
	var rules strings.Builder
	rules.WriteString("groups:\n  - name: dashboard\n    rules:\n")
	n := 0
	for _, p := range d.Panels {
		if p.Type == "row" {
			continue
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			for _, m := range metricName.FindAllString(tg.Expr, -1) {
				used[m] = true
				if !known(exp, m) {
					t.Errorf("panel %q uses %s, which obzvon does not export", p.Title, m)
				}
			}
			expr := strings.NewReplacer("$__rate_interval", "1m", "$instance", ".+").Replace(tg.Expr)
			q, _ := json.Marshal(expr)
			n++
			fmt.Fprintf(&rules, "      - record: dashboard:q%d\n        expr: %s\n", n, q)
		}
	}
	// Every obzvon metric is on the dashboard somewhere.
	var missing []string
	for name := range exp {
		if strings.HasPrefix(name, "obzvon_") && !used[name] && !used[name+"_bucket"] {
			missing = append(missing, name)
		}
	}
	for _, name := range pending {
		if !used[name] && !used[name+"_bucket"] {
			missing = append(missing, name)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("metrics not on the dashboard: %v", missing)
	}
	f := filepath.Join(t.TempDir(), "dashboard-queries.yml")
	if err := os.WriteFile(f, []byte(rules.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	promtool(t, "check", "rules", f)
}
