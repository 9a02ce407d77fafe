package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/obzvon/obzvon/internal/peertest"
	"github.com/obzvon/obzvon/journal"
)

// TestACDThroughTheDaemon runs the inbound ACD as a user would: the real
// binary on its default queue route (8800 → queue main), an account added
// with the CLI, baresip registering with the extension and the printed SIP
// secret, `obzvon agent start` bringing the session leg up, a SIPp caller
// reaching the operator, and the CLI's and /metrics' figures agreeing with
// the journal.
func TestACDThroughTheDaemon(t *testing.T) {
	bin := buildBinary(t)
	data := t.TempDir()
	httpPort, sipPort := peertest.FreePort(t), peertest.FreePort(t)
	rtp := 18000 + (os.Getpid()%50)*40
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
`, sipPort, httpPort, rtp, rtp+39, data)
	cfgPath := filepath.Join(t.TempDir(), "obzvon.toml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, bin, cfgPath, httpPort)
	dir := []string{"--dir", filepath.Join(data, "journal")}

	out := mustRun(t, append(append([]string{"agent", "add"}, dir...), "--name", "Иванова Анна Сергеевна", "--role", "operator_l1",
		"--ext", "1001", "--queue", "main", "--json", "ivanova")...)
	var added struct {
		SIPSecret string `json:"sip_secret"`
	}
	if err := json.Unmarshal([]byte(out), &added); err != nil || added.SIPSecret == "" {
		t.Fatalf("agent add --json = %q: %v", out, err)
	}
	target := "127.0.0.1:" + strconv.Itoa(sipPort)
	phone := peertest.StartBaresip(t, peertest.BaresipOptions{User: "1001", Password: added.SIPSecret, Registrar: target, MicSeconds: 60})

	status := func() (st struct {
		State   string `json:"state"`
		Session string `json:"session"`
	}) {
		t.Helper()
		o, e, code := runCmd(append(append([]string{"agent", "status"}, dir...), "--json", "ivanova")...)
		if code != 0 {
			t.Fatalf("agent status: %s %s", o, e)
		}
		if err := json.Unmarshal([]byte(o), &st); err != nil {
			t.Fatalf("agent status --json = %q: %v", o, err)
		}
		return st
	}
	waitState := func(what, state string) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for status().State != state {
			if time.Now().After(deadline) {
				t.Fatalf("ivanova never %s (%s); daemon logs:\n%s\nbaresip:\n%s", state, what, d.logs.String(), phone.Output())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	// Starting work needs the phone registered: retry until baresip has.
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, e, code := runCmd(append(append([]string{"agent", "start"}, dir...), "ivanova")...)
		if code == 0 {
			break
		}
		if !strings.Contains(e, "not registered") || time.Now().After(deadline) {
			t.Fatalf("agent start: exit %d: %s\n%s", code, e, d.logs.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	waitState("after agent start", "ready")
	if st := status(); st.Session != "up" {
		t.Fatalf("session %q, want up", st.Session)
	}
	if _, e, code := runCmd(append(append([]string{"agent", "pause"}, dir...), "ivanova", "перекур")...); code == 0 || !strings.Contains(e, "pause reason") {
		t.Fatalf("pause with an unknown reason: exit %d %q", code, e)
	}

	caller := peertest.StartSIPp(t, "uac_inbound.xml", target, "-s", "8800", "-d", "4000", "-m", "1",
		"-p", strconv.Itoa(peertest.FreePort(t)), "-mp", strconv.Itoa(peertest.FreeMediaPort(t)))
	if code := caller.Wait(40 * time.Second); code != 0 {
		t.Fatalf("caller exit %d:\n%s\n%s\n%s", code, caller.Output(), caller.Logs(), d.logs.String())
	}
	waitState("after the call's wrap-up", "ready")

	var queues []struct {
		Name  string `json:"name"`
		Today struct {
			Offered, Answered int
		} `json:"today"`
	}
	if err := json.Unmarshal([]byte(mustRun(t, append(append([]string{"queue", "status"}, dir...), "--json")...)), &queues); err != nil {
		t.Fatal(err)
	}
	if len(queues) != 1 || queues[0].Name != "main" || queues[0].Today.Offered != 1 || queues[0].Today.Answered != 1 {
		t.Fatalf("queue status %+v", queues)
	}
	d.waitMetric(5*time.Second, `obzvon_queue_calls_total{queue="main",result="answered"} 1`, `obzvon_agents{state="ready"} 1`)

	var calls []journal.CallRecord
	from := time.Now().Add(-time.Hour).Format("2006-01-02")
	to := time.Now().Add(24 * time.Hour).Format("2006-01-02")
	if err := json.Unmarshal([]byte(mustRun(t, append(append([]string{"journal", "calls"}, dir...), "--from", from, "--to", to, "--json")...)), &calls); err != nil {
		t.Fatal(err)
	}
	if len(calls) != 1 || calls[0].Queue != "main" || len(calls[0].Agents) != 1 || calls[0].Agents[0].Login != "ivanova" {
		t.Fatalf("call records %+v", calls)
	}
	wav := peertest.ReadStereoWAV(t, calls[0].Recording)
	if share, n := peertest.ToneShare(wav.Left, wav.Rate, 1000); share < 0.9 || n < 100 {
		t.Errorf("recording left: 1 kHz share %.2f over %d blocks", share, n)
	}

	mustRun(t, append(append([]string{"agent", "pause"}, dir...), "ivanova", "обед")...)
	if st := status(); st.State != "paused" {
		t.Fatalf("after pause: %+v", st)
	}
	mustRun(t, append(append([]string{"agent", "finish"}, dir...), "ivanova")...)
	waitState("after agent finish", "logged_out")
}
