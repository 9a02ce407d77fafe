package dialer

import (
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/obzvon/obzvon/config"
)

func TestInviteLimiter(t *testing.T) {
	c := &clock{t: time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)}
	cfg := config.Default()
	cfg.Calls.InviteRate = 2
	cfg.Routes = append(cfg.Routes, config.Route{Name: "t", Match: "8*", Action: config.ActionDial, Target: "sip:x@192.0.2.1", Allow: []string{"198.51.100.0/24"}})
	l := newInviteLimiter(cfg, c.now)
	n := 0
	for range 10 {
		if l.allow("192.0.2.7:5060") {
			n++
		}
	}
	if n != 4 {
		t.Errorf("%d of 10 INVITEs at once allowed, want the burst of 4", n)
	}
	if !l.allow("192.0.2.8:5060") {
		t.Errorf("another source refused")
	}
	for i := range 5 {
		if !l.allow("198.51.100.9:5060") {
			t.Errorf("a trunk in a route's allow network was limited at INVITE %d", i+1)
		}
	}
	c.t = c.t.Add(time.Second)
	got := []bool{l.allow("192.0.2.7:5060"), l.allow("192.0.2.7:5060"), l.allow("192.0.2.7:5060")}
	if !got[0] || !got[1] || got[2] {
		t.Errorf("after 1 s: allowed %v, want 2 more INVITEs at rate 2/s, then a refusal", got)
	}
	cfg.Calls.InviteRate = 0
	if newInviteLimiter(cfg, c.now) != nil || !(*inviteLimiter)(nil).allow("x") {
		t.Errorf("rate 0 should turn the limit off")
	}
}

// sendInvite sends one INVITE from conn and returns the final status code
// without acknowledging it, as a flood does.
func sendInvite(t *testing.T, c net.Conn, ruri, callID, sdp string) string {
	t.Helper()
	local := c.LocalAddr().String()
	msg := strings.Join([]string{"INVITE " + ruri + " SIP/2.0", "Via: SIP/2.0/UDP " + local + ";branch=z9hG4bK-" + callID,
		"From: <sip:flood@127.0.0.1>;tag=f" + callID, "To: <sip:x@127.0.0.1>", "Call-ID: " + callID, "CSeq: 1 INVITE",
		"Contact: <sip:flood@" + local + ">", "Max-Forwards: 70", "Content-Type: application/sdp",
		"Content-Length: " + strconv.Itoa(len(sdp)), "", sdp}, "\r\n")
	if _, err := c.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 8192)
	for {
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, err := c.Read(buf)
		if err != nil {
			t.Fatalf("INVITE %s: no final response: %v", callID, err)
		}
		res := string(buf[:n])
		if !strings.Contains(res, "Call-ID: "+callID) {
			continue // a retransmission of an earlier answer
		}
		if f := strings.Fields(res); len(f) > 1 && f[1] >= "200" {
			return f[1]
		}
	}
}

// An INVITE refused with 488 and never acknowledged stops counting
// against max_concurrent at once, not after Timer H (32 s).
func TestRejectedInviteFreesCapacity(t *testing.T) {
	a := startAppliance(t, []config.Route{{Name: "greeting", Match: "601", Action: config.ActionPlayback, Prompt: "greeting"}},
		func(c *config.Config) { c.Calls.MaxConcurrent = 2 })
	c, err := net.Dial("udp", a.target())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	g729 := "v=0\r\no=x 1 1 IN IP4 127.0.0.1\r\ns=x\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 18\r\na=rtpmap:18 G729/8000\r\n"
	for i := range 4 {
		if code := sendInvite(t, c, "sip:601@"+a.target(), "g729-"+strconv.Itoa(i), g729); code != "488" {
			t.Errorf("INVITE %d (G.729 only, never ACKed) = %s, want 488 (503 means refused calls still hold capacity)", i, code)
		}
	}
	// 404s are refused before any call exists.
	if code := sendInvite(t, c, "sip:999@"+a.target(), "nf-1", g729); code != "404" {
		t.Errorf("INVITE to no route = %s, want 404", code)
	}
	if a.srv.Active() != 0 {
		t.Errorf("Active() = %d with only refused INVITEs, want 0", a.srv.Active())
	}
}

// One address flooding INVITEs gets 503 past its rate; another address
// does not.
func TestInviteRateLimitPerSource(t *testing.T) {
	a := startAppliance(t, []config.Route{{Name: "greeting", Match: "601", Action: config.ActionPlayback, Prompt: "greeting"}},
		func(c *config.Config) { c.Calls.InviteRate = 2 })
	c, err := net.Dial("udp", a.target())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	limited := 0
	for i := range 20 {
		switch code := sendInvite(t, c, "sip:999@"+a.target(), "rl-"+strconv.Itoa(i), ""); code {
		case "503":
			limited++
		case "404":
		default:
			t.Errorf("INVITE %d = %s, want 404 or 503", i, code)
		}
	}
	if limited < 8 {
		t.Errorf("%d of 20 INVITEs rate limited at 2/s (burst 4), want most", limited)
	}
	// Another loopback address is another source.
	o2, err := net.DialUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2)}, net.UDPAddrFromAddrPort(mustAddrPort(a.target())))
	if err != nil {
		t.Fatal(err)
	}
	defer o2.Close()
	if code := sendInvite(t, o2, "sip:999@"+a.target(), "rl-other", ""); code != "404" {
		t.Errorf("INVITE from another address = %s, want 404", code)
	}
}

func mustAddrPort(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

// Recording names are unique whatever Call-ID the caller sends: two calls
// with one Call-ID in the same second get two files.
func TestRecordingNamesUnique(t *testing.T) {
	s := &Server{}
	at := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	seen := map[string]bool{}
	for _, id := range []string{"same@x", "same@x", "same@x", "../../etc/passwd", ""} {
		n := s.recordingName(at, id)
		if seen[n] || strings.ContainsAny(n, "/\\") {
			t.Errorf("recordingName(%q) = %q: repeated or not a plain name", id, n)
		}
		seen[n] = true
	}
}
