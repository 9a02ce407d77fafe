package dialer

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/obzvon/obzvon/config"
)

// TestEchoBeforeACK: a caller whose ACK does not get through (lost, or
// queued behind a flood) talks from our 200 on and must hear its echo.
// The echo used to start only when the ACK arrived; sipgo re-sends the
// 200, and the caller its ACK, only after 0.5 s and then 4 s, so under
// make overload's setup phase callers holding 2 s hung up before their
// ACK got through, having heard nothing (and were recorded as failed,
// 487). The caller here never ACKs; it hangs up with BYE, which must end
// the call, recorded as answered.
func TestEchoBeforeACK(t *testing.T) {
	a := startAppliance(t, []config.Route{{Name: "echo", Match: "600", Action: config.ActionEcho}})
	phone, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer phone.Close()
	c, err := net.Dial("udp", a.target())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	local, ruri, callID := c.LocalAddr().String(), "sip:600@"+a.target(), "late-ack-1"
	sdp := fmt.Sprintf("v=0\r\no=x 1 1 IN IP4 127.0.0.1\r\ns=x\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n",
		phone.LocalAddr().(*net.UDPAddr).Port)
	msg := strings.Join([]string{"INVITE " + ruri + " SIP/2.0", "Via: SIP/2.0/UDP " + local + ";branch=z9hG4bK-" + callID,
		"From: <sip:caller@127.0.0.1>;tag=f" + callID, "To: <sip:600@127.0.0.1>", "Call-ID: " + callID, "CSeq: 1 INVITE",
		"Contact: <sip:caller@" + local + ">", "Max-Forwards: 70", "Content-Type: application/sdp",
		"Content-Length: " + strconv.Itoa(len(sdp)), "", sdp}, "\r\n")
	if _, err := c.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 8192)
	read := func(what string) string {
		t.Helper()
		_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
		n, err := c.Read(buf)
		if err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		return string(buf[:n])
	}
	var ok string
	for !strings.HasPrefix(ok, "SIP/2.0 200") {
		ok = read("200 OK")
	}
	media := rtpAddrOf(t, ok)

	// No ACK. Talk until the first echo comes back (bounded: before the
	// fix nothing comes while the ACK is missing).
	pkt := make([]byte, 12+160)
	pkt[0], pkt[1], pkt[11] = 0x80, 0, 7 // PCMU, SSRC 7
	rbuf := make([]byte, 2048)
	deadline := time.Now().Add(10 * time.Second)
	heard := false
	for seq := 0; !heard && time.Now().Before(deadline); seq++ {
		pkt[2], pkt[3] = byte(seq>>8), byte(seq)
		if _, err := phone.WriteToUDP(pkt, media); err != nil {
			t.Fatal(err)
		}
		_ = phone.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		if _, from, err := phone.ReadFromUDP(rbuf); err == nil && from.Port == media.Port {
			heard = true
		}
	}
	if !heard {
		t.Errorf("the caller heard no echo in 10 s of RTP after the 200 it has not acknowledged")
	}

	// The caller hangs up; its ACK never came.
	bye := strings.Join([]string{"BYE " + ruri + " SIP/2.0", "Via: SIP/2.0/UDP " + local + ";branch=z9hG4bK-bye-" + callID,
		sipHeader(ok, "From"), sipHeader(ok, "To"), sipHeader(ok, "Call-ID"), "CSeq: 2 BYE", "Max-Forwards: 70", "Content-Length: 0", "", ""}, "\r\n")
	if _, err := c.Write([]byte(bye)); err != nil {
		t.Fatal(err)
	}
	for {
		res := read("the BYE's 200")
		if strings.HasPrefix(res, "SIP/2.0 200") && strings.Contains(sipHeader(res, "CSeq"), "BYE") {
			break
		}
	}
	// It had our 200 and talked: an answered call, hung up by the caller.
	if r := a.waitCalls(t, 1)[0]; r.SIPCode != 200 || r.Answered.IsZero() || r.HangupBy != hangupCaller {
		t.Errorf("call record: SIP code %d, answered %v, hung up by %q; want 200, the 200's time, %q", r.SIPCode, r.Answered, r.HangupBy, hangupCaller)
	}
}

// rtpAddrOf returns the RTP address of the SDP in a SIP message.
func rtpAddrOf(t *testing.T, msg string) *net.UDPAddr {
	t.Helper()
	var ip net.IP
	port := 0
	for _, l := range strings.Split(msg, "\r\n") {
		if v, ok := strings.CutPrefix(l, "c=IN IP4 "); ok {
			ip = net.ParseIP(strings.TrimSpace(v))
		}
		if v, ok := strings.CutPrefix(l, "m=audio "); ok {
			port, _ = strconv.Atoi(strings.Fields(v)[0])
		}
	}
	if ip == nil || port == 0 {
		t.Fatalf("no RTP address in the SDP of %q", msg)
	}
	return &net.UDPAddr{IP: ip, Port: port}
}
