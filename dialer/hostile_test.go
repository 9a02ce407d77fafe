package dialer

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/obzvon/obzvon/config"
	"github.com/obzvon/obzvon/internal/peertest"
)

// hostileClient is a raw SIP client on one UDP socket.
type hostileClient struct {
	t     *testing.T
	c     *net.UDPConn
	local string
}

func newHostileClient(t *testing.T, target string) *hostileClient {
	t.Helper()
	raddr, err := net.ResolveUDPAddr("udp", target)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.DialUDP("udp", nil, raddr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &hostileClient{t: t, c: c, local: c.LocalAddr().String()}
}

func (h *hostileClient) send(wire string) {
	h.t.Helper()
	if _, err := h.c.Write([]byte(strings.ReplaceAll(wire, "LOCAL", h.local))); err != nil {
		h.t.Fatal(err)
	}
}

// final reads until a final response (or nothing within wait: dropped,
// returned as ""). Provisional responses are skipped.
func (h *hostileClient) final(wait time.Duration) (line, msg string) {
	buf := make([]byte, 65536)
	for {
		_ = h.c.SetReadDeadline(time.Now().Add(wait))
		n, err := h.c.Read(buf)
		if err != nil {
			return "", ""
		}
		msg = string(buf[:n])
		line, _, _ = strings.Cut(msg, "\r\n")
		if f := strings.Fields(line); len(f) > 1 && f[0] == "SIP/2.0" && f[1] >= "200" {
			return line, msg
		}
	}
}

func hostileHeader(msg, name string) string {
	for _, l := range strings.Split(msg, "\r\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.EqualFold(strings.TrimSpace(k), name) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// hangUp completes a call our raw INVITE got 200 for: ACK (with an SDP
// answer, for a delayed offer) and BYE, which must be answered 200.
func (h *hostileClient) hangUp(res string, delayed bool) {
	h.t.Helper()
	contact := strings.Trim(hostileHeader(res, "Contact"), "<>")
	if i := strings.IndexByte(contact, '>'); i >= 0 {
		contact = contact[:i]
	}
	common := fmt.Sprintf("From: %s\r\nTo: %s\r\nCall-ID: %s\r\nMax-Forwards: 70\r\n",
		hostileHeader(res, "From"), hostileHeader(res, "To"), hostileHeader(res, "Call-ID"))
	body := ""
	ctype := ""
	if delayed {
		body = "v=0\r\no=x 1 1 IN IP4 127.0.0.1\r\ns=x\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\n"
		ctype = "Content-Type: application/sdp\r\n"
	}
	h.send(fmt.Sprintf("ACK %s SIP/2.0\r\nVia: SIP/2.0/UDP LOCAL;branch=z9hG4bK-ack%d\r\n%sCSeq: 1 ACK\r\n%sContent-Length: %d\r\n\r\n%s",
		contact, time.Now().UnixNano(), common, ctype, len(body), body))
	h.send(fmt.Sprintf("BYE %s SIP/2.0\r\nVia: SIP/2.0/UDP LOCAL;branch=z9hG4bK-bye%d\r\n%sCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n",
		contact, time.Now().UnixNano(), common))
	if line, _ := h.final(5 * time.Second); !strings.Contains(line, " 200 ") {
		h.t.Errorf("BYE after the hostile call answered %q, want 200", line)
	}
}

func hostileInvite(id, to, extra, body string) string {
	ctype := ""
	if body != "" {
		ctype = "Content-Type: application/sdp\r\n"
	}
	return fmt.Sprintf("INVITE sip:%s@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP LOCAL;branch=z9hG4bK-%s\r\nFrom: <sip:tester@127.0.0.1>;tag=f%s\r\n"+
		"To: <sip:%s@127.0.0.1>\r\nCall-ID: %s\r\nCSeq: 1 INVITE\r\nContact: <sip:tester@LOCAL>\r\nMax-Forwards: 70\r\n%s%sContent-Length: %d\r\n\r\n%s",
		to, id, id, to, id, extra, ctype, len(body), body)
}

func hostileOptions(id, extra, cseq string) string {
	return fmt.Sprintf("OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP LOCAL;branch=z9hG4bK-%s\r\n%sFrom: <sip:tester@127.0.0.1>;tag=f%s\r\n"+
		"To: <sip:127.0.0.1>\r\nCall-ID: %s\r\nCSeq: %s OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n", id, extra, id, id, cseq)
}

// TestHostileSIP sends the appliance malformed and abusive SIP over UDP:
// each message gets a correct answer or is dropped (never a crash, a
// wrong success or a hang), and a normal call works afterwards.
func TestHostileSIP(t *testing.T) {
	a := startApplianceWith(t, []config.Route{{Name: "echo", Match: "600", Action: config.ActionEcho}},
		fakeCreds{"1001": "secret-1001"})
	sdp := "v=0\r\no=x 1 1 IN IP4 127.0.0.1\r\ns=x\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
	var fifty strings.Builder
	fifty.WriteString(sdp)
	for i := 0; i < 50; i++ {
		fmt.Fprintf(&fifty, "m=audio %d RTP/AVP 0 8\r\n", 40000+2*i)
	}
	var vias strings.Builder
	for i := 0; i < 100; i++ {
		fmt.Fprintf(&vias, "Via: SIP/2.0/UDP 10.0.%d.%d:5060;branch=z9hG4bK-v%d\r\n", i/250, i%250+1, i)
	}
	// "" in allow means the message may be dropped without an answer.
	cases := []struct {
		name    string
		wire    string
		allow   []string
		call    bool // a 200 is a call to complete
		delayed bool
	}{
		{"malformed start line", "INVITE\r\n\r\n", []string{"", "400"}, false, false},
		{"version first", "SIP/2.0 INVITE sip:600@127.0.0.1\r\nVia: SIP/2.0/UDP LOCAL\r\n\r\n", []string{"", "400"}, false, false},
		{"huge header", hostileInvite("huge", "999", "Subject: "+strings.Repeat("x", 16000)+"\r\n", ""), []string{"", "400", "404", "413", "513"}, false, false},
		{"100 Via headers", hostileOptions("vias", vias.String(), "1"), []string{"", "200", "400", "483"}, false, false},
		{"Content-Length beyond the datagram", strings.Replace(hostileInvite("clen", "600", "", sdp+"m=audio 4000 RTP/AVP 0\r\n"),
			"Content-Length: ", "Content-Length: 9", 1), []string{"", "400"}, false, false},
		{"negative Content-Length", strings.Replace(hostileOptions("nclen", "", "1"), "Content-Length: 0", "Content-Length: -5", 1), []string{"", "400"}, false, false},
		{"invalid UTF-8", strings.Replace(hostileOptions("utf8", "", "1"), "<sip:tester", "\"\xff\xfe\xc3\x28\" <sip:tester", 1), []string{"", "200", "400"}, false, false},
		{"CSeq overflow", hostileOptions("cseq", "", "99999999999999999999"), []string{"", "400"}, false, false},
		{"CSeq 2^32", hostileOptions("cseq32", "", "4294967296"), []string{"", "400"}, false, false},
		{"INVITE without SDP", hostileInvite("nosdp", "600", "", ""), []string{"200", "488"}, true, true},
		{"INVITE with 50 m= lines", hostileInvite("fifty", "600", "", fifty.String()), []string{"200", "400", "488"}, true, false},
		{"unknown method", "FROBNICATE sip:600@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP LOCAL;branch=z9hG4bK-frob\r\nFrom: <sip:t@127.0.0.1>;tag=a\r\n" +
			"To: <sip:600@127.0.0.1>\r\nCall-ID: frob\r\nCSeq: 1 FROBNICATE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n", []string{"", "405", "501"}, false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHostileClient(t, a.target())
			h.send(tc.wire)
			line, res := h.final(2 * time.Second)
			code := ""
			if f := strings.Fields(line); len(f) > 1 {
				code = f[1]
			}
			ok := false
			for _, c := range tc.allow {
				ok = ok || c == code
			}
			if !ok {
				t.Errorf("%s answered %q, want one of %q (\"\" = dropped)", tc.name, line, tc.allow)
			}
			t.Logf("%s: %q", tc.name, line)
			if tc.call && code == "200" {
				h.hangUp(res, tc.delayed)
			}
		})
	}
	t.Run("REGISTER storm", func(t *testing.T) {
		h := newHostileClient(t, a.target())
		const n = 300
		for i := 0; i < n; i++ {
			h.send(fmt.Sprintf("REGISTER sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP LOCAL;branch=z9hG4bK-st%d\r\nFrom: <sip:1001@127.0.0.1>;tag=s%d\r\n"+
				"To: <sip:1001@127.0.0.1>\r\nCall-ID: storm-%d\r\nCSeq: 1 REGISTER\r\nContact: <sip:1001@LOCAL>\r\nExpires: 60\r\n"+
				"Authorization: Digest username=\"1001\", realm=\"obzvon\", nonce=\"forged%d\", uri=\"sip:127.0.0.1\", response=\"00000000000000000000000000000000\"\r\n"+
				"Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n", i, i, i, i))
		}
		codes := map[string]int{}
		for {
			line, _ := h.final(2 * time.Second)
			if line == "" {
				break
			}
			codes[strings.Fields(line)[1]]++
		}
		for c := range codes {
			switch c {
			case "401", "403", "429", "503":
			default:
				t.Errorf("REGISTER storm got %d answers %s, want only refusals (401, 403, 429, 503) or drops", codes[c], c)
			}
		}
		t.Logf("REGISTER storm of %d forged REGISTERs: answers %v, the rest dropped", n, codes)
		if b := a.srv.Registrar().Lookup("1001"); len(b) != 0 {
			t.Errorf("forged REGISTERs bound %+v", b)
		}
	})

	// Still serving: OPTIONS and a normal call.
	h := newHostileClient(t, a.target())
	h.send(hostileOptions("after", "", "1"))
	if line, _ := h.final(3 * time.Second); !strings.Contains(line, " 200 ") {
		t.Errorf("OPTIONS after the hostile messages answered %q, want 200", line)
	}
	caller := peertest.StartSIPp(t, "uac_inbound.xml", a.target(), "-s", "600", "-d", "1000", "-m", "1",
		"-p", strconv.Itoa(peertest.FreePort(t)), "-mp", strconv.Itoa(peertest.FreeMediaPort(t)))
	if code := caller.Wait(20 * time.Second); code != 0 {
		t.Fatalf("call after hostile input: sipp exit %d\n%s", code, caller.Output())
	}
}
