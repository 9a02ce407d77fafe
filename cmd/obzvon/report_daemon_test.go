package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/obzvon/obzvon/acd"
	"github.com/obzvon/obzvon/internal/peertest"
	"github.com/obzvon/obzvon/metrics"
)

// TestReportEqualsMetricsThroughTheDaemon runs calls through the real
// daemon — one answered at once, two abandoned (before and after the 2 s
// threshold), one that times out in main, overflows to second and times
// out there too, one answered after the operator's lunch — then checks
// that `obzvon report queues` for today, computed from the journal's
// events, equals what /metrics said (obzvon_queue_calls_total by result,
// obzvon_queue_service_level_ratio), that the queue_log export has the
// calls without caller numbers, and that with the daemon stopped the
// report from the journal directory and the configuration is the same.
func TestReportEqualsMetricsThroughTheDaemon(t *testing.T) {
	peertest.RequirePeer(t, "sipp")
	peertest.RequirePeer(t, "baresip")
	bin := buildBinary(t)
	data := t.TempDir()
	httpPort, sipPort := peertest.FreePort(t), peertest.FreePort(t)
	rtp := 31000 + (os.Getpid()%24)*40 // the reports' share of the ACD peer tests' band
	cfg := fmt.Sprintf(`[sip]
port = %d
[http]
listen = "127.0.0.1:%d"
[rtp]
port_min = %d
port_max = %d
[data]
dir = %q
[calls]
drain_timeout = "1s"
[acd]
agent_rtp_timeout = "5s"

[[queue]]
name = "main"
service_level = "80/2"
max_wait = "8s"
overflow = "queue:second"
wrap_up = "1s"

[[queue]]
name = "second"
service_level = "80/2"
max_wait = "2s"
overflow = "message"
wrap_up = "1s"
`, sipPort, httpPort, rtp, rtp+39, data)
	cfgPath := filepath.Join(t.TempDir(), "obzvon.toml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, bin, cfgPath, httpPort)
	dir := []string{"--dir", filepath.Join(data, "journal")}
	// cli runs `obzvon NOUN VERB --dir … ARGS…` (flags before arguments).
	cli := func(noun, verb string, args ...string) string {
		t.Helper()
		return mustRun(t, append(append([]string{noun, verb}, dir...), args...)...)
	}

	var added struct {
		SIPSecret string `json:"sip_secret"`
	}
	out := cli("agent", "add", "--name", "Петрова Ольга", "--role", "operator_l1", "--ext", "1002", "--queue", "main", "--json", "petrova")
	if err := json.Unmarshal([]byte(out), &added); err != nil || added.SIPSecret == "" {
		t.Fatalf("agent add --json = %q: %v", out, err)
	}
	target := "127.0.0.1:" + strconv.Itoa(sipPort)
	peertest.StartBaresip(t, peertest.BaresipOptions{User: "1002", Password: added.SIPSecret, Registrar: target, MicSeconds: 120})
	until := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("never %s; daemon logs:\n%s", what, d.logs.String())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	agentState := func() string {
		var st struct{ State string }
		_ = json.Unmarshal([]byte(cli("agent", "status", "--json", "petrova")), &st)
		return st.State
	}
	until("started work", func() bool {
		_, _, code := runCmd(append(append([]string{"agent", "start"}, dir...), "petrova")...)
		return code == 0
	})
	until("ready", func() bool { return agentState() == "ready" })

	call := func(ms int) *peertest.SIPp {
		return peertest.StartSIPp(t, "uac_inbound.xml", target, "-s", "8800", "-d", strconv.Itoa(ms), "-m", "1",
			"-p", strconv.Itoa(peertest.FreePort(t)), "-mp", strconv.Itoa(peertest.FreeMediaPort(t)))
	}
	done := func(callers ...*peertest.SIPp) {
		t.Helper()
		for _, c := range callers {
			if code := c.Wait(44 * time.Second); code != 0 {
				t.Fatalf("caller exit %d:\n%s\n%s\ndaemon:\n%s", code, c.Output(), c.Logs(), d.logs.String())
			}
		}
	}
	waiting := func(n int) func() bool {
		return func() bool {
			var qs []queueStatusView
			_ = json.Unmarshal([]byte(cli("queue", "status", "--json")), &qs)
			return len(qs) > 0 && qs[0].Name == "main" && qs[0].Waiting == n
		}
	}

	// Answered at once, 3 s of talk.
	done(call(3000))
	until("ready after the first call", func() bool { return agentState() == "ready" })

	// The operator at lunch: two callers give up (after 1 s and 4 s), a
	// third waits out main's 8 s and second's 2 s and hears the overflow
	// message.
	cli("agent", "pause", "petrova", "обед")
	done(call(1000), call(4000), call(28000))

	// Back from lunch while a caller waits: answered.
	late := call(12000)
	until("a caller waiting", waiting(1))
	cli("agent", "ready", "petrova")
	done(late)
	until("ready after the last call", func() bool { return agentState() == "ready" })
	body := d.waitMetric(10*time.Second, `obzvon_queue_calls_total{queue="main",result="answered"} 2`)

	var rep acd.Report
	if err := json.Unmarshal([]byte(cli("report", "queues", "--json")), &rep); err != nil {
		t.Fatal(err)
	}
	byQueue := map[string]acd.Figures{}
	for _, q := range rep.Queues {
		byQueue[q.Queue] = q.Total
	}
	main, second := byQueue["main"], byQueue["second"]
	if main.Offered != 5 || main.Answered != 2 || main.Abandoned != 2 || main.Timeouts != 1 || second.Offered != 1 || second.Timeouts != 1 {
		t.Errorf("today's report: main %+v, second %+v; want main 5 offered, 2 answered, 2 abandoned, 1 timeout; second 1 timeout",
			main.Counters(), second.Counters())
	}

	// Equal to /metrics.
	parser := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	calls, sl := map[string]float64{}, map[string]float64{}
	for _, m := range mfs["obzvon_queue_calls_total"].GetMetric() {
		var q, r string
		for _, l := range m.GetLabel() {
			switch l.GetName() {
			case "queue":
				q = l.GetValue()
			case "result":
				r = l.GetValue()
			}
		}
		calls[q+"/"+r] = m.GetCounter().GetValue()
	}
	for _, m := range mfs["obzvon_queue_service_level_ratio"].GetMetric() {
		sl[m.GetLabel()[0].GetValue()] = m.GetGauge().GetValue()
	}
	for _, q := range []string{"main", "second"} {
		f := byQueue[q]
		for result, n := range map[string]int{metrics.QueueAnswered: f.Answered, metrics.QueueAbandoned: f.Abandoned,
			metrics.QueueTimeout: f.Timeouts, metrics.QueueFull: f.Full, metrics.QueueTransferred: f.Transferred} {
			if got := calls[q+"/"+result]; got != float64(n) {
				t.Errorf("obzvon_queue_calls_total{queue=%q,result=%q} = %v, the report says %d", q, result, got, n)
			}
		}
		got, ok := sl[q]
		if ok != (f.ServiceLevel != nil) || ok && math.Abs(got-*f.ServiceLevel) > 1e-12 {
			t.Errorf("obzvon_queue_service_level_ratio{queue=%q} = %v (present %v), the report says %v", q, got, ok, f.ServiceLevel)
		}
	}

	// The queue_log: every call's lines, no caller number (SIPp calls
	// from "callerN").
	qlog := cli("report", "queue-log")
	for ev, n := range map[string]int{"ENTERQUEUE": 6, "CONNECT": 2, "ABANDON": 2, "EXITWITHTIMEOUT": 2, "AGENTLOGIN": 1,
		"PAUSE": 1, "UNPAUSE": 1} {
		if got := strings.Count(qlog, "|"+ev+"|"); got != n {
			t.Errorf("queue_log has %d %s lines, want %d:\n%s", got, ev, n, qlog)
		}
	}
	if got := strings.Count(qlog, "|COMPLETECALLER|") + strings.Count(qlog, "|COMPLETEAGENT|"); got != 2 {
		t.Errorf("queue_log has %d COMPLETE lines, want 2:\n%s", got, qlog)
	}
	if strings.Contains(qlog, "caller1") || strings.Contains(qlog, "sipp") {
		t.Errorf("queue_log names the caller:\n%s", qlog)
	}

	// The daemon stopped: the same report from the journal directory with
	// the configuration's thresholds.
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := d.wait(30 * time.Second); err != nil {
		t.Fatalf("daemon exit: %v\n%s", err, d.logs.String())
	}
	var stopped acd.Report
	if err := json.Unmarshal([]byte(cli("report", "queues", "--json", "--config", cfgPath)), &stopped); err != nil {
		t.Fatal(err)
	}
	if len(stopped.Queues) != len(rep.Queues) {
		t.Fatalf("stopped daemon: queues %+v, want %+v", stopped.Queues, rep.Queues)
	}
	for i, q := range stopped.Queues {
		was := rep.Queues[i]
		if q.Queue != was.Queue || q.SLThresholdSeconds != was.SLThresholdSeconds || q.Total.Counters() != was.Total.Counters() ||
			!sameRatio(q.Total.ServiceLevel, was.Total.ServiceLevel) {
			t.Errorf("stopped daemon: %s %+v SL %v, the daemon said %s %+v SL %v", q.Queue, q.Total.Counters(), q.Total.ServiceLevel,
				was.Queue, was.Total.Counters(), was.Total.ServiceLevel)
		}
	}
}

// sameRatio reports whether two optional ratios are both absent or equal.
func sameRatio(a, b *float64) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}
