package dialer

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/obzvon/obzvon/config"
	"github.com/obzvon/obzvon/media"
)

// answeredCall sends an INVITE whose SDP names mediaPort, acknowledges
// the 200, and answers the appliance's BYE; it returns when the BYE came.
// talk, when not nil, is called once the call is up (to send RTP).
func answeredCall(t *testing.T, target, ruri, callID string, mediaPort int, talk func()) {
	t.Helper()
	c, err := net.Dial("udp", target)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	local := c.LocalAddr().String()
	sdp := fmt.Sprintf("v=0\r\no=x 1 1 IN IP4 127.0.0.1\r\ns=x\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n", mediaPort)
	msg := strings.Join([]string{"INVITE " + ruri + " SIP/2.0", "Via: SIP/2.0/UDP " + local + ";branch=z9hG4bK-" + callID,
		"From: <sip:caller@127.0.0.1>;tag=f" + callID, "To: <sip:601@127.0.0.1>", "Call-ID: " + callID, "CSeq: 1 INVITE",
		"Contact: <sip:caller@" + local + ">", "Max-Forwards: 70", "Content-Type: application/sdp",
		"Content-Length: " + strconv.Itoa(len(sdp)), "", sdp}, "\r\n")
	if _, err := c.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 8192)
	read := func(what string) string {
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
	ack := strings.Join([]string{"ACK " + ruri + " SIP/2.0", "Via: SIP/2.0/UDP " + local + ";branch=z9hG4bK-ack-" + callID,
		sipHeader(ok, "From"), sipHeader(ok, "To"), sipHeader(ok, "Call-ID"), "CSeq: 1 ACK", "Max-Forwards: 70", "Content-Length: 0", "", ""}, "\r\n")
	if _, err := c.Write([]byte(ack)); err != nil {
		t.Fatal(err)
	}
	if talk != nil {
		talk()
	}
	var bye string
	for !strings.HasPrefix(bye, "BYE ") {
		bye = read("BYE")
	}
	reply := strings.Join([]string{"SIP/2.0 200 OK", sipHeader(bye, "Via"), sipHeader(bye, "From"), sipHeader(bye, "To"),
		sipHeader(bye, "Call-ID"), sipHeader(bye, "CSeq"), "Content-Length: 0", "", ""}, "\r\n")
	_, _ = c.Write([]byte(reply))
}

// countPackets counts datagrams arriving at c until stop is closed.
func countPackets(c *net.UDPConn, stop <-chan struct{}) <-chan int {
	out := make(chan int, 1)
	go func() {
		n := 0
		buf := make([]byte, 2048)
		for {
			select {
			case <-stop:
				out <- n
				return
			default:
			}
			_ = c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
			if _, err := c.Read(buf); err == nil {
				n++
			}
		}
	}()
	return out
}

// A silent caller whose SDP names a third party's address gets no more
// than media.UnheardBudget packets of the 5.3 s greeting sent there; a
// caller that sends RTP from its SDP address hears the whole greeting.
func TestNoRTPReflectionToSilentCaller(t *testing.T) {
	a := startAppliance(t, []config.Route{{Name: "greeting", Match: "601", Action: config.ActionPlayback, Prompt: "greeting"}})
	victim, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer victim.Close()
	stop := make(chan struct{})
	got := countPackets(victim, stop)
	answeredCall(t, a.target(), "sip:601@"+a.target(), "reflect-1", victim.LocalAddr().(*net.UDPAddr).Port, nil)
	close(stop)
	if n := <-got; n > media.UnheardBudget {
		t.Errorf("third party got %d RTP packets from a silent caller's call, want at most %d", n, media.UnheardBudget)
	}

	// A real caller: sends RTP from the address its SDP names.
	phone, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer phone.Close()
	stop2 := make(chan struct{})
	heard := make(chan int, 1)
	go func() {
		n := 0
		buf := make([]byte, 2048)
		var to *net.UDPAddr
		for {
			select {
			case <-stop2:
				heard <- n
				return
			default:
			}
			_ = phone.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
			if _, from, err := phone.ReadFromUDP(buf); err == nil {
				n++
				to = from
			}
			if to != nil { // answer every packet with one of ours, as a phone streams
				pkt := make([]byte, 172)
				pkt[0], pkt[1] = 0x80, 0
				pkt[3] = byte(n)
				pkt[11] = 7
				_, _ = phone.WriteToUDP(pkt, to)
			}
		}
	}()
	answeredCall(t, a.target(), "sip:601@"+a.target(), "reflect-2", phone.LocalAddr().(*net.UDPAddr).Port, nil)
	close(stop2)
	if n := <-heard; n < 200 {
		t.Errorf("a caller sending RTP heard %d packets of the 5.3 s greeting, want about 265", n)
	}
}
