package dialer

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/obzvon/obzvon/acd"
	"github.com/obzvon/obzvon/config"
	"github.com/obzvon/obzvon/internal/peertest"
)

// securityRTP gives a test's appliance RTP ports in the security tests'
// band (36000-37999), apart from other packages' tests.
func securityRTP(c *config.Config) {
	base := 36000 + (os.Getpid()%49)*40
	c.RTP.PortMin, c.RTP.PortMax = base, base+39
}

// withTLS turns SIP over TLS on, with a fresh test PKI.
func withTLS(t *testing.T) (peertest.TLSFiles, func(*config.Config)) {
	t.Helper()
	pki := peertest.MakeTLSFiles(t, t.TempDir(), peertest.TLSOptions{})
	port := peertest.FreePort(t)
	return pki, func(c *config.Config) {
		c.SIP.Transports = []string{"udp", "tls"}
		c.SIP.TLSPort = port
		c.SIP.TLSCertFile, c.SIP.TLSKeyFile = pki.Cert, pki.Key
		c.SIP.TLSCAFile = pki.CA
		securityRTP(c)
	}
}

func (a *testAppliance) tlsTarget() string { return "127.0.0.1:" + strconv.Itoa(a.cfg.SIP.TLSPort) }

// waitRegistered waits for user's binding and returns it.
func (a *testAppliance) waitRegistered(t *testing.T, user string, log func() string) Binding {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		if b := a.srv.Registrar().Lookup(user); len(b) > 0 {
			return b[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never registered; peer log:\n%s", user, log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// watchOutboundTransport polls the server's outbound legs until one is
// answered and returns the transport its 200 OK came over.
func (a *testAppliance) watchOutboundTransport(t *testing.T) <-chan string {
	ch := make(chan string, 1)
	go func() {
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			a.srv.mu.Lock()
			for _, l := range a.srv.legs {
				if res := l.d.InviteResponse; res != nil {
					tr := res.Transport()
					a.srv.mu.Unlock()
					ch <- tr
					return
				}
			}
			a.srv.mu.Unlock()
			time.Sleep(20 * time.Millisecond)
		}
		ch <- ""
	}()
	return ch
}

// A real softphone (baresip) registers over TLS; a call routed to it goes
// back over TLS (the registrar keeps the binding's transport) and carries
// audio both ways. (baresip 1.0 does not verify the server's certificate
// even with sip_cafile; the handshake tests below check ours.)
func TestTLSPhoneRegistersAndTakesCall(t *testing.T) {
	pki, tlsOn := withTLS(t)
	a := startApplianceWith(t, []config.Route{{
		Name: "agent", Match: "1XXX", Action: config.ActionDial, Target: "reg:${number}",
	}}, fakeCreds{"1001": "secret-1001"}, tlsOn)
	phone := peertest.StartBaresip(t, peertest.BaresipOptions{User: "1001", Password: "secret-1001",
		Registrar: a.tlsTarget(), Transport: "tls", CAFile: pki.CA})
	b := a.waitRegistered(t, "1001", phone.Output)
	if b.Transport != "TLS" {
		t.Fatalf("binding transport %q (contact %s, source %s), want TLS", b.Transport, b.Contact, b.Source)
	}
	answered := a.watchOutboundTransport(t)
	caller := peertest.StartSIPp(t, "uac_inbound.xml", a.target(), "-s", "1001", "-d", "4000", "-m", "1",
		"-p", strconv.Itoa(peertest.FreePort(t)), "-mp", strconv.Itoa(peertest.FreeMediaPort(t)))
	if code := caller.Wait(30 * time.Second); code != 0 {
		t.Fatalf("caller exit %d; output:\n%s\n%s\nbaresip:\n%s", code, caller.Output(), caller.Logs(), phone.Output())
	}
	if tr := <-answered; tr != "TLS" {
		t.Errorf("the call to the TLS phone was answered over %q, want TLS", tr)
	}
	rec := a.waitCalls(t, 1)[0]
	if rec.SIPCode != 200 || len(rec.Legs) != 2 || rec.Legs[1].SIPCode != 200 {
		t.Fatalf("record code %d legs %+v, want 200 on both legs", rec.SIPCode, rec.Legs)
	}
	wav := peertest.ReadStereoWAV(t, rec.Recording)
	if share, n := peertest.ToneShare(wav.Left, wav.Rate, 1000); share < 0.9 || n < 150 {
		t.Errorf("left (caller): 1 kHz share %.2f over %d blocks, want the tone", share, n)
	}
	if share, n := peertest.ToneShare(wav.Right, wav.Rate, 1000); share > 0.3 || n < 100 {
		t.Errorf("right (softphone microphone): 1 kHz share %.2f over %d blocks, want speech", share, n)
	}
	phone.Stop()
	heard, _ := phone.Recordings()
	if len(heard) != 1 {
		t.Fatalf("baresip recordings of what it heard: %v, want 1", heard)
	}
	x, rate := peertest.ReadMonoWAV(t, heard[0])
	if share, n := peertest.ToneShare(x, rate, 1000); share < 0.9 || n < 150 {
		t.Errorf("baresip heard: 1 kHz share %.2f over %d blocks, want the caller's tone", share, n)
	}
}

// The TLS listener: a handshake with the CA verifies the certificate
// (for 127.0.0.1), plain TCP to it gets no SIP answer, and a client that
// does not trust the CA fails the handshake.
func TestTLSListenerHandshake(t *testing.T) {
	pki, tlsOn := withTLS(t)
	a := startApplianceWith(t, []config.Route{{Name: "echo", Match: "600", Action: config.ActionEcho}}, nil, tlsOn)
	conn, err := tls.Dial("tcp", a.tlsTarget(), &tls.Config{RootCAs: pki.Pool, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatalf("TLS handshake with the test CA: %v", err)
	}
	st := conn.ConnectionState()
	if st.Version < tls.VersionTLS12 || len(st.PeerCertificates) == 0 || st.PeerCertificates[0].Subject.CommonName != "obzvon test" {
		t.Errorf("TLS state: version %x, peer certs %d; want >= TLS 1.2 and our certificate", st.Version, len(st.PeerCertificates))
	}
	// An OPTIONS over the TLS connection is answered.
	fmt.Fprintf(conn, "OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TLS %s;branch=z9hG4bK-tls1\r\nFrom: <sip:t@127.0.0.1>;tag=1\r\n"+
		"To: <sip:127.0.0.1>\r\nCall-ID: tls-options-1\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n", conn.LocalAddr())
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 4096)
	n, err := conn.Read(buf)
	if err != nil || !strings.HasPrefix(string(buf[:n]), "SIP/2.0 200") {
		t.Errorf("OPTIONS over TLS answered %q, %v; want 200", buf[:n], err)
	}
	conn.Close()
	if _, err := tls.Dial("tcp", a.tlsTarget(), &tls.Config{ServerName: "127.0.0.1"}); err == nil {
		t.Errorf("handshake without the CA succeeded; want a verification error")
	}
}

// optionsOverTLS sends an OPTIONS on a TLS connection made with cc and
// returns the status line of the answer, or the error that ended it.
func optionsOverTLS(t *testing.T, addr string, cc *tls.Config) (string, error) {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, cc)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	fmt.Fprintf(conn, "OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TLS %s;branch=z9hG4bK-%d\r\nFrom: <sip:t@127.0.0.1>;tag=1\r\n"+
		"To: <sip:127.0.0.1>\r\nCall-ID: tls-options-%d\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
		conn.LocalAddr(), time.Now().UnixNano(), time.Now().UnixNano())
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 4096)
	n, err := conn.Read(buf)
	if err != nil {
		return "", err
	}
	line, _, _ := strings.Cut(string(buf[:n]), "\r\n")
	return line, nil
}

// Client certificates for trunks: with tls_verify_client = required a
// peer without a certificate, or with one from another CA, cannot talk
// SIP; with one signed by tls_client_ca_file it can. With optional, a
// peer without a certificate is served, one with a bad certificate not.
func TestTLSClientCertificate(t *testing.T) {
	for _, mode := range []string{config.VerifyClientRequired, config.VerifyClientOptional} {
		t.Run(mode, func(t *testing.T) {
			pki, tlsOn := withTLS(t)
			a := startApplianceWith(t, []config.Route{{Name: "echo", Match: "600", Action: config.ActionEcho}}, nil, tlsOn,
				func(c *config.Config) { c.SIP.TLSVerifyClient, c.SIP.TLSClientCAFile = mode, pki.CA })
			good, err := tls.LoadX509KeyPair(pki.ClientCert, pki.ClientKey)
			if err != nil {
				t.Fatal(err)
			}
			other := peertest.MakeTLSFiles(t, t.TempDir(), peertest.TLSOptions{})
			bad, err := tls.LoadX509KeyPair(other.ClientCert, other.ClientKey)
			if err != nil {
				t.Fatal(err)
			}
			base := &tls.Config{RootCAs: pki.Pool, ServerName: "127.0.0.1"}
			with := func(c tls.Certificate) *tls.Config {
				cc := base.Clone()
				cc.Certificates = []tls.Certificate{c}
				return cc
			}
			if line, err := optionsOverTLS(t, a.tlsTarget(), with(good)); err != nil || !strings.Contains(line, " 200 ") {
				t.Errorf("with a certificate from the client CA: %q, %v; want 200", line, err)
			}
			if line, err := optionsOverTLS(t, a.tlsTarget(), with(bad)); err == nil {
				t.Errorf("with a certificate from another CA: answered %q; want the handshake refused", line)
			}
			line, err := optionsOverTLS(t, a.tlsTarget(), base)
			if mode == config.VerifyClientRequired && err == nil {
				t.Errorf("without a certificate (required): answered %q; want the handshake refused", line)
			}
			if mode == config.VerifyClientOptional && (err != nil || !strings.Contains(line, " 200 ")) {
				t.Errorf("without a certificate (optional): %q, %v; want 200", line, err)
			}
		})
	}
}

// openssl s_client, an independent TLS stack, verifies the listener's
// certificate chain against the test CA, and fails against another CA.
func TestTLSHandshakeWithOpenSSL(t *testing.T) {
	bin := peertest.RequirePeer(t, "openssl")
	pki, tlsOn := withTLS(t)
	a := startApplianceWith(t, []config.Route{{Name: "echo", Match: "600", Action: config.ActionEcho}}, nil, tlsOn)
	run := func(ca string) (string, error) {
		cmd := exec.Command(bin, "s_client", "-connect", a.tlsTarget(), "-CAfile", ca, "-verify_return_error",
			"-verify_ip", "127.0.0.1", "-brief")
		cmd.Stdin = strings.NewReader("")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := run(pki.CA)
	if err != nil || !strings.Contains(out, "Verification: OK") || !strings.Contains(out, "Protocol version: TLSv1.3") {
		t.Errorf("openssl s_client with the test CA: %v\n%s\nwant Verification: OK over TLSv1.3", err, out)
	}
	other := peertest.MakeTLSFiles(t, t.TempDir(), peertest.TLSOptions{})
	if out, err := run(other.CA); err == nil || !strings.Contains(out, "verify error") {
		t.Errorf("openssl s_client with another CA: %v\n%s\nwant a verify error", err, out)
	}
}

// A sips: Request-URI means TLS on every hop (RFC 5630): over UDP it is
// refused with 416; over TLS the call is answered with a sips: Contact
// (RFC 3261 §12.1.1), so the caller's in-dialog requests come back over
// TLS too.
func TestSIPSRequestURI(t *testing.T) {
	pki, tlsOn := withTLS(t)
	a := startApplianceWith(t, []config.Route{{Name: "echo", Match: "600", Action: config.ActionEcho}}, nil, tlsOn)
	sdp := "v=0\no=x 1 1 IN IP4 127.0.0.1\ns=x\nc=IN IP4 127.0.0.1\nt=0 0\nm=audio 4000 RTP/AVP 0\na=rtpmap:0 PCMU/8000\n"
	sipsInvite := strings.Replace(inviteWithBody("sips-udp-1", sdp), "INVITE sip:600@", "INVITE sips:600@", 1)
	if got := rawSIP(t, a.target(), sipsInvite); !strings.Contains(got, " 416 ") {
		t.Errorf("sips: INVITE over UDP answered %q, want 416", got)
	}

	conn, err := tls.Dial("tcp", a.tlsTarget(), &tls.Config{RootCAs: pki.Pool, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	local := conn.LocalAddr().String()
	invite := strings.NewReplacer("SIP/2.0/UDP", "SIP/2.0/TLS", "LOCAL", local, "<sip:tester@"+local+">", "<sips:tester@"+local+">").
		Replace(strings.Replace(inviteWithBody("sips-tls-1", sdp), "INVITE sip:600@", "INVITE sips:600@", 1))
	head, body, _ := strings.Cut(invite, "\n\n")
	head = strings.Replace(head, "Content-Length: LEN", "Content-Length: "+strconv.Itoa(len(body)), 1)
	wire := strings.ReplaceAll(head, "\n", "\r\n") + "\r\n\r\n" + body
	if _, err := conn.Write([]byte(wire)); err != nil {
		t.Fatal(err)
	}
	var res string
	buf := make([]byte, 8192)
	for {
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("no final answer to the sips: INVITE over TLS: %v", err)
		}
		res = string(buf[:n])
		if !strings.Contains(res[:strings.Index(res, "\r\n")], " 100 ") {
			break
		}
	}
	if !strings.HasPrefix(res, "SIP/2.0 200") {
		t.Fatalf("sips: INVITE over TLS answered:\n%s\nwant 200", res)
	}
	contact := ""
	for _, l := range strings.Split(res, "\r\n") {
		if strings.HasPrefix(l, "Contact:") {
			contact = l
		}
	}
	if !strings.Contains(contact, "<sips:") || strings.Contains(contact, "transport=") {
		t.Errorf("Contact of the 200 to a sips: INVITE = %q, want a sips: URI without transport", contact)
	}
	for _, m := range []string{"ACK", "BYE"} {
		conn.Write([]byte(strings.Replace(inDialog(m, head, res), "SIP/2.0/UDP", "SIP/2.0/TLS", 1)))
	}
}

// legTransport waits until the server has an answered outbound leg to
// target and returns the transport its 200 OK came over.
func (a *testAppliance) legTransport(t *testing.T, target string) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		a.srv.mu.Lock()
		for _, l := range a.srv.legs {
			if l.target == target && l.d.InviteResponse != nil {
				tr := l.d.InviteResponse.Transport()
				a.srv.mu.Unlock()
				return tr
			}
		}
		a.srv.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no answered leg to %s", target)
	return ""
}

// Operators whose phones register over TLS: the session leg ("start
// work") and a ring-mode call go to their phones over TLS, and queue
// callers reach them.
func TestACDPhonesOverTLS(t *testing.T) {
	pki, tlsOn := withTLS(t)
	operators := ops(2, "main")
	e := startACD(t, operators, tlsOn)
	for _, o := range operators {
		peertest.StartBaresip(t, peertest.BaresipOptions{User: o.ext, Password: o.secret, Registrar: e.tlsTarget(),
			Transport: "tls", CAFile: pki.CA, MicSeconds: 60})
	}
	for _, o := range operators {
		e.waitFor(t, 20*time.Second, o.login+" registered over TLS", func() bool {
			b := e.srv.Registrar().Lookup(o.ext)
			return len(b) > 0 && b[0].Transport == "TLS"
		})
	}
	if err := e.desk.StartWork(context.Background(), "op1", acd.DeliverySession); err != nil {
		t.Fatal(err)
	}
	e.waitFor(t, 20*time.Second, "op1 ready", func() bool { return e.state("op1") == acd.StateReady })
	if tr := e.legTransport(t, "reg:op1"); tr != "TLS" {
		t.Errorf("op1's session leg answered over %q, want TLS", tr)
	}
	phoneSrv, phoneEngine := newPhoneServer(t)
	first := e.call(t, phoneSrv, phoneEngine, "8800", "79003330001", 700)
	e.waitFor(t, 10*time.Second, "connected to op1", func() bool { return len(e.eventsOf(acd.EventConnect)) == 1 })
	first.hangup()

	// op1 pauses; op2 works in ring mode: the next caller rings op2's
	// phone over TLS.
	e.waitFor(t, 10*time.Second, "op1 out of the call", func() bool { return e.state("op1") != acd.StateTalking })
	if err := e.desk.Pause("op1", e.desk.PauseReasons()[0]); err != nil {
		t.Fatal(err)
	}
	if err := e.desk.StartWork(context.Background(), "op2", acd.DeliveryRing); err != nil {
		t.Fatal(err)
	}
	second := e.call(t, phoneSrv, phoneEngine, "8800", "79003330002", 700)
	e.waitFor(t, 10*time.Second, "connected to op2", func() bool { return len(e.eventsOf(acd.EventConnect)) == 2 })
	if tr := e.legTransport(t, "reg:op2"); tr != "TLS" {
		t.Errorf("op2's ring-mode call answered over %q, want TLS", tr)
	}
	second.hangup()
	calls := e.waitCalls(t, 2)
	got := map[string]bool{}
	for _, c := range calls {
		for _, ag := range c.Agents {
			got[ag.Login] = true
		}
	}
	if !got["op1"] || !got["op2"] {
		t.Errorf("calls reached %v, want op1 (session) and op2 (ring)", got)
	}
}

// SIP over TLS goes through the TCP caps and timeouts: a connection that
// never starts its handshake is closed after the message timeout, one
// idle after its request after the idle timeout, and connections beyond
// the per-address cap are refused, while TLS within them works.
func TestTLSConnectionLimits(t *testing.T) {
	pki, tlsOn := withTLS(t)
	a := startApplianceWith(t, []config.Route{{Name: "echo", Match: "600", Action: config.ActionEcho}}, nil, tlsOn, func(c *config.Config) {
		c.SIP.TCPIdleTimeout = config.Duration{Duration: 2 * time.Second}
		c.SIP.TCPMessageTimeout = config.Duration{Duration: time.Second}
		c.SIP.TCPMaxPerSource = 2
	})
	cc := &tls.Config{RootCAs: pki.Pool, ServerName: "127.0.0.1"}
	if !closedByServer(dialFrom(t, "127.0.0.2", a.tlsTarget())) {
		t.Error("a TCP connection to the TLS port that never sent a ClientHello was not closed")
	}
	raw := dialFrom(t, "127.0.0.3", a.tlsTarget())
	used := tls.Client(raw, cc)
	if !ping(t, used) {
		t.Fatal("OPTIONS over TLS through the limits: no 200")
	}
	if !closedByServer(used) {
		t.Error("a TLS connection idle after its request was not closed")
	}
	c1, c2 := tls.Client(dialFrom(t, "127.0.0.4", a.tlsTarget()), cc), tls.Client(dialFrom(t, "127.0.0.4", a.tlsTarget()), cc)
	if !ping(t, c1) || !ping(t, c2) {
		t.Fatal("two TLS connections within the per-address cap: no answer")
	}
	// The refusal is a reset right after accept: it may reach the client
	// before its connect returns, which is a refusal too.
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.4")}}
	if raw, err := d.Dial("tcp", a.tlsTarget()); err == nil {
		defer raw.Close()
		third := tls.Client(raw, cc)
		if err := third.Handshake(); err == nil && ping(t, third) {
			t.Error("a third TLS connection from one address (cap 2) was served")
		}
	}
}
