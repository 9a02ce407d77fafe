//go:build security

package securitytest

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// svcrack with a dictionary holding the secret at position 150: the
// daemon locks the source out long before, so the secret is not found
// and at most the configured 10 guesses are checked.
func TestSecuritySvcrack(t *testing.T) {
	svcrack := needTool(t, "svcrack")
	d := startDaemon(t, "", 0)
	dict := filepath.Join(t.TempDir(), "dict.txt")
	var words []string
	for i := range 400 {
		if i == secretAt {
			words = append(words, testSecret)
		}
		words = append(words, fmt.Sprintf("Guess-%04d-x", i))
	}
	if err := os.WriteFile(dict, []byte(strings.Join(words, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	t0 := time.Now()
	out, _ := exec.CommandContext(ctx, svcrack, "-u", testUser, "-d", dict, "-p", strconv.Itoa(d.sipPort), "--maximumtime=10", "127.0.0.1").CombinedOutput()
	el := time.Since(t0)
	checked := d.metric(`obzvon_sip_auth_failures_total{reason="wrong_response"}`)
	locked := d.metric(`obzvon_sip_auth_failures_total{reason="locked_source"}`)
	lockouts := strings.Count(d.logs.String(), `msg="sip auth lockout"`)
	found := strings.Contains(string(out), testSecret)
	t.Logf("FIGURE svcrack: %d-word dictionary (secret at %d): found=%v in %v; guesses checked %v, refused unchecked %v, lockout log lines %d",
		len(words), secretAt+1, found, el.Round(time.Millisecond), checked, locked, lockouts)
	if found {
		t.Errorf("svcrack found the secret:\n%s", out)
	}
	if checked > 10 || lockouts == 0 {
		t.Errorf("%v guesses checked and %d lockouts, want at most 10 and a lockout", checked, lockouts)
	}
}

// svwar over a list of names with one real account cannot tell it from
// the others.
func TestSecuritySvwar(t *testing.T) {
	svwar := needTool(t, "svwar")
	d := startDaemon(t, "", 0)
	dict := filepath.Join(t.TempDir(), "names.txt")
	names := []string{"admin", "ivanova", testUser, "petrov", "1000", "1005", "operator", "test"}
	if err := os.WriteFile(dict, []byte(strings.Join(names, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, method := range []string{"REGISTER", "INVITE", "OPTIONS"} {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		out, _ := exec.CommandContext(ctx, svwar, "-d", dict, "-m", method, "-p", strconv.Itoa(d.sipPort), "127.0.0.1").CombinedOutput()
		cancel()
		// svwar prints a table of extensions it believes exist; if it
		// tells the real one apart, it lists it and not the others.
		lists := func(n string) bool { return strings.Contains(string(out), "| "+n+" ") }
		var listed []string
		for _, n := range names {
			if lists(n) {
				listed = append(listed, n)
			}
		}
		t.Logf("FIGURE svwar -m %s: listed %d of %d names %v", method, len(listed), len(names), listed)
		if lists(testUser) && len(listed) < len(names) {
			t.Errorf("svwar -m %s tells the real account apart: %v\n%s", method, listed, out)
		}
	}
}

// Thousands of idle SIP/TCP connections from many addresses: HTTP,
// /healthz and the admin socket keep working, the daemon keeps
// descriptors free.
func TestSecurityTCPFlood(t *testing.T) {
	const nofile = 4096
	d := startDaemon(t, "", nofile)
	stop := make(chan struct{})
	probe := d.healthProbe(stop)
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	// 500 from one address, then 4,500 from as many addresses.
	opened, refusedAtOnce := 0, 0
	deadline := time.Now().Add(90 * time.Second)
	for i := 0; i < 5000 && time.Now().Before(deadline); i++ {
		src := net.IPv4(127, 0, 0, 1)
		if i >= 500 {
			src = net.IPv4(127, 0, 1+byte(i/250), 1+byte(i%250))
		}
		dl := net.Dialer{LocalAddr: &net.TCPAddr{IP: src}, Timeout: 2 * time.Second}
		c, err := dl.Dial("tcp", d.sipTarget())
		if err != nil {
			continue
		}
		opened++
		conns = append(conns, c)
	}
	refusedAtOnce = int(d.metric(`obzvon_rate_limited_total{kind="tcp_connection"}`))
	fds := d.fds()
	code, _ := get(d.http+"/healthz", 5*time.Second)
	sock := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return net.Dial("unix", filepath.Join(d.data, "obzvon.sock"))
	}}, Timeout: 5 * time.Second}
	adminOK := false
	if res, err := sock.Get("http://obzvon/readyz"); err == nil {
		adminOK = res.StatusCode == 200
		res.Body.Close()
	}
	close(stop)
	lat := <-probe
	t.Logf("FIGURE tcp flood (LimitNOFILE %d, %s): %d connections opened (500 from one address, the rest one per address), %d refused by the caps (obzvon_rate_limited_total), daemon fds %d; /healthz %d after, admin socket ok=%v; /healthz during: p50 %v p99 %v max %v (%d probes)",
		nofile, cpuPressure(), opened, refusedAtOnce, fds, code, adminOK, quantile(lat, .5), quantile(lat, .99), quantile(lat, 1), len(lat))
	if code != 200 || !adminOK || fds >= nofile-50 || quantile(lat, .99) > latencyBound(t, time.Second) {
		t.Errorf("the daemon ran out of room: /healthz %d, admin socket %v, fds %d of %d, /healthz p99 %v", code, adminOK, fds, nofile, quantile(lat, .99))
	}
}

// 1,000 concurrent logins (made-up accounts, 4 per address) over
// HTTPS: RSS stays bounded and /healthz fast. Measured twice: with the
// daemon at the priority of everything else on this shared machine
// (the attacking test process included), and with the daemon and the
// prober ahead of them (nice -10), as on an appliance of its own
// attacked from elsewhere.
func TestSecurityLoginFlood(t *testing.T) {
	for _, c := range []struct {
		name string
		nice int
	}{{"shared", 0}, {"appliance", -10}} {
		t.Run(c.name, func(t *testing.T) { loginFlood(t, c.nice) })
	}
}

func loginFlood(t *testing.T, nice int) {
	d := startDaemonNice(t, "", 0, nice)
	base := d.procStatus("VmRSS")
	stop := make(chan struct{})
	probe := d.healthProbe(stop)
	var wg sync.WaitGroup
	var codes sync.Map
	var firstErr atomic.Value // the first transport error, for the figures
	tlsConf := d.tlsConfig()
	start := make(chan struct{})
	for i := range 1000 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			src := net.IPv4(127, 0, 2+byte(i/1000), 1+byte(i/4%250))
			tr := &http.Transport{DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: src}}).DialContext, TLSClientConfig: tlsConf}
			c := &http.Client{Transport: tr, Timeout: 60 * time.Second}
			body, _ := json.Marshal(map[string]string{"login": fmt.Sprintf("nobody%d", i), "password": "wrong password " + strconv.Itoa(i)})
			<-start
			res, err := c.Post(d.httpsBase()+"/api/v1/login", "application/json", strings.NewReader(string(body)))
			code := 0
			if err == nil {
				code = res.StatusCode
				res.Body.Close()
			} else {
				firstErr.CompareAndSwap(nil, err.Error())
			}
			v, _ := codes.LoadOrStore(code, new(atomic.Int64))
			v.(*atomic.Int64).Add(1)
		}()
	}
	cpu0 := d.cpu()
	t0 := time.Now()
	close(start)
	wg.Wait()
	el := time.Since(t0)
	cpu := d.cpu() - cpu0
	close(stop)
	lat := <-probe
	t.Logf("daemon CPU during the flood: %v", cpu)
	peak := d.procStatus("VmHWM")
	byCode := map[int]int64{}
	codes.Range(func(k, v any) bool { byCode[k.(int)] = v.(*atomic.Int64).Load(); return true })
	t.Logf("FIGURE login flood (daemon nice %d, %s): 1000 concurrent logins in %v: %v; RSS %d MB before, peak %d MB; /healthz p50 %v p99 %v max %v (%d probes)",
		nice, cpuPressure(), el.Round(time.Millisecond), byCode, base/1024, peak/1024, quantile(lat, .5), quantile(lat, .99), quantile(lat, 1), len(lat))
	if e := firstErr.Load(); e != nil {
		t.Logf("first transport error: %v", e)
	}
	// The logins must reach the login handler: refused (401), rate
	// limited (429) or turned away by the hashing pool (503). A flood
	// that fails before (TLS, a redirect) measures nothing. Some may be
	// shed before (code 0: the handshake not done within the server's
	// 10 s on a saturated machine), most may not.
	if n := byCode[401] + byCode[429] + byCode[503]; n < 500 {
		t.Errorf("only %d of 1000 logins reached the login (%v)", n, byCode)
	}
	if peak-base > 300*1024 {
		t.Errorf("peak RSS grew by %d MB, want < 300 MB", (peak-base)/1024)
	}
	if quantile(lat, .99) > latencyBound(t, 100*time.Millisecond) {
		t.Errorf("/healthz p99 %v during the flood, want < 100 ms", quantile(lat, .99))
	}
}

// 3,000 INVITEs to a number with no route, never acknowledged, from one
// address: no journal records, no calls held, the flood is rate limited.
func TestSecurityInviteFlood(t *testing.T) {
	d := startDaemon(t, "", 0)
	c, err := net.Dial("udp", d.sipTarget())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	local := c.LocalAddr().String()
	t0 := time.Now()
	for i := range 3000 {
		msg := fmt.Sprintf("INVITE sip:999@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-f%d\r\nFrom: <sip:x@127.0.0.1>;tag=f%d\r\nTo: <sip:999@127.0.0.1>\r\nCall-ID: flood-%d\r\nCSeq: 1 INVITE\r\nContact: <sip:x@%s>\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
			local, i, i, i, local)
		if _, err := c.Write([]byte(msg)); err != nil {
			t.Fatal(err)
		}
		if i%100 == 99 {
			time.Sleep(10 * time.Millisecond) // ~10,000/s at most: the socket buffer keeps up
		}
	}
	el := time.Since(t0)
	time.Sleep(2 * time.Second) // let the daemon read the backlog
	active := d.metric(`obzvon_calls_active{direction="inbound"}`)
	limited := d.metric(`obzvon_rate_limited_total{kind="invite"}`)
	n404 := d.metric(`obzvon_sip_responses_total{code="404"}`)
	n503 := d.metric(`obzvon_sip_responses_total{code="503"}`)
	rss := d.procStatus("VmRSS")
	sock := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return net.Dial("unix", filepath.Join(d.data, "obzvon.sock"))
	}}, Timeout: 10 * time.Second}
	from, to := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339), time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	records := -1
	if res, err := sock.Get("http://obzvon/api/v1/calls?from=" + from + "&to=" + to); err == nil {
		var calls []json.RawMessage
		if json.NewDecoder(res.Body).Decode(&calls) == nil {
			records = len(calls)
		}
		res.Body.Close()
	}
	t.Logf("FIGURE invite flood: 3000 INVITEs to 999 in %v from one address, never ACKed: 404 %v, 503 %v (rate limited %v); calls held %v; journal records %d; RSS %d MB",
		el.Round(time.Millisecond), n404, n503, limited, active, records, rss/1024)
	if records != 0 || active != 0 {
		t.Errorf("journal records %d, calls held %v: want 0 and 0", records, active)
	}
}

// An INVITE whose SDP names a third party's address, never followed by
// RTP: what reaches the third party, against what the attacker sent.
func TestSecurityRTPReflection(t *testing.T) {
	d := startDaemon(t, "", 0)
	victim, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer victim.Close()
	var got atomic.Int64
	go func() {
		buf := make([]byte, 2048)
		for {
			n, err := victim.Read(buf)
			if err != nil {
				return
			}
			got.Add(int64(n))
		}
	}()
	c, err := net.Dial("udp", d.sipTarget())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	local := c.LocalAddr().String()
	sdp := fmt.Sprintf("v=0\r\no=x 1 1 IN IP4 127.0.0.1\r\ns=x\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n", victim.LocalAddr().(*net.UDPAddr).Port)
	inv := fmt.Sprintf("INVITE sip:601@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-r1\r\nFrom: <sip:x@127.0.0.1>;tag=r1\r\nTo: <sip:601@127.0.0.1>\r\nCall-ID: reflect-1\r\nCSeq: 1 INVITE\r\nContact: <sip:x@%s>\r\nMax-Forwards: 70\r\nContent-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s",
		local, local, len(sdp), sdp)
	sent := len(inv)
	if _, err := c.Write([]byte(inv)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 8192)
	var ok string
	for !strings.HasPrefix(ok, "SIP/2.0 200") {
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, err := c.Read(buf)
		if err != nil {
			t.Fatalf("no 200: %v", err)
		}
		ok = string(buf[:n])
	}
	hdr := func(name string) string {
		for _, l := range strings.Split(ok, "\r\n") {
			if strings.HasPrefix(l, name+":") {
				return l
			}
		}
		return ""
	}
	ack := strings.Join([]string{"ACK sip:601@127.0.0.1 SIP/2.0", "Via: SIP/2.0/UDP " + local + ";branch=z9hG4bK-r1a", hdr("From"), hdr("To"), hdr("Call-ID"),
		"CSeq: 1 ACK", "Max-Forwards: 70", "Content-Length: 0", "", ""}, "\r\n")
	sent += len(ack)
	_, _ = c.Write([]byte(ack))
	// The 5.3 s greeting, then BYE.
	for {
		_ = c.SetReadDeadline(time.Now().Add(15 * time.Second))
		n, err := c.Read(buf)
		if err != nil {
			break
		}
		if strings.HasPrefix(string(buf[:n]), "BYE ") {
			break
		}
	}
	time.Sleep(200 * time.Millisecond)
	amp := float64(got.Load()) / float64(sent)
	t.Logf("FIGURE rtp reflection: attacker sent %d bytes of SIP, the third party got %d bytes of RTP: ×%.1f", sent, got.Load(), amp)
	if amp > 10 {
		t.Errorf("amplification ×%.1f toward a third party, want < 10", amp)
	}
}
