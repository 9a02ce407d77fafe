package dialer

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/obzvon/obzvon/config"
	"github.com/obzvon/obzvon/internal/peertest"
)

// TestRefusalsCarryRetryAfter checks the 503s of an appliance at capacity
// and of one draining: each carries Retry-After (1–5 s at capacity, 30 s
// while draining), and, as dialer/doc.go says, leaves no call record.
func TestRefusalsCarryRetryAfter(t *testing.T) {
	a := startAppliance(t, []config.Route{{Name: "echo", Match: "600", Action: config.ActionEcho}},
		func(c *config.Config) { c.Calls.MaxConcurrent = 1 })
	caller := peertest.StartSIPp(t, "uac_inbound.xml", a.target(), "-s", "600", "-d", "4000", "-m", "1",
		"-p", strconv.Itoa(peertest.FreePort(t)), "-mp", strconv.Itoa(peertest.FreeMediaPort(t)))
	waitAnswered(t, a.srv, 10*time.Second)

	h := newHostileClient(t, a.target())
	inv := hostileInvite("cap1", "600", "", "")
	h.send(inv)
	line, res := h.final(5 * time.Second)
	h.send(ackFor(strings.ReplaceAll(inv, "LOCAL", h.local), res))
	retry, err := strconv.Atoi(hostileHeader(res, "Retry-After"))
	if !strings.Contains(line, " 503 ") || err != nil || retry < 1 || retry > 5 {
		t.Errorf("INVITE at capacity = %q with Retry-After %q, want 503 and 1-5", line, hostileHeader(res, "Retry-After"))
	}
	if code := caller.Wait(20 * time.Second); code != 0 {
		t.Fatalf("admitted call failed: sipp exit %d\n%s", code, caller.Output())
	}
	a.waitCalls(t, 1)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	a.srv.Drain(ctx) // no call left: returns at once, draining from now on
	h = newHostileClient(t, a.target())
	h.send(hostileInvite("drain1", "600", "", ""))
	line, res = h.final(5 * time.Second)
	if !strings.Contains(line, " 503 ") || hostileHeader(res, "Retry-After") != "30" {
		t.Errorf("INVITE while draining = %q with Retry-After %q, want 503 and 30", line, hostileHeader(res, "Retry-After"))
	}
	calls, err := a.journal.Calls(context.Background(), time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	if err != nil || len(calls) != 1 {
		t.Errorf("call records = %d (%v), want only the admitted call's", len(calls), err)
	}
}

// TestRateLimitedInviteCarriesRetryAfter: INVITEs from one address past
// calls.invite_rate get 503 with a Retry-After (whole seconds), so a
// well-behaved caller backs off instead of retrying at once.
func TestRateLimitedInviteCarriesRetryAfter(t *testing.T) {
	a := startAppliance(t, []config.Route{{Name: "echo", Match: "600", Action: config.ActionEcho}},
		func(c *config.Config) { c.Calls.InviteRate = 1 }) // burst 2
	h := newHostileClient(t, a.target())
	var got []string
	for i := range 6 { // bounded: the third at the latest is over the burst
		inv := hostileInvite("rl"+strconv.Itoa(i), "999", "", "") // no route: 404 while admitted
		h.send(inv)
		line, res := h.final(5 * time.Second)
		h.send(ackFor(strings.ReplaceAll(inv, "LOCAL", h.local), res))
		got = append(got, line)
		if !strings.Contains(line, " 503 ") {
			continue
		}
		retry, err := strconv.Atoi(hostileHeader(res, "Retry-After"))
		if err != nil || retry < 1 || retry > 60 {
			t.Errorf("rate-limited INVITE = %q with Retry-After %q, want whole seconds 1-60", line, hostileHeader(res, "Retry-After"))
		}
		return
	}
	t.Errorf("6 INVITEs at once at invite_rate 1 (burst 2) answered %q, want a 503", got)
}

// TestNoMediaPortsRefusalCarriesRetryAfter: with calls.max_concurrent
// above what the RTP range carries, a call that finds no free port gets
// 503 with Retry-After (1–5 s) like one refused at capacity: the shortage
// ends as calls end.
func TestNoMediaPortsRefusalCarriesRetryAfter(t *testing.T) {
	a := startAppliance(t, []config.Route{{Name: "echo", Match: "600", Action: config.ActionEcho}},
		func(c *config.Config) {
			c.RTP.PortMax = c.RTP.PortMin + 3 // two RTP/RTCP pairs: two calls
			c.Calls.MaxConcurrent = 10
		})
	caller := peertest.StartSIPp(t, "uac_inbound.xml", a.target(), "-s", "600", "-d", "4000", "-m", "2", "-l", "2",
		"-p", strconv.Itoa(peertest.FreePort(t)), "-mp", strconv.Itoa(peertest.FreeMediaPort(t)))
	for deadline := time.Now().Add(10 * time.Second); answeredCalls(a.srv) < 2; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d calls answered after 10 s, want both of the RTP range's", answeredCalls(a.srv))
		}
	}

	h := newHostileClient(t, a.target())
	sdp := "v=0\r\no=x 1 1 IN IP4 127.0.0.1\r\ns=x\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\n"
	inv := hostileInvite("ports1", "600", "", sdp)
	h.send(inv)
	line, res := h.final(5 * time.Second)
	h.send(ackFor(strings.ReplaceAll(inv, "LOCAL", h.local), res))
	retry, err := strconv.Atoi(hostileHeader(res, "Retry-After"))
	if !strings.Contains(line, "503 Service Unavailable (no media ports)") || err != nil || retry < 1 || retry > 5 {
		t.Errorf("INVITE with no free RTP port = %q with Retry-After %q, want 503 (no media ports) and 1-5", line, hostileHeader(res, "Retry-After"))
	}
	if code := caller.Wait(20 * time.Second); code != 0 {
		t.Fatalf("admitted call failed: sipp exit %d\n%s", code, caller.Output())
	}
}

// answeredCalls counts srv's answered calls.
func answeredCalls(srv *Server) int {
	srv.mu.Lock()
	cs := make([]*call, 0, len(srv.calls))
	for _, c := range srv.calls {
		cs = append(cs, c)
	}
	srv.mu.Unlock()
	n := 0
	for _, c := range cs {
		c.mu.Lock()
		if c.answered {
			n++
		}
		c.mu.Unlock()
	}
	return n
}

// TestSetupRateRefusalCarriesRetryAfter: past calls.max_setup_rate new
// calls a second in all (here from an address exempt from the per-source
// limit), INVITEs get 503 with Retry-After 1–5 s and are counted by
// reason; without the limit the same burst is admitted.
func TestSetupRateRefusalCarriesRetryAfter(t *testing.T) {
	burst := func(rate float64) []string {
		// Admitted calls to a phone that is not registered end at once
		// (480), so nothing is left up when the appliance stops.
		a := startAppliance(t, []config.Route{{Name: "agent", Match: "1XXX", Action: config.ActionDial, Target: "reg:${number}"}},
			func(c *config.Config) { c.Calls.InviteRate, c.Calls.MaxSetupRate = 0, rate })
		h := newHostileClient(t, a.target())
		var got []string
		for i := range 4 { // bounded: at rate 1 (burst 1) the second is over
			sdp := "v=0\r\no=x 1 1 IN IP4 127.0.0.1\r\ns=x\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\n"
			inv := hostileInvite("sr"+strconv.Itoa(i), "1001", "", sdp) // 480 when admitted
			h.send(inv)
			line, res := h.final(5 * time.Second)
			h.send(ackFor(strings.ReplaceAll(inv, "LOCAL", h.local), res))
			got = append(got, line)
			if strings.Contains(line, " 503 ") {
				retry, err := strconv.Atoi(hostileHeader(res, "Retry-After"))
				if !strings.Contains(line, "setup rate") || err != nil || retry < 1 || retry > 5 {
					t.Errorf("INVITE over the setup rate = %q with Retry-After %q, want 503 (setup rate) and 1-5", line, hostileHeader(res, "Retry-After"))
				}
			}
		}
		return got
	}
	limited := burst(1)
	if n := countContaining(limited, " 503 "); n == 0 {
		t.Errorf("4 INVITEs at once at max_setup_rate 1 answered %q, want 503s", limited)
	}
	if free := burst(0); countContaining(free, " 503 ") != 0 {
		t.Errorf("4 INVITEs at once without a setup limit answered %q, want no 503", free)
	}
}

func countContaining(lines []string, sub string) (n int) {
	for _, l := range lines {
		if strings.Contains(l, sub) {
			n++
		}
	}
	return n
}
