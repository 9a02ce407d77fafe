package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// appliance is a real obzvon daemon (go build ./cmd/obzvon) with three
// operator accounts, serving on ports of the load benchmark band
// (14000–17999):
//
//	7XXX  dial reg:op${number}  (the phone of account op7001…)
//	600   echo
//	601   playback of a 1 s prompt, then the appliance hangs up
//	88*   dial sip:8800@trunk   (the generator's trunk role)
type appliance struct {
	sip, trunk int
	accounts   string // phones file: the JSON lines of obzvon agent add --json
	logs       *syncBuf
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// bandPort returns a port in the load benchmark band that is free for
// UDP and TCP on 127.0.0.1 a moment ago, avoiding taken.
func bandPort(t *testing.T, lo, hi int, taken map[int]bool) int {
	t.Helper()
	for range 500 {
		p := lo + rand.IntN(hi-lo)
		if taken[p] {
			continue
		}
		u, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: p})
		if err != nil {
			continue
		}
		l, err := net.Listen("tcp4", "127.0.0.1:"+strconv.Itoa(p))
		u.Close()
		if err != nil {
			continue
		}
		l.Close()
		taken[p] = true
		return p
	}
	t.Fatalf("no free port in %d..%d", lo, hi)
	return 0
}

// startAppliance builds and starts obzvon; it is stopped (SIGKILL by PID)
// at the end of the test.
func startAppliance(t *testing.T) *appliance {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "obzvon")
	if out, err := exec.Command("go", "build", "-o", bin, "../obzvon").CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/obzvon: %v\n%s", err, out)
	}
	data := filepath.Join(dir, "data")
	var accts bytes.Buffer
	for i := 1; i <= 3; i++ {
		out, err := exec.Command(bin, "agent", "add", "--dir", filepath.Join(data, "journal"), "--json",
			"--name", fmt.Sprintf("Оператор %d", i), "--role", "operator_l1", "--ext", fmt.Sprintf("100%d", i), fmt.Sprintf("op700%d", i)).Output()
		if err != nil {
			t.Fatalf("obzvon agent add: %v\n%s", err, out)
		}
		accts.Write(out)
	}
	a := &appliance{accounts: filepath.Join(dir, "phones.jsonl")}
	if err := os.WriteFile(a.accounts, accts.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	// The ports are free when chosen, but another test or benchmark (a
	// second make test beside this one, bench-load's 14000 band) may take
	// one before the appliance binds it: then it exits at once saying
	// so, and the next try takes other ports.
	taken := map[int]bool{}
	for try := 1; ; try++ {
		a.logs = &syncBuf{}
		ok, inUse := a.start(t, bin, dir, data, taken)
		if ok {
			return a
		}
		if !inUse || try == 5 {
			t.Fatalf("obzvon exited before it was ready (try %d):\n%s", try, a.logs.String())
		}
		t.Logf("try %d: a port was taken meanwhile; trying others:\n%s", try, a.logs.String())
	}
}

// start writes a configuration on fresh ports and starts obzvon; it
// reports whether it became ready, or else whether it exited because a
// port was in use.
func (a *appliance) start(t *testing.T, bin, dir, data string, taken map[int]bool) (ready, inUse bool) {
	t.Helper()
	a.sip = bandPort(t, 16000, 17999, taken)
	a.trunk = bandPort(t, 16000, 17999, taken)
	httpPort := bandPort(t, 16000, 17999, taken)
	rtpMin := 14000 + 100*rand.IntN(19) // 14000..15899, 100 ports
	cfg := fmt.Sprintf(`[log]
level = "info"
[sip]
host = "127.0.0.1"
port = %d
transports = ["udp"]
register_min_expires = "10s"
[rtp]
ip = "127.0.0.1"
port_min = %d
port_max = %d
[http]
listen = "127.0.0.1:%d"
[data]
dir = %q
[calls]
ring_timeout = "2s"
drain_timeout = "1s"
[[route]]
name = "operators"
match = "7XXX"
action = "dial"
target = "reg:op${number}"
record = false
[[route]]
name = "echo"
match = "600"
action = "echo"
[[route]]
name = "short"
match = "601"
action = "playback"
prompt = "invalid"
[[route]]
name = "trunk"
match = "88*"
action = "dial"
target = "sip:8800@127.0.0.1:%d"
allow = ["127.0.0.1"]
record = false
`, a.sip, rtpMin, rtpMin+99, httpPort, data, a.trunk)
	cfgPath := filepath.Join(dir, "obzvon.toml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", "--config", cfgPath)
	cmd.Stdout, cmd.Stderr = a.logs, a.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
	})
	hc := http.Client{Timeout: time.Second}
	for deadline := time.Now().Add(30 * time.Second); ; {
		if res, err := hc.Get(fmt.Sprintf("http://127.0.0.1:%d/readyz", httpPort)); err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return true, false
			}
		}
		select {
		case <-done:
			return false, strings.Contains(a.logs.String(), "address already in use")
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("obzvon not ready in 30 s:\n%s", a.logs.String())
		}
		time.Sleep(50 * time.Millisecond) // poll /readyz
	}
}

// runLoad runs obzvon-load in process and decodes its JSON report.
func runLoad(t *testing.T, a *appliance, args ...string) report {
	t.Helper()
	var out, errb bytes.Buffer
	args = append(args, "--progress", "0", "--json", "-")
	if code := run(context.Background(), args, &out, &errb); code != exitOK {
		t.Fatalf("obzvon-load %s = %d; stderr:\n%s\nappliance:\n%s", strings.Join(args, " "), code, errb.String(), a.logs.String())
	}
	var r report
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("report is not JSON: %v\n%s", err, out.String())
	}
	return r
}

// The roles of the queue and campaign benchmarks against the real
// appliance: operator phones register with digest and are called through
// reg: routes, queue-mode callers tell which phone answered by its tone,
// and the campaign trunk plays each outcome behind a dial route.
func TestRolesAgainstAppliance(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the appliance")
	}
	a := startAppliance(t)
	target := fmt.Sprintf("127.0.0.1:%d", a.sip)
	trunk := fmt.Sprintf("127.0.0.1:%d", a.trunk)

	t.Run("phones and queue callers", func(t *testing.T) {
		events := filepath.Join(t.TempDir(), "events.jsonl")
		// Calls 1-3 reach the phones of op7001-op7003; call 4 is answered
		// by the echo route, hears only itself and gives up; call 5 hears
		// a 1 s prompt and is hung up by the appliance: lost.
		// One customer per phone: a segment ends only at a pause of 1.5 s,
		// so a stall of this one process on a loaded machine (all three
		// phones once lost 0.7 s at the same moment) is a dropout, not a
		// second customer; a new source is still told by the marker bit.
		r := runLoad(t, a, "--phones", a.accounts, "--phone-spread", "100ms", "--segment-gap", "1500ms",
			"--target", target, "--number", "7001,7002,7003,600,601", "--rate", "10", "--concurrent", "5", "--total", "5",
			"--talk", "3s", "--patience", "4s", "--duration", "1s", "--events", events)
		u, p := r.UAC, r.Phones
		if u == nil || p == nil || u.Queue == nil {
			t.Fatalf("report lacks callers, queue or phones: %+v", r)
		}
		q := u.Queue
		if p.Registered != 3 || p.RegFailures != 0 || p.Unregistered != 3 {
			t.Errorf("phones registered %d, failed %d %v, unregistered %d; want 3, 0, 3", p.Registered, p.RegFailures, p.RegCodes, p.Unregistered)
		}
		if u.Attempted != 5 || u.Answered != 5 {
			t.Errorf("callers attempted %d, answered %d; want 5, 5 (failed %v, errors %v)", u.Attempted, u.Answered, u.FailedCodes, u.ErrorSample)
		}
		if q.Connected != 3 || q.Abandoned != 1 || q.Lost != 1 || q.Cut != 0 || q.HungUpBy["caller"] != 3 {
			t.Errorf("queue = connected %d (by %v), abandoned %d, lost %d, cut %d; want 3 (by the caller), 1, 1, 0", q.Connected, q.HungUpBy, q.Abandoned, q.Lost, q.Cut)
		}
		// Who talks to whom: each operator's own tone reached one caller.
		for i := range 3 {
			if n := q.ByOperator[(clsOperator + audioClass(i)).String()]; n != 1 {
				t.Errorf("callers connected to operator%d = %d, want 1 (by operator: %v)", i, n, q.ByOperator)
			}
		}
		if q.Wait.N != 3 || q.TalkTime.N != 3 || q.TalkTime.P50ms < 2900 {
			t.Errorf("wait %+v, talk %+v; want 3 each, talk about 3 s", q.Wait, q.TalkTime)
		}
		if q.OtherTones == 0 {
			t.Errorf("the echo caller's own tone was not counted as a non-operator tone")
		}
		if p.Answered != 3 || p.FarBye != 3 || p.Segments != 3 || p.AnswerToCustomer.N != 3 {
			t.Errorf("phones answered %d, ended by far end %d, customer segments %d, connects %d; want 3 each", p.Answered, p.FarBye, p.Segments, p.AnswerToCustomer.N)
		}
		for _, ph := range p.PerPhone {
			if ph.Segments != 1 || ph.CustomerS < 2.5 {
				t.Errorf("phone %s: %d customer segments, %.1f s of customer audio; want 1 of about 3 s", ph.User, ph.Segments, ph.CustomerS)
			}
		}
		if p.RTP.Lost != 0 || u.RTP.Lost != 0 || p.RTP.Silent != 0 {
			t.Errorf("RTP lost phones %d, callers %d; phone legs without RTP %d; want 0", p.RTP.Lost, u.RTP.Lost, p.RTP.Silent)
		}
		b, err := os.ReadFile(events)
		if err != nil {
			t.Fatal(err)
		}
		kinds := map[string]int{}
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			var e event
			if err := json.Unmarshal([]byte(line), &e); err != nil {
				t.Fatalf("events line %q: %v", line, err)
			}
			kinds[e.Role+"/"+e.Event+"/"+e.Outcome]++
		}
		if kinds["phone/customer_audio/"] != 3 || kinds["caller/call_end/connected"] != 3 || kinds["caller/call_end/abandoned"] != 1 || kinds["caller/call_end/lost"] != 1 {
			t.Errorf("events by kind = %v", kinds)
		}
	})

	t.Run("run end says goodbye", func(t *testing.T) {
		// A queue caller still waiting when the run ends (the echo route:
		// no operator ever) hangs up with a BYE the appliance answers; the
		// run's end must not close the SIP socket under it.
		r := runLoad(t, a, "--target", target, "--number", "600", "--rate", "10", "--total", "2", "--queue",
			"--duration", "300ms", "--deadline", "2s")
		if u := r.UAC; u.Answered != 2 || u.Queue.Cut != 2 || u.LocalBye != 2 || u.ByeFailed != 0 {
			t.Errorf("callers cut by the run's end: answered %d, cut %d, BYEs sent %d, failed %d (%v); want 2, 2, 2, 0",
				u.Answered, u.Queue.Cut, u.LocalBye, u.ByeFailed, u.ErrorSample)
		}
	})

	t.Run("refresh", func(t *testing.T) {
		// 2 s is under the registrar's minimum (10 s): the phones take its
		// Min-Expires from the 423 and refresh at half of it.
		r := runLoad(t, a, "--phones", a.accounts, "--phone-registrar", target, "--phone-spread", "0s", "--phone-expires", "2s", "--duration", "6s")
		if p := r.Phones; p.Registered != 3 || p.IntervalTooBrief != 3 || p.Refreshes < 3 || p.RegFailures != 0 || p.Unregistered != 3 {
			t.Errorf("phones: registered %d, 423s %d, refreshes %d, failures %d %v, unregistered %d; want 3, 3, >= 3, 0, 3",
				p.Registered, p.IntervalTooBrief, p.Refreshes, p.RegFailures, p.RegCodes, p.Unregistered)
		}
	})

	t.Run("wrong secret", func(t *testing.T) {
		bad := filepath.Join(t.TempDir(), "bad.txt")
		if err := os.WriteFile(bad, []byte("op7001 not-the-secret\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		r := runLoad(t, a, "--phones", bad, "--phone-registrar", target, "--duration", "500ms")
		if p := r.Phones; p == nil || p.Registered != 0 || p.RegCodes["403"] == 0 {
			t.Errorf("phones with a wrong secret = %+v; want none registered and 403", r.Phones)
		}
	})

	t.Run("ring mode", func(t *testing.T) {
		// The phone rings 1 s before it answers; a caller with a 3 s
		// setup timeout reaches it, and one of the phones never answers.
		r := runLoad(t, a, "--phones", a.accounts, "--phone-spread", "0s", "--phone-answer", "ring:1s",
			"--target", target, "--number", "7002", "--rate", "1", "--total", "1", "--talk", "1s", "--duration", "500ms")
		if u, p := r.UAC, r.Phones; u.Queue.Connected != 1 || u.Setup.P50ms < 900 || p.Answered != 1 {
			t.Errorf("ring:1s: connected %d, setup %.0f ms, phone answered %d; want 1 after >= 1 s", u.Queue.Connected, u.Setup.P50ms, p.Answered)
		}
		r = runLoad(t, a, "--phones", a.accounts, "--phone-spread", "0s", "--phone-answer", "never",
			"--target", target, "--number", "7003", "--rate", "1", "--total", "1", "--talk", "1s", "--setup-timeout", "5s", "--duration", "500ms")
		// The appliance gives up after its 2 s ring timeout.
		if u, p := r.UAC, r.Phones; u.Answered != 0 || p.NeverAnswered != 1 || p.Answered != 0 {
			t.Errorf("never: caller answered %d, phone rang unanswered %d, answered %d; want 0, 1, 0", u.Answered, p.NeverAnswered, p.Answered)
		}
	})

	campaign := func(t *testing.T, args ...string) *uasReport {
		t.Helper()
		r := runLoad(t, a, append([]string{"--uas-listen", trunk, "--uas-mode", "campaign", "--trunk-ring", "200ms", "--trunk-busy-ring", "100ms",
			"--target", target, "--number", "8801", "--rate", "10", "--concurrent", "3", "--total", "3", "--duration", "500ms"}, args...)...)
		if r.UAS == nil || r.UAS.Campaign == nil || r.UAC == nil {
			t.Fatalf("report lacks the trunk's campaign part: %+v", r)
		}
		return r.UAS
	}
	t.Run("campaign live with operator", func(t *testing.T) {
		// The callers stand in for the appliance's operator: they send
		// operator 3's tone through the dial route to the live answers.
		tr := campaign(t, "--trunk-live", "1", "--caller-audio", "operator3", "--hold", "10s", "--trunk-talk", "1s")
		c := tr.Campaign
		if c.Dials[campLive] != 3 || c.Ended["live/callee"] != 3 || c.Connect.N != 3 || c.ByOperator["operator3"] != 3 || c.SafeHarbor.N != 0 {
			t.Errorf("campaign = dials %v, ended %v, connects %d by %v, safe harbor %d; want 3 live, hung up by the callee after talking to operator3, no safe harbor",
				c.Dials, c.Ended, c.Connect.N, c.ByOperator, c.SafeHarbor.N)
		}
		if c.TalkTime.N != 3 || c.TalkTime.P50ms < 900 {
			t.Errorf("talk time %+v, want 3 of about 1 s", c.TalkTime)
		}
	})
	t.Run("campaign live without operator", func(t *testing.T) {
		// Speech arriving instead of an operator is what the trunk takes
		// for the appliance's safe-harbor message.
		tr := campaign(t, "--trunk-live", "1", "--caller-audio", "speech", "--hold", "10s", "--trunk-patience", "1500ms")
		c := tr.Campaign
		if c.SafeHarbor.N != 3 || c.SafeHarborOnly != 3 || c.Connect.N != 0 || c.Ended["live/callee_patience"] != 3 || c.Abandoned != 3 {
			t.Errorf("campaign = safe harbor %d (%d without operator), connects %d, ended %v, abandoned %d; want 3, 3, 0, 3 by patience, 3",
				c.SafeHarbor.N, c.SafeHarborOnly, c.Connect.N, c.Ended, c.Abandoned)
		}
	})
	t.Run("campaign busy", func(t *testing.T) {
		tr := campaign(t, "--trunk-live", "0", "--trunk-mix", "busy=1")
		if c := tr.Campaign; c.Dials[campBusy] != 3 || tr.Rejected != 3 || c.RingTime[campBusy].N != 3 {
			t.Errorf("busy: dials %v, rejected %d, ring times %v; want 3 busy", c.Dials, tr.Rejected, c.RingTime)
		}
	})
	t.Run("campaign no answer", func(t *testing.T) {
		// The appliance's ring timeout (2 s) cancels the trunk's leg.
		tr := campaign(t, "--trunk-live", "0", "--trunk-mix", "no_answer=1", "--setup-timeout", "5s")
		if c := tr.Campaign; c.Dials[campNoAnswer] != 3 || c.Cancelled[campNoAnswer] != 3 || tr.Answered != 0 {
			t.Errorf("no answer: dials %v, cancelled %v, answered %d; want 3 rung out and cancelled", c.Dials, c.Cancelled, tr.Answered)
		}
	})
	t.Run("campaign machine", func(t *testing.T) {
		tr := campaign(t, "--trunk-live", "0", "--trunk-mix", "machine=1", "--hold", "2s", "--trunk-greeting", "5s")
		c := tr.Campaign
		if c.Dials[campMachine] != 3 || c.Ended["machine/far_end"] != 3 || c.MachineHangup.N != 3 {
			t.Errorf("machine: dials %v, ended %v, far end BYEs after answer %+v; want 3 hung up by the far end", c.Dials, c.Ended, c.MachineHangup)
		}
	})
}
