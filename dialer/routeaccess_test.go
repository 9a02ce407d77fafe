package dialer

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/icholy/digest"

	"github.com/obzvon/obzvon/config"
)

// fakeTrunk is a UDP "carrier" that records the INVITEs it gets and
// answers each 486 Busy Here.
type fakeTrunk struct {
	conn    *net.UDPConn
	invites chan string
}

func startFakeTrunk(t *testing.T) *fakeTrunk {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	ft := &fakeTrunk{conn: c, invites: make(chan string, 16)}
	t.Cleanup(func() { c.Close() })
	go func() {
		buf := make([]byte, 8192)
		for {
			n, from, err := c.ReadFromUDP(buf)
			if err != nil {
				return
			}
			msg := string(buf[:n])
			if !strings.HasPrefix(msg, "INVITE ") {
				continue
			}
			ft.invites <- msg
			res := strings.Join([]string{"SIP/2.0 486 Busy Here", sipHeader(msg, "Via"), sipHeader(msg, "From"),
				sipHeader(msg, "To") + ";tag=trunk", sipHeader(msg, "Call-ID"), sipHeader(msg, "CSeq"), "Content-Length: 0", "", ""}, "\r\n")
			_, _ = c.WriteToUDP([]byte(res), from)
		}
	}()
	return ft
}

func (ft *fakeTrunk) port() int { return ft.conn.LocalAddr().(*net.UDPAddr).Port }

// got returns the next INVITE the trunk received, or "" when none came
// within wait.
func (ft *fakeTrunk) got(wait time.Duration) string {
	select {
	case m := <-ft.invites:
		return m
	case <-time.After(wait):
		return ""
	}
}

func sipHeader(msg, name string) string {
	for _, l := range strings.Split(msg, "\r\n") {
		if strings.HasPrefix(strings.ToLower(l), strings.ToLower(name)+":") {
			return l
		}
	}
	return ""
}

// invite sends an INVITE with SDP from a fresh UDP socket and returns the
// first response other than 100 (the whole message), acknowledging a
// final error response.
func invite(t *testing.T, target, ruri, toUser, fromUser, callID string, extra ...string) string {
	t.Helper()
	c, err := net.Dial("udp", target)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	local := c.LocalAddr().String()
	sdp := "v=0\r\no=x 1 1 IN IP4 127.0.0.1\r\ns=x\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
	lines := []string{"INVITE " + ruri + " SIP/2.0", "Via: SIP/2.0/UDP " + local + ";branch=z9hG4bK-" + callID + strconv.Itoa(len(extra)),
		"From: <sip:" + fromUser + "@127.0.0.1>;tag=f" + callID, "To: <sip:" + toUser + "@127.0.0.1>", "Call-ID: " + callID,
		fmt.Sprintf("CSeq: %d INVITE", 1+len(extra)), "Contact: <sip:" + fromUser + "@" + local + ">", "Max-Forwards: 70"}
	lines = append(lines, extra...)
	lines = append(lines, "Content-Type: application/sdp", "Content-Length: "+strconv.Itoa(len(sdp)), "", sdp)
	msg := strings.Join(lines, "\r\n")
	if _, err := c.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 8192)
	for {
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, err := c.Read(buf)
		if err != nil {
			t.Fatalf("INVITE %s: no response: %v", ruri, err)
		}
		res := string(buf[:n])
		if strings.HasPrefix(res, "SIP/2.0 100 ") {
			continue
		}
		if f := strings.Fields(res); len(f) > 1 && f[1] >= "300" {
			_, _ = c.Write([]byte(ackFor(strings.ReplaceAll(msg, "\r\n", "\n"), res)))
		}
		return res
	}
}

func statusOf(res string) string {
	if f := strings.Fields(res); len(f) > 1 {
		return f[1]
	}
	return ""
}

func fromUserOf(inv string) string {
	from := sipHeader(inv, "From")
	i := strings.Index(from, "sip:")
	if i < 0 {
		return ""
	}
	u, _, _ := strings.Cut(from[i+4:], "@")
	return u
}

func TestTollFraud(t *testing.T) {
	trunk := startFakeTrunk(t)
	tgt := fmt.Sprintf("sip:${number}@127.0.0.1:%d", trunk.port())
	a := startApplianceWith(t, []config.Route{
		{Name: "trunk", Match: "8*", Action: config.ActionDial, Target: tgt},
		{Name: "open", Match: "7*", Action: config.ActionDial, Target: tgt, Allow: []string{"anyone"}},
		{Name: "cid", Match: "6*", Action: config.ActionDial, Target: tgt, CallerID: "74950000000"},
	}, fakeCreds{"1001": "secret-1001-long"})
	host := "127.0.0.1:" + strconv.Itoa(a.port)
	none := func(what string) {
		t.Helper()
		if m := trunk.got(300 * time.Millisecond); m != "" {
			t.Errorf("%s: the trunk got an INVITE:\n%s", what, m)
		}
	}

	// An anonymous caller is challenged, and nothing goes out.
	res := invite(t, a.target(), "sip:89161234567@"+host, "89161234567", "+79990001122", "anon-1")
	if statusOf(res) != "401" || sipHeader(res, "WWW-Authenticate") == "" {
		t.Errorf("anonymous INVITE to the trunk route = %q, want 401 with a challenge", strings.SplitN(res, "\r\n", 2)[0])
	}
	none("anonymous caller")

	// Routing is on the Request-URI, not on To.
	if res := invite(t, a.target(), "sip:999@"+host, "79161234567", "x", "ruri-1"); statusOf(res) != "404" {
		t.Errorf("Request-URI 999 with To 79161234567 = %s, want 404", statusOf(res))
	}
	none("To header pointing at a route")

	// Only digits match: URI parameters in the user part match nothing.
	if res := invite(t, a.target(), "sip:7;maddr=127.0.0.9@"+host, "7", "x", "maddr-1"); statusOf(res) != "404" {
		t.Errorf("user 7;maddr=… = %s, want 404", statusOf(res))
	}
	none("non-digit number")

	// An anonymous caller on an open route does not choose the caller ID.
	invite(t, a.target(), "sip:79161234567@"+host, "79161234567", "+79990001122", "open-1")
	if m := trunk.got(5 * time.Second); m == "" || fromUserOf(m) != "obzvon" {
		t.Errorf("open route: trunk INVITE From user %q, want obzvon (not the caller's +79990001122)", fromUserOf(m))
	}

	// An operator phone that answers the challenge gets through, with
	// its own number; a wrong secret gets 403.
	signed := func(ruri, password, callID string) string {
		chal := invite(t, a.target(), ruri, "x", "1001", callID)
		c, err := digest.ParseChallenge(strings.TrimSpace(strings.SplitN(sipHeader(chal, "WWW-Authenticate"), ":", 2)[1]))
		if err != nil {
			t.Fatalf("challenge: %v\n%s", err, chal)
		}
		cred, err := digest.Digest(c, digest.Options{Method: "INVITE", URI: ruri, Username: "1001", Password: password, Count: 1, Cnonce: "abc"})
		if err != nil {
			t.Fatal(err)
		}
		return invite(t, a.target(), ruri, "x", "1001", callID, "Authorization: "+cred.String())
	}
	if res := signed("sip:89161234567@"+host, "wrong-secret", "phone-bad"); statusOf(res) != "403" {
		t.Errorf("phone with a wrong secret = %s, want 403", statusOf(res))
	}
	none("wrong secret")
	signed("sip:89161234567@"+host, "secret-1001-long", "phone-1")
	if m := trunk.got(5 * time.Second); m == "" || fromUserOf(m) != "1001" {
		t.Errorf("authenticated phone: trunk INVITE From user %q, want 1001", fromUserOf(m))
	}
	signed("sip:69161234567@"+host, "secret-1001-long", "phone-2")
	if m := trunk.got(5 * time.Second); m == "" || fromUserOf(m) != "74950000000" {
		t.Errorf("route with caller_id: trunk INVITE From user %q, want 74950000000", fromUserOf(m))
	}
	// Refused INVITEs leave no call record; the calls that reached the
	// trunk do.
	recs := a.waitCalls(t, 3)
	if len(recs) != 3 {
		t.Errorf("%d call records, want 3 (the calls that reached the trunk)", len(recs))
	}
	for _, r := range recs {
		if r.Route == "" {
			t.Errorf("a refused INVITE was journaled: %+v", r)
		}
	}
}
