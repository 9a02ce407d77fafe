package dialer

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/obzvon/obzvon/config"
	"github.com/obzvon/obzvon/internal/peertest"
)

// srtpOn turns SRTP on for SIP over TLS.
func srtpOn(c *config.Config) { c.RTP.SRTP = config.SRTPTLS }

// checkSRTPWire asserts that the captured RTP between the appliance and
// the SRTP peer's ports [lo, hi] carries no 1 kHz tone in either
// direction and is SRTP-sized (a 10-byte tag after 20 ms of G.711), while
// the plain leg (from plainPort) carries the tone: the check can see it.
func checkSRTPWire(t *testing.T, pkts []peertest.UDPPacket, lo, hi, plainPort int) {
	t.Helper()
	for _, dir := range []struct {
		name string
		p    []peertest.UDPPacket
	}{
		{"appliance to SRTP peer", peertest.Between(pkts, 0, 65535, lo, hi)},
		{"SRTP peer to appliance", peertest.Between(pkts, lo, hi, 0, 65535)},
	} {
		share, n := peertest.RTPToneShare(dir.p, 1000)
		if n < 100 {
			t.Errorf("%s: %d RTP packets captured, want at least 100", dir.name, n)
			continue
		}
		if share > 0.1 {
			t.Errorf("%s: 1 kHz share %.2f in the captured payloads: audio in clear", dir.name, share)
		}
		sized := 0
		for _, p := range dir.p {
			if len(p.Payload) == 12+160+10 {
				sized++
			}
		}
		if sized < n*9/10 {
			t.Errorf("%s: %d of %d packets are 182 bytes (RTP + 160 + 10-byte SRTP tag)", dir.name, sized, n)
		}
	}
	if share, n := peertest.RTPToneShare(peertest.Between(pkts, plainPort, plainPort, 0, 65535), 1000); n < 100 || share < 0.9 {
		t.Errorf("plain leg: 1 kHz share %.2f over %d packets; want the tone in clear (the wire check must see it there)", share, n)
	}
}

// An operator phone that insists on SRTP (baresip, mediaenc=srtp-mand,
// over TLS) takes a call routed to it with srtp = true: the appliance
// offers RTP/SAVP with SDES keys; the caller (plain RTP) and the phone
// (both sending a 1 kHz tone) hear each other, the recording holds both
// decrypted, and a capture of loopback finds no tone on the phone's
// packets either way while it finds it on the caller's.
func TestSRTPCallToPhoneOverTLS(t *testing.T) {
	pki, tlsOn := withTLS(t)
	a := startApplianceWith(t, []config.Route{{
		Name: "agent", Match: "1XXX", Action: config.ActionDial, Target: "reg:${number}", SRTP: true,
	}}, fakeCreds{"1001": "secret-1001"}, tlsOn, srtpOn)
	phone := peertest.StartBaresip(t, peertest.BaresipOptions{User: "1001", Password: "secret-1001",
		Registrar: a.tlsTarget(), Transport: "tls", CAFile: pki.CA, MediaEnc: "srtp-mand", MicTone: 1000})
	a.waitRegistered(t, "1001", phone.Output)
	capture := peertest.StartCapture(t)
	callerMedia := peertest.FreeMediaPort(t)
	caller := peertest.StartSIPp(t, "uac_inbound.xml", a.target(), "-s", "1001", "-d", "4000", "-m", "1",
		"-p", strconv.Itoa(peertest.FreePort(t)), "-mp", strconv.Itoa(callerMedia))
	if code := caller.Wait(30 * time.Second); code != 0 {
		t.Fatalf("caller exit %d; output:\n%s\n%s\nbaresip:\n%s", code, caller.Output(), caller.Logs(), phone.Output())
	}
	pkts := capture.Stop()
	if out := phone.Output(); !strings.Contains(out, "SRTP is Enabled") {
		t.Errorf("baresip did not report SRTP on the call; its log:\n%s", out)
	}
	rec := a.waitCalls(t, 1)[0]
	if rec.SIPCode != 200 || len(rec.Legs) != 2 || rec.Legs[1].SIPCode != 200 {
		t.Fatalf("record code %d legs %+v, want 200 on both legs", rec.SIPCode, rec.Legs)
	}
	wav := peertest.ReadStereoWAV(t, rec.Recording)
	if share, n := peertest.ToneShare(wav.Left, wav.Rate, 1000); share < 0.9 || n < 150 {
		t.Errorf("recording left (plain caller): 1 kHz share %.2f over %d blocks, want the tone", share, n)
	}
	if share, n := peertest.ToneShare(wav.Right, wav.Rate, 1000); share < 0.9 || n < 150 {
		t.Errorf("recording right (SRTP phone): 1 kHz share %.2f over %d blocks, want its tone, decrypted", share, n)
	}

	checkSRTPWire(t, pkts, phone.RTPPorts[0], phone.RTPPorts[1], callerMedia)
	phone.Stop()
	heard, _ := phone.Recordings()
	if len(heard) != 1 {
		t.Fatalf("baresip recordings of what it heard: %v, want 1", heard)
	}
	x, rate := peertest.ReadMonoWAV(t, heard[0])
	if share, n := peertest.ToneShare(x, rate, 1000); share < 0.9 || n < 150 {
		t.Errorf("baresip heard: 1 kHz share %.2f over %d blocks, want the caller's tone decrypted", share, n)
	}
}

// A phone that calls in with RTP/SAVP (baresip, srtp-mand, over TLS) is
// answered with SRTP under our own key and bridged to a trunk on plain
// RTP: the recording holds the phone's tone, decrypted; the trunk gets it
// in clear; the phone's packets on the wire carry none of it.
func TestSRTPCallFromPhoneToPlainTrunk(t *testing.T) {
	pki, tlsOn := withTLS(t)
	trunkPort, trunkMedia := peertest.FreePort(t), peertest.FreeMediaPort(t)
	a := startApplianceWith(t, []config.Route{{
		Name: "trunk", Match: "88*", Action: config.ActionDial, Target: fmt.Sprintf("sip:${number}@127.0.0.1:%d", trunkPort),
	}}, fakeCreds{"1001": "secret-1001"}, tlsOn, srtpOn)
	phone := peertest.StartBaresip(t, peertest.BaresipOptions{User: "1001", Password: "secret-1001", MicSeconds: 4,
		Registrar: a.tlsTarget(), Transport: "tls", CAFile: pki.CA, MediaEnc: "srtp-mand", MicTone: 1000})
	a.waitRegistered(t, "1001", phone.Output)
	trunk := peertest.StartSIPp(t, "uas_trunk.xml", "-p", strconv.Itoa(trunkPort), "-mp", strconv.Itoa(trunkMedia), "-m", "1")
	capture := peertest.StartCapture(t)
	if out, err := phone.Command("dial", "sip:8800@"+a.tlsTarget()+";transport=tls"); err != nil {
		t.Fatalf("baresip dial: %v %s", err, out)
	}
	// baresip hangs up when its 4 s microphone file ends.
	if code := trunk.Wait(30 * time.Second); code != 0 {
		t.Fatalf("trunk exit %d; output:\n%s\n%s\nbaresip:\n%s", code, trunk.Output(), trunk.Logs(), phone.Output())
	}
	pkts := capture.Stop()
	if out := phone.Output(); !strings.Contains(out, "SRTP is Enabled") {
		t.Errorf("baresip did not report SRTP on the call; its log:\n%s", out)
	}
	rec := a.waitCalls(t, 1)[0]
	if rec.SIPCode != 200 || len(rec.Legs) != 2 {
		t.Fatalf("record code %d legs %+v, want 200 and two legs", rec.SIPCode, rec.Legs)
	}
	wav := peertest.ReadStereoWAV(t, rec.Recording)
	if share, n := peertest.ToneShare(wav.Left, wav.Rate, 1000); share < 0.9 || n < 100 {
		t.Errorf("recording left (SRTP phone): 1 kHz share %.2f over %d blocks, want its tone, decrypted", share, n)
	}
	if _, n := peertest.ToneShare(wav.Right, wav.Rate, 1000); n < 100 {
		t.Errorf("recording right (trunk): %d non-silent blocks, want the trunk's prompt", n)
	}
	// The trunk's leg is plain: the tone the phone sent is in clear there.
	toTrunk := peertest.Between(pkts, 0, 65535, trunkMedia, trunkMedia)
	if share, n := peertest.RTPToneShare(toTrunk, 1000); n < 100 || share < 0.9 {
		t.Errorf("appliance to trunk: 1 kHz share %.2f over %d packets, want the phone's tone in clear", share, n)
	}
	share, n := peertest.RTPToneShare(peertest.Between(pkts, phone.RTPPorts[0], phone.RTPPorts[1], 0, 65535), 1000)
	if n < 100 || share > 0.1 {
		t.Errorf("phone to appliance: 1 kHz share %.2f over %d packets, want ciphertext (share near 0)", share, n)
	}
}

// An RTP/SAVP offer is refused with 488 when SRTP is off, and when it
// comes over plain SIP with rtp.srtp = tls; never answered with plain RTP.
// A best-effort offer (RTP/AVP with crypto lines) gets plain RTP then.
func TestSRTPOfferRefusedWhenNotAllowed(t *testing.T) {
	const crypto = "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz\n"
	savp := "v=0\no=x 1 1 IN IP4 127.0.0.1\ns=x\nc=IN IP4 127.0.0.1\nt=0 0\nm=audio 4000 RTP/SAVP 0\na=rtpmap:0 PCMU/8000\n" + crypto
	avpCrypto := strings.Replace(savp, "RTP/SAVP", "RTP/AVP", 1)
	for _, tt := range []struct {
		mode string
		body string
		want string
		id   string
	}{
		{config.SRTPOff, savp, "488 Not Acceptable Here (SRTP not enabled)", "savp-off"},
		{config.SRTPTLS, savp, "488 Not Acceptable Here (SRTP keys need SIP over TLS)", "savp-udp"},
		{config.SRTPOff, avpCrypto, "200 OK", "osrtp-off"},
	} {
		t.Run(tt.id, func(t *testing.T) {
			a := startAppliance(t, []config.Route{{Name: "echo", Match: "600", Action: config.ActionEcho}},
				securityRTP, func(c *config.Config) { c.RTP.SRTP = tt.mode })
			res := rawSIPResponse(t, a.target(), inviteWithBody(tt.id, tt.body))
			got, body, _ := strings.Cut(res, "\r\n")
			if !strings.Contains(got, tt.want) {
				t.Fatalf("INVITE (%s, rtp.srtp = %s) answered %q, want %q", tt.id, tt.mode, got, tt.want)
			}
			if strings.HasPrefix(tt.want, "200") && (strings.Contains(body, "a=crypto") || !strings.Contains(body, "RTP/AVP")) {
				t.Errorf("answer to a best-effort offer with SRTP off:\n%s\nwant plain RTP/AVP without crypto", body)
			}
		})
	}
}

// rawSIPResponse sends one datagram and returns the first response other
// than 100, whole; "" when none came. A final error is acknowledged.
func rawSIPResponse(t *testing.T, target, msg string) string {
	t.Helper()
	c, err := net.Dial("udp", target)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	local := c.LocalAddr().(*net.UDPAddr).String()
	head, body, _ := strings.Cut(msg, "\n\n")
	head = strings.ReplaceAll(head, "LOCAL", local)
	head = strings.Replace(head, "Content-Length: LEN", "Content-Length: "+strconv.Itoa(len(body)), 1)
	if _, err := c.Write([]byte(strings.ReplaceAll(head, "\n", "\r\n") + "\r\n\r\n" + body)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 8192)
	for {
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := c.Read(buf)
		if err != nil {
			return ""
		}
		res := string(buf[:n])
		line, _, _ := strings.Cut(res, "\r\n")
		if strings.Contains(line, " 100 ") || strings.Contains(line, " 180 ") {
			continue
		}
		if f := strings.Fields(line); len(f) > 1 && f[1] >= "300" {
			_, _ = c.Write([]byte(ackFor(head, res)))
		} else if len(f) > 1 && f[1] == "200" && strings.HasPrefix(head, "INVITE") {
			// ACK the 2xx and hang up at once (RFC 3261 §13.2.2.4, §15).
			for _, m := range []string{"ACK", "BYE"} {
				_, _ = c.Write([]byte(inDialog(m, head, res)))
			}
			_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
			_, _ = c.Read(make([]byte, 4096)) // the BYE's 200
		}
		return res
	}
}

// inDialog builds an ACK (CSeq 1) or BYE (CSeq 2) in the dialog that the
// 2xx res to the INVITE whose header block is invite set up.
func inDialog(method, invite, res string) string {
	header := func(block, name string) string {
		for _, l := range strings.Split(strings.ReplaceAll(block, "\r\n", "\n"), "\n") {
			if strings.HasPrefix(l, name+":") {
				return l
			}
		}
		return ""
	}
	target := strings.TrimSpace(strings.TrimPrefix(header(res, "Contact"), "Contact:"))
	target = strings.Trim(strings.SplitN(target, ";", 2)[0], "<>")
	if i := strings.IndexByte(target, '>'); i >= 0 {
		target = target[:i]
	}
	via := header(invite, "Via")
	via = via[:strings.Index(via, "branch=")] + "branch=z9hG4bK-" + strings.ToLower(method) + strconv.FormatInt(time.Now().UnixNano(), 36)
	cseq := "CSeq: 1 ACK"
	if method == "BYE" {
		cseq = "CSeq: 2 BYE"
	}
	return strings.Join([]string{
		method + " " + target + " SIP/2.0",
		via, header(invite, "From"), header(res, "To"), header(invite, "Call-ID"),
		cseq, "Max-Forwards: 70", "Content-Length: 0", "", "",
	}, "\r\n")
}

// rtpHalf gives an appliance one half of the test's RTP range, so that two
// appliances of one test do not compete for ports.
func rtpHalf(i int) func(*config.Config) {
	return func(c *config.Config) {
		securityRTP(c)
		c.RTP.PortMin += 20 * i
		c.RTP.PortMax = c.RTP.PortMin + 19
	}
}

// Our own dialer as the SRTP peer: appliance A dials a route with
// srtp = true over TLS to appliance B (its certificate checked against
// sip.tls_ca_file), whose echo route answers with SRTP. The caller's tone
// goes to B and back encrypted both ways: A's recording holds it on both
// channels, and the capture finds it only on the caller's plain leg.
func TestSRTPBetweenTwoAppliancesOverTLS(t *testing.T) {
	_, tlsB := withTLS(t)
	b := startApplianceWith(t, []config.Route{{Name: "echo", Match: "88*", Action: config.ActionEcho}}, nil,
		tlsB, srtpOn, rtpHalf(1))
	_, tlsA := withTLS(t)
	a := startApplianceWith(t, []config.Route{{
		Name: "peer", Match: "88*", Action: config.ActionDial, Allow: []string{config.AllowAnyone}, SRTP: true,
		Target: "sip:${number}@" + b.tlsTarget() + ";transport=tls",
	}}, nil, tlsA, srtpOn, rtpHalf(0), func(c *config.Config) {
		// A trusts B's CA (B's certificate is from its own test PKI).
		c.SIP.TLSCAFile = b.cfg.SIP.TLSCAFile
	})
	capture := peertest.StartCapture(t)
	callerMedia := peertest.FreeMediaPort(t)
	caller := peertest.StartSIPp(t, "uac_inbound.xml", a.target(), "-s", "8800", "-d", "3000", "-m", "1",
		"-p", strconv.Itoa(peertest.FreePort(t)), "-mp", strconv.Itoa(callerMedia))
	if code := caller.Wait(30 * time.Second); code != 0 {
		t.Fatalf("caller exit %d; output:\n%s\n%s", code, caller.Output(), caller.Logs())
	}
	pkts := capture.Stop()
	rec := a.waitCalls(t, 1)[0]
	if rec.SIPCode != 200 || len(rec.Legs) != 2 || rec.Legs[1].SIPCode != 200 {
		t.Fatalf("A's record code %d legs %+v, want 200 on both legs", rec.SIPCode, rec.Legs)
	}
	wav := peertest.ReadStereoWAV(t, rec.Recording)
	for name, ch := range map[string][]float64{"left (caller)": wav.Left, "right (B's echo, decrypted)": wav.Right} {
		if share, n := peertest.ToneShare(ch, wav.Rate, 1000); share < 0.9 || n < 100 {
			t.Errorf("A's recording %s: 1 kHz share %.2f over %d blocks, want the tone", name, share, n)
		}
	}
	// The RTP between A and B: both ends are in the test's RTP range.
	lo, hi := a.cfg.RTP.PortMin, b.cfg.RTP.PortMax
	between := peertest.Between(pkts, lo, hi, lo, hi)
	if share, n := peertest.RTPToneShare(between, 1000); n < 200 || share > 0.1 {
		t.Errorf("A<->B: 1 kHz share %.2f over %d packets, want ciphertext both ways (share near 0)", share, n)
	}
	if share, n := peertest.RTPToneShare(peertest.Between(pkts, callerMedia, callerMedia, 0, 65535), 1000); n < 100 || share < 0.9 {
		t.Errorf("caller's plain leg: 1 kHz share %.2f over %d packets, want the tone in clear", share, n)
	}
	if st := b.waitCalls(t, 1)[0]; st.SIPCode != 200 || st.Legs[0].PacketsIn < 100 {
		t.Errorf("B's record: code %d legs %+v, want 200 with RTP in", st.SIPCode, st.Legs)
	}
}

// A TLS trunk whose certificate does not chain to sip.tls_ca_file is not
// called: the handshake fails, the caller gets an error, the trunk never
// sees an INVITE.
func TestTLSTrunkCertificateIsChecked(t *testing.T) {
	_, tlsB := withTLS(t)
	b := startApplianceWith(t, []config.Route{{Name: "echo", Match: "88*", Action: config.ActionEcho}}, nil, tlsB, rtpHalf(1))
	_, tlsA := withTLS(t) // A trusts only its own test CA
	a := startApplianceWith(t, []config.Route{{
		Name: "peer", Match: "88*", Action: config.ActionDial, Allow: []string{config.AllowAnyone},
		Target: "sip:${number}@" + b.tlsTarget() + ";transport=tls",
	}}, nil, tlsA, rtpHalf(0))
	got := rawSIP(t, a.target(), strings.ReplaceAll(inviteWithBody("tls-untrusted-1", "v=0\no=x 1 1 IN IP4 127.0.0.1\ns=x\nc=IN IP4 127.0.0.1\nt=0 0\nm=audio 4000 RTP/AVP 0\na=rtpmap:0 PCMU/8000\n"), "600@", "8800@"))
	if f := strings.Fields(got); len(f) < 2 || f[1] < "400" {
		t.Fatalf("call through an untrusted TLS trunk answered %q, want a failure", got)
	}
	rec := a.waitCalls(t, 1)[0]
	if len(rec.Legs) == 0 || rec.Legs[len(rec.Legs)-1].SIPCode != 500 {
		t.Errorf("A's record legs %+v, want the trunk leg failed locally (500: no TLS connection)", rec.Legs)
	}
	if calls, err := b.journal.Calls(context.Background(), time.Now().Add(-time.Hour), time.Now().Add(time.Hour)); err != nil || len(calls) != 0 {
		t.Errorf("B saw %d calls (%v), want none", len(calls), err)
	}
}

// waitSDPVersion waits until our SDP session of the answered leg to
// target has reached version v (each answer to a re-INVITE adds one).
func (a *testAppliance) waitSDPVersion(t *testing.T, target string, v uint64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		a.srv.mu.Lock()
		var got uint64
		for _, l := range a.srv.legs {
			if l.target == target {
				l.mu.Lock()
				got = l.sess.version
				l.mu.Unlock()
			}
		}
		a.srv.mu.Unlock()
		if got >= v {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("the leg to %s never reached SDP version %d (re-INVITE not answered)", target, v)
}

// The SRTP phone puts the call on hold and resumes it: two re-INVITEs
// with new crypto lines, each answered with SRTP kept (our key, the
// phone's new one). The phone decrypts what we send after each (no
// decryption error in its log) and the recording holds its tone to the
// end, decrypted under its latest key.
func TestSRTPHoldAndResume(t *testing.T) {
	pki, tlsOn := withTLS(t)
	a := startApplianceWith(t, []config.Route{{
		Name: "agent", Match: "1XXX", Action: config.ActionDial, Target: "reg:${number}", SRTP: true,
	}}, fakeCreds{"1001": "secret-1001"}, tlsOn, srtpOn)
	phone := peertest.StartBaresip(t, peertest.BaresipOptions{User: "1001", Password: "secret-1001",
		Registrar: a.tlsTarget(), Transport: "tls", CAFile: pki.CA, MediaEnc: "srtp-mand", MicTone: 1000})
	a.waitRegistered(t, "1001", phone.Output)
	caller := peertest.StartSIPp(t, "uac_inbound.xml", a.target(), "-s", "1001", "-d", "5000", "-m", "1",
		"-p", strconv.Itoa(peertest.FreePort(t)), "-mp", strconv.Itoa(peertest.FreeMediaPort(t)))
	a.legTransport(t, "reg:1001")
	for i, cmd := range []string{"hold", "resume"} {
		if out, err := phone.Command(cmd, ""); err != nil || !strings.Contains(out, `"ok":true`) {
			t.Fatalf("baresip %s: %q %v", cmd, out, err)
		}
		a.waitSDPVersion(t, "reg:1001", uint64(i+2))
	}
	if code := caller.Wait(30 * time.Second); code != 0 {
		t.Fatalf("caller exit %d; output:\n%s\n%s\nbaresip:\n%s", code, caller.Output(), caller.Logs(), phone.Output())
	}
	out := phone.Output()
	if strings.Count(out, "SRTP is Enabled") != 3 || strings.Contains(out, "failed to decrypt") || !strings.Contains(out, "call: resume") {
		t.Errorf("baresip: want SRTP enabled on the call and after each re-INVITE, no decryption error; its log:\n%s", out)
	}
	rec := a.waitCalls(t, 1)[0]
	if rec.SIPCode != 200 || len(rec.Legs) != 2 || rec.Legs[1].SIPCode != 200 {
		t.Fatalf("record code %d legs %+v, want 200 on both legs", rec.SIPCode, rec.Legs)
	}
	wav := peertest.ReadStereoWAV(t, rec.Recording)
	tail := wav.Right[len(wav.Right)-wav.Rate*3/2 : len(wav.Right)-wav.Rate/5]
	if share, n := peertest.ToneShare(tail, wav.Rate, 1000); share < 0.9 || n < 50 {
		t.Errorf("recording right, last second (after resume): 1 kHz share %.2f over %d blocks, want the phone's tone", share, n)
	}
}
