package dialer

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/obzvon/obzvon/acd"
	"github.com/obzvon/obzvon/config"
	"github.com/obzvon/obzvon/internal/peertest"
	"github.com/obzvon/obzvon/journal"
	"github.com/obzvon/obzvon/media"
)

// testAppliance is a dialer.Server with a real media engine and a real
// Badger journal in a temp dir.
type testAppliance struct {
	srv     *Server
	journal *journal.Journal
	cfg     *config.Config
	port    int
}

func startAppliance(t *testing.T, routes []config.Route, tweaks ...func(*config.Config)) *testAppliance {
	t.Helper()
	return startApplianceWith(t, routes, nil, tweaks...)
}

// startApplianceWith also runs the registrar over creds.
func startApplianceWith(t *testing.T, routes []config.Route, creds Credentials, tweaks ...func(*config.Config)) *testAppliance {
	t.Helper()
	return startApplianceOpts(t, applianceOpts{routes: routes, creds: creds}, tweaks...)
}

// startApplianceLogged is startApplianceWith logging to log.
func startApplianceLogged(t *testing.T, routes []config.Route, creds Credentials, log *slog.Logger, tweaks ...func(*config.Config)) *testAppliance {
	t.Helper()
	return startApplianceOpts(t, applianceOpts{routes: routes, creds: creds, log: log}, tweaks...)
}

// startApplianceDesk runs the ACD: the journal is the registrar's
// credentials, seed fills it (accounts) before the server starts.
func startApplianceDesk(t *testing.T, routes []config.Route, desk *DeskOptions, tweak func(*config.Config), seed func(*journal.Journal)) *testAppliance {
	t.Helper()
	return startApplianceOpts(t, applianceOpts{routes: routes, desk: desk, seed: seed, journalCreds: true}, tweak)
}

type applianceOpts struct {
	routes       []config.Route
	creds        Credentials
	journalCreds bool // the journal is the registrar's credentials
	desk         *DeskOptions
	seed         func(*journal.Journal)
	log          *slog.Logger // nil: debug level to the test log
}

func startApplianceOpts(t *testing.T, o applianceOpts, tweaks ...func(*config.Config)) *testAppliance {
	t.Helper()
	cfg := config.Default()
	cfg.SIP.Port = peertest.FreePort(t)
	cfg.Data.Dir = t.TempDir()
	cfg.Calls.DrainTimeout = config.Duration{Duration: 2 * time.Second}
	cfg.Calls.RingTimeout = config.Duration{Duration: 5 * time.Second}
	// RTP below the ephemeral range and apart from other packages' tests.
	base := 10000 + (os.Getpid()%100)*40
	cfg.RTP.PortMin, cfg.RTP.PortMax = base, base+39
	cfg.Routes = o.routes
	cfg.Queues = nil
	for _, tw := range tweaks {
		if tw != nil {
			tw(cfg)
		}
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("test config: %v", err)
	}
	log := o.log
	if log == nil {
		log = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	engine, err := media.NewEngine(media.EngineConfig{
		IP: netip.MustParseAddr("127.0.0.1"), PortMin: cfg.RTP.PortMin, PortMax: cfg.RTP.PortMax,
		RecordDir: cfg.Data.RecordingsDir(), Logger: log,
	})
	if err != nil {
		t.Fatalf("media engine: %v", err)
	}
	t.Cleanup(func() { engine.Close() })
	jr, err := journal.Open(journal.DefaultOptions(cfg.Data.JournalDir()))
	if err != nil {
		t.Fatalf("journal: %v", err)
	}
	t.Cleanup(func() { jr.Close() })
	if o.seed != nil {
		o.seed(jr)
	}
	prompts := map[string]*media.Prompt{}
	for _, name := range append(cfg.PromptNames(), "busy") {
		p, err := media.LoadPrompt(filepath.Join("..", "prompts", "ru", name+".wav"))
		if err != nil {
			t.Fatalf("prompt %s: %v", name, err)
		}
		prompts[name] = p
	}
	creds := o.creds
	if o.journalCreds {
		creds = jr
	}
	if o.desk != nil {
		o.desk.Directory, o.desk.Events = jr, jr
		o.desk.ACD.PauseReasons = cfg.ACD.PauseReasons
		o.desk.ACD.RingLease = cfg.ACD.RingTimeout.Duration + 2*time.Second
		for _, q := range cfg.Queues {
			_, th := q.SL()
			o.desk.ACD.Queues = append(o.desk.ACD.Queues, acd.QueueConfig{Name: q.Name, WrapUp: q.WrapUp.Duration,
				SLThreshold: th, MaxLen: q.MaxLen, Level2After: q.Level2After.Duration})
		}
	}
	srv, err := New(Options{Config: cfg, Engine: engine, Prompts: prompts, Calls: jr, Credentials: creds, Logger: log, Desk: o.desk})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() { srv.Close() })
	return &testAppliance{srv: srv, journal: jr, cfg: cfg, port: cfg.SIP.Port}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// waitCalls polls the journal until n call records are there.
func (a *testAppliance) waitCalls(t *testing.T, n int) []journal.CallRecord {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		calls, err := a.journal.Calls(context.Background(), time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
		if err != nil {
			t.Fatalf("journal calls: %v", err)
		}
		if len(calls) >= n {
			return calls
		}
		if time.Now().After(deadline) {
			t.Fatalf("journal has %d call records, want %d", len(calls), n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (a *testAppliance) target() string { return "127.0.0.1:" + strconv.Itoa(a.port) }

// callThrough runs caller -> appliance (dial route) -> SIPp trunk and
// returns the call record.
func callThrough(t *testing.T, callerScenario, trunkScenario string, trunkArgs ...string) (journal.CallRecord, peertest.StereoWAV) {
	t.Helper()
	trunkPort := peertest.FreePort(t)
	a := startAppliance(t, []config.Route{{
		Name: "trunk", Match: "88*", Action: config.ActionDial, Allow: []string{"127.0.0.1"},
		Target: fmt.Sprintf("sip:${number}@127.0.0.1:%d", trunkPort),
	}})
	trunk := peertest.StartSIPp(t, trunkScenario, append([]string{"-p", strconv.Itoa(trunkPort), "-mp", strconv.Itoa(peertest.FreeMediaPort(t)), "-m", "1"}, trunkArgs...)...)
	caller := peertest.StartSIPp(t, callerScenario, a.target(), "-s", "8800", "-d", "3000", "-m", "1",
		"-p", strconv.Itoa(peertest.FreePort(t)), "-mp", strconv.Itoa(peertest.FreeMediaPort(t)))
	if code := caller.Wait(30 * time.Second); code != 0 {
		t.Fatalf("caller sipp exit %d; output:\n%s\n%s", code, caller.Output(), caller.Logs())
	}
	if code := trunk.Wait(15 * time.Second); code != 0 {
		t.Fatalf("trunk sipp exit %d; output:\n%s\n%s", code, trunk.Output(), trunk.Logs())
	}
	rec := a.waitCalls(t, 1)[0]
	if rec.Recording == "" {
		t.Fatalf("call record has no recording: %+v", rec)
	}
	return rec, peertest.ReadStereoWAV(t, rec.Recording)
}

func checkRecord(t *testing.T, rec journal.CallRecord, callerCodec, calleeCodec string) {
	t.Helper()
	if rec.Direction != "inbound" || rec.Route != "trunk" || rec.SIPCode != 200 || rec.HangupBy != "caller" {
		t.Errorf("record = direction %q route %q code %d hangup_by %q; want inbound trunk 200 caller",
			rec.Direction, rec.Route, rec.SIPCode, rec.HangupBy)
	}
	if !(rec.Arrived.Before(rec.Answered) && rec.Answered.Before(rec.Ended)) {
		t.Errorf("times arrived %v answered %v ended %v are not in order", rec.Arrived, rec.Answered, rec.Ended)
	}
	if d := rec.Ended.Sub(rec.Answered); d < 2500*time.Millisecond || d > 6*time.Second {
		t.Errorf("talk time %v, want about the caller's 3 s", d)
	}
	if len(rec.Legs) != 2 {
		t.Fatalf("record has %d legs, want caller and callee: %+v", len(rec.Legs), rec.Legs)
	}
	caller, callee := rec.Legs[0], rec.Legs[1]
	if caller.Role != "caller" || caller.Codec != callerCodec || caller.PacketsIn < 100 {
		t.Errorf("caller leg = %+v; want codec %s and >= 100 packets in", caller, callerCodec)
	}
	if callee.Role != "callee" || callee.Codec != calleeCodec || callee.SIPCode != 200 || callee.PacketsOut < 100 {
		t.Errorf("callee leg = %+v; want codec %s, 200 and >= 100 packets out", callee, calleeCodec)
	}
}

func TestDialRouteRecordsCallerAndTrunk(t *testing.T) {
	rec, wav := callThrough(t, "uac_inbound.xml", "uas_trunk.xml")
	checkRecord(t, rec, "PCMU", "PCMU")
	if share, n := peertest.ToneShare(wav.Left, wav.Rate, 1000); share < 0.9 || n < 100 {
		t.Errorf("left channel (caller): 1 kHz share %.2f over %d blocks, want >= 0.9 over >= 100 (2 s)", share, n)
	}
	if share, n := peertest.ToneShare(wav.Right, wav.Rate, 1000); share > 0.3 || n < 50 {
		t.Errorf("right channel (trunk prompt): 1 kHz share %.2f over %d blocks, want speech (< 0.3) over >= 50", share, n)
	}
}

// The echo trunk sends back exactly what it received, so the tone on the
// right channel proves the far end got the caller's tone.
func TestDialRouteFarEndReceivesTone(t *testing.T) {
	rec, wav := callThrough(t, "uac_inbound.xml", "uas_trunk_echo.xml", "-rtp_echo")
	checkRecord(t, rec, "PCMU", "PCMU")
	if share, n := peertest.ToneShare(wav.Right, wav.Rate, 1000); share < 0.9 || n < 100 {
		t.Errorf("right channel (echo of what the trunk received): 1 kHz share %.2f over %d blocks, want >= 0.9", share, n)
	}
}

func TestDialRouteTranscodesPCMAToPCMU(t *testing.T) {
	rec, wav := callThrough(t, "uac_pcma.xml", "uas_trunk_echo.xml", "-rtp_echo")
	checkRecord(t, rec, "PCMA", "PCMU")
	for name, ch := range map[string][]float64{"left": wav.Left, "right": wav.Right} {
		if share, n := peertest.ToneShare(ch, wav.Rate, 1000); share < 0.9 || n < 100 {
			t.Errorf("%s channel: 1 kHz share %.2f over %d blocks, want >= 0.9 (tone through PCMA->PCMU->PCMA)", name, share, n)
		}
	}
}

func TestDialRouteBusyTrunkKeepsCode(t *testing.T) {
	trunkPort := peertest.FreePort(t)
	a := startAppliance(t, []config.Route{{
		Name: "trunk", Match: "88*", Action: config.ActionDial, Allow: []string{"127.0.0.1"},
		Target: fmt.Sprintf("sip:${number}@127.0.0.1:%d", trunkPort),
	}})
	trunk := peertest.StartSIPp(t, "uas_trunk_busy.xml", "-p", strconv.Itoa(trunkPort), "-m", "1")
	caller := peertest.StartSIPp(t, "uac_inbound.xml", a.target(), "-s", "8800", "-m", "1",
		"-p", strconv.Itoa(peertest.FreePort(t)), "-mp", strconv.Itoa(peertest.FreeMediaPort(t)))
	// The caller scenario counts a 486 as a failed call: exit code 1.
	if code := caller.Wait(20 * time.Second); code != 1 {
		t.Errorf("caller exit %d, want 1 (call failed with 486); output:\n%s", code, caller.Output())
	}
	trunk.Wait(10 * time.Second)
	rec := a.waitCalls(t, 1)[0]
	if rec.SIPCode != 486 || len(rec.Legs) < 2 || rec.Legs[1].SIPCode != 486 {
		t.Errorf("record code %d legs %+v, want 486 from the trunk kept on both", rec.SIPCode, rec.Legs)
	}
}

func TestMenuRoutesByDigit(t *testing.T) {
	a := startAppliance(t, []config.Route{
		{Name: "menu", Match: "100", Action: config.ActionMenu, Prompt: "menu",
			Choices: map[string]string{"1": "greeting", "2": "echo"}, DigitTimeout: config.Duration{Duration: 5 * time.Second}},
		{Name: "greeting", Action: config.ActionPlayback, Prompt: "greeting"},
		{Name: "echo", Action: config.ActionEcho},
	})
	caller := peertest.StartSIPp(t, "uac_inbound.xml", a.target(), "-s", "100", "-d", "12000", "-m", "1",
		"-set", "dtmf", "2", "-p", strconv.Itoa(peertest.FreePort(t)), "-mp", strconv.Itoa(peertest.FreeMediaPort(t)))
	if code := caller.Wait(30 * time.Second); code != 0 {
		t.Fatalf("caller exit %d; output:\n%s\n%s", code, caller.Output(), caller.Logs())
	}
	rec := a.waitCalls(t, 1)[0]
	if rec.Route != "menu>echo" {
		t.Errorf("route = %q, want menu>echo (digit 2)", rec.Route)
	}
	if rec.HangupBy != "caller" || rec.SIPCode != 200 {
		t.Errorf("hangup_by %q code %d, want caller 200 (echo runs until the caller hangs up)", rec.HangupBy, rec.SIPCode)
	}
}

// rawSIP sends one datagram and returns the first final (or non-100)
// response's status line, "" when none came. A final error response is
// acknowledged as RFC 3261 §17.1.1.3 asks, so the server's transaction
// ends at once.
func rawSIP(t *testing.T, target string, msg string) string {
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
	wire := strings.ReplaceAll(head, "\n", "\r\n") + "\r\n\r\n" + body
	if _, err := c.Write([]byte(wire)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	for {
		_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
		n, err := c.Read(buf)
		if err != nil {
			return ""
		}
		res := string(buf[:n])
		line, _, _ := strings.Cut(res, "\r\n")
		if strings.Contains(line, " 100 ") {
			continue
		}
		if code := strings.Fields(line); len(code) > 1 && code[1] >= "300" && strings.HasPrefix(head, "INVITE") {
			_, _ = c.Write([]byte(ackFor(head, res)))
		}
		return line
	}
}

// ackFor builds the ACK for a non-2xx final response to the INVITE whose
// header block is invite: same Via, From, Call-ID, the response's To.
func ackFor(invite, res string) string {
	header := func(block, name string) string {
		for _, l := range strings.Split(strings.ReplaceAll(block, "\r\n", "\n"), "\n") {
			if strings.HasPrefix(l, name+":") {
				return l
			}
		}
		return ""
	}
	reqLine, _, _ := strings.Cut(invite, "\n")
	uri := strings.Fields(reqLine)[1]
	return strings.Join([]string{
		"ACK " + uri + " SIP/2.0",
		header(invite, "Via"), header(invite, "From"), header(res, "To"), header(invite, "Call-ID"),
		"CSeq: 1 ACK", "Max-Forwards: 70", "Content-Length: 0", "", "",
	}, "\r\n")
}

func inviteWithBody(callID, body string) string {
	return fmt.Sprintf(`INVITE sip:600@127.0.0.1 SIP/2.0
Via: SIP/2.0/UDP LOCAL;branch=z9hG4bK-%s
From: <sip:tester@127.0.0.1>;tag=t%s
To: <sip:600@127.0.0.1>
Call-ID: %s
CSeq: 1 INVITE
Contact: <sip:tester@LOCAL>
Max-Forwards: 70
Content-Type: application/sdp
Content-Length: LEN

%s`, callID, callID, callID, strings.ReplaceAll(body, "\n", "\r\n"))
}

func TestBadInputIsRefusedAndNextCallWorks(t *testing.T) {
	a := startAppliance(t, []config.Route{{Name: "echo", Match: "600", Action: config.ActionEcho}})
	garbage := "this is not SDP at all\n"
	if got := rawSIP(t, a.target(), inviteWithBody("bad-sdp-1", garbage)); !strings.Contains(got, " 400 ") {
		t.Errorf("INVITE with garbage SDP answered %q, want 400", got)
	}
	g722 := "v=0\no=x 1 1 IN IP4 127.0.0.1\ns=x\nc=IN IP4 127.0.0.1\nt=0 0\nm=audio 4000 RTP/AVP 9\na=rtpmap:9 G722/8000\n"
	if got := rawSIP(t, a.target(), inviteWithBody("no-codec-1", g722)); !strings.Contains(got, " 488 ") {
		t.Errorf("INVITE offering only G722 answered %q, want 488", got)
	}
	options := `OPTIONS sip:127.0.0.1 SIP/2.0
Via: SIP/2.0/UDP LOCAL;branch=z9hG4bK-opt1
From: <sip:tester@127.0.0.1>;tag=o1
To: <sip:127.0.0.1>
Call-ID: options-1
CSeq: 1 OPTIONS
Max-Forwards: 70
Content-Length: 0

`
	if got := rawSIP(t, a.target(), options); !strings.Contains(got, " 200 ") {
		t.Errorf("OPTIONS answered %q, want 200", got)
	}
	// A malformed message is dropped without an answer or a crash.
	if got := rawSIP(t, a.target(), "INVITE nonsense\nVia: ???\n\n"); got != "" {
		t.Errorf("malformed message answered %q, want silence", got)
	}
	caller := peertest.StartSIPp(t, "uac_inbound.xml", a.target(), "-s", "600", "-d", "1000", "-m", "1",
		"-p", strconv.Itoa(peertest.FreePort(t)), "-mp", strconv.Itoa(peertest.FreeMediaPort(t)))
	if code := caller.Wait(20 * time.Second); code != 0 {
		t.Fatalf("call after bad input: sipp exit %d\n%s", code, caller.Output())
	}
	// INVITEs refused before a call began are not journaled (issue 11
	// item 4: a flood of them wrote thousands of records); the call is.
	calls := a.waitCalls(t, 1)
	if len(calls) != 1 || calls[0].SIPCode != 200 {
		t.Errorf("records %+v, want only the answered call", calls)
	}
}

func TestDrainHangsUpAfterTimeout(t *testing.T) {
	a := startAppliance(t, []config.Route{{Name: "echo", Match: "600", Action: config.ActionEcho}})
	caller := peertest.StartSIPp(t, "uac_inbound.xml", a.target(), "-s", "600", "-d", "20000", "-m", "1",
		"-p", strconv.Itoa(peertest.FreePort(t)), "-mp", strconv.Itoa(peertest.FreeMediaPort(t)))
	deadline := time.Now().Add(10 * time.Second)
	for a.srv.Active() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("call never became active")
		}
		time.Sleep(20 * time.Millisecond)
	}
	waitAnswered(t, a.srv, 10*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if cut := a.srv.Drain(ctx); cut != 1 {
		t.Errorf("Drain cut %d calls, want 1", cut)
	}
	if code := caller.Wait(10 * time.Second); code != 0 {
		t.Errorf("caller exit %d, want 0 (our BYE is answered 200); output:\n%s", code, caller.Output())
	}
	rec := a.waitCalls(t, 1)[0]
	if rec.HangupBy != "system" || rec.SIPCode != 200 {
		t.Errorf("record hangup_by %q code %d, want system 200", rec.HangupBy, rec.SIPCode)
	}
	// New calls are refused while draining.
	if got := rawSIP(t, a.target(), inviteWithBody("after-drain", "v=0\n")); !strings.Contains(got, " 503 ") {
		t.Errorf("INVITE while draining answered %q, want 503", got)
	}
}

func TestHoldAndUnholdByReInvite(t *testing.T) {
	a := startAppliance(t, []config.Route{{Name: "echo", Match: "600", Action: config.ActionEcho}})
	caller := peertest.StartSIPp(t, "uac_hold.xml", a.target(), "-s", "600", "-d", "1000", "-m", "1",
		"-p", strconv.Itoa(peertest.FreePort(t)), "-mp", strconv.Itoa(peertest.FreeMediaPort(t)))
	// The scenario checks a=recvonly in the answer to its sendonly offer and
	// a=sendrecv after unhold; a mismatch fails the call.
	if code := caller.Wait(30 * time.Second); code != 0 {
		t.Fatalf("caller exit %d; output:\n%s\n%s", code, caller.Output(), caller.Logs())
	}
	rec := a.waitCalls(t, 1)[0]
	if rec.SIPCode != 200 || rec.HangupBy != "caller" {
		t.Errorf("record code %d hangup_by %q, want 200 caller", rec.SIPCode, rec.HangupBy)
	}
	// While held (2 s of 4 s) the echo is not sent back: fewer packets out
	// than in — about 100; at least 30 even when a loaded machine handles
	// the re-INVITEs late (one run at load 16 saw the hold take effect
	// 0.76 s late with a 1 s hold).
	if l := rec.Legs[0]; l.PacketsOut+30 > l.PacketsIn {
		t.Errorf("caller leg in %d out %d: want about 100 fewer out (2 s on hold)", l.PacketsIn, l.PacketsOut)
	}
}

func TestEarlyMediaReachesCallerBeforeAnswer(t *testing.T) {
	trunkPort := peertest.FreePort(t)
	a := startAppliance(t, []config.Route{{
		Name: "trunk", Match: "88*", Action: config.ActionDial, Allow: []string{"127.0.0.1"},
		Target: fmt.Sprintf("sip:${number}@127.0.0.1:%d", trunkPort),
	}})
	trunk := peertest.StartSIPp(t, "uas_trunk_early.xml", "-p", strconv.Itoa(trunkPort),
		"-mp", strconv.Itoa(peertest.FreeMediaPort(t)), "-m", "1", "-d", "2000")
	caller := peertest.StartSIPp(t, "uac_inbound.xml", a.target(), "-s", "8800", "-d", "2000", "-m", "1",
		"-p", strconv.Itoa(peertest.FreePort(t)), "-mp", strconv.Itoa(peertest.FreeMediaPort(t)))
	if code := caller.Wait(30 * time.Second); code != 0 {
		t.Fatalf("caller exit %d; output:\n%s\n%s", code, caller.Output(), caller.Logs())
	}
	if code := trunk.Wait(15 * time.Second); code != 0 {
		t.Fatalf("trunk exit %d; output:\n%s\n%s", code, trunk.Output(), trunk.Logs())
	}
	rec := a.waitCalls(t, 1)[0]
	wav := peertest.ReadStereoWAV(t, rec.Recording)
	// 2 s of early media + 2 s of talk: the trunk's prompt fills the right
	// channel from before the answer, so about 4 s are not silent.
	if callee, caller := rec.Legs[1], rec.Legs[0]; callee.PacketsIn < 180 || caller.PacketsOut < 180 {
		t.Errorf("trunk sent %d packets, caller got %d; want >= 180 of the 200 in 2 s early + 2 s answered", callee.PacketsIn, caller.PacketsOut)
	}
	if _, n := peertest.ToneShare(wav.Right, wav.Rate, 1000); n < 120 {
		t.Errorf("right channel has %d non-silent 20 ms blocks, want >= 120 (the prompt from before the answer)", n)
	}
	if d := rec.Answered.Sub(rec.Arrived); d < 1500*time.Millisecond {
		t.Errorf("answered %v after arrival, want after the trunk's 2 s of early media", d)
	}
}

func TestCallerCancelWhileTrunkRings(t *testing.T) {
	trunkPort := peertest.FreePort(t)
	a := startAppliance(t, []config.Route{{
		Name: "trunk", Match: "88*", Action: config.ActionDial, Allow: []string{"127.0.0.1"},
		Target: fmt.Sprintf("sip:${number}@127.0.0.1:%d", trunkPort),
	}})
	trunk := peertest.StartSIPp(t, "uas_trunk_noanswer.xml", "-p", strconv.Itoa(trunkPort), "-m", "1")
	caller := peertest.StartSIPp(t, "uac_cancel.xml", a.target(), "-s", "8800", "-d", "1500", "-m", "1",
		"-p", strconv.Itoa(peertest.FreePort(t)))
	if code := caller.Wait(30 * time.Second); code != 0 {
		t.Fatalf("caller exit %d; output:\n%s\n%s", code, caller.Output(), caller.Logs())
	}
	// The trunk's scenario ends successfully only after our CANCEL.
	if code := trunk.Wait(15 * time.Second); code != 0 {
		t.Fatalf("trunk exit %d (no CANCEL?); output:\n%s\n%s", code, trunk.Output(), trunk.Logs())
	}
	rec := a.waitCalls(t, 1)[0]
	if rec.SIPCode != 487 || rec.HangupBy != "caller" || !rec.Answered.IsZero() {
		t.Errorf("record code %d hangup_by %q answered %v, want 487 caller never", rec.SIPCode, rec.HangupBy, rec.Answered)
	}
}

func TestRingTimeoutCancelsTrunk(t *testing.T) {
	trunkPort := peertest.FreePort(t)
	a := startAppliance(t, []config.Route{{
		Name: "trunk", Match: "88*", Action: config.ActionDial, Allow: []string{"127.0.0.1"},
		Target: fmt.Sprintf("sip:${number}@127.0.0.1:%d", trunkPort),
	}}, func(c *config.Config) { c.Calls.RingTimeout = config.Duration{Duration: 2 * time.Second} })
	trunk := peertest.StartSIPp(t, "uas_trunk_noanswer.xml", "-p", strconv.Itoa(trunkPort), "-m", "1")
	caller := peertest.StartSIPp(t, "uac_inbound.xml", a.target(), "-s", "8800", "-m", "1",
		"-p", strconv.Itoa(peertest.FreePort(t)), "-mp", strconv.Itoa(peertest.FreeMediaPort(t)))
	if code := caller.Wait(30 * time.Second); code != 1 {
		t.Errorf("caller exit %d, want 1 (480 after the ring timeout)", code)
	}
	if code := trunk.Wait(15 * time.Second); code != 0 {
		t.Fatalf("trunk exit %d (no CANCEL?); output:\n%s", code, trunk.Output())
	}
	rec := a.waitCalls(t, 1)[0]
	if rec.SIPCode != 480 || len(rec.Legs) < 2 || rec.Legs[1].SIPCode != 408 {
		t.Errorf("record code %d legs %+v, want 480 to the caller and 408 on the trunk leg", rec.SIPCode, rec.Legs)
	}
}

// A real softphone (baresip) registers with digest auth and takes a call
// routed to its extension: the caller's tone reaches it, its microphone
// (the Russian prompt) reaches the caller, both sides are recorded.
func TestSoftphoneRegistersAndTakesCall(t *testing.T) {
	a := startApplianceWith(t, []config.Route{{
		Name: "agent", Match: "1XXX", Action: config.ActionDial, Target: "reg:${number}",
	}}, fakeCreds{"1001": "secret-1001"})
	phone := peertest.StartBaresip(t, peertest.BaresipOptions{User: "1001", Password: "secret-1001", Registrar: a.target()})
	deadline := time.Now().Add(15 * time.Second)
	for len(a.srv.Registrar().Lookup("1001")) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("baresip never registered; its log:\n%s", phone.Output())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if b := a.srv.Registrar().Lookup("1001")[0]; !strings.Contains(b.UserAgent, "baresip") {
		t.Errorf("binding user agent %q, want baresip", b.UserAgent)
	}
	caller := peertest.StartSIPp(t, "uac_inbound.xml", a.target(), "-s", "1001", "-d", "4000", "-m", "1",
		"-p", strconv.Itoa(peertest.FreePort(t)), "-mp", strconv.Itoa(peertest.FreeMediaPort(t)))
	if code := caller.Wait(30 * time.Second); code != 0 {
		t.Fatalf("caller exit %d; output:\n%s\n%s\nbaresip:\n%s", code, caller.Output(), caller.Logs(), phone.Output())
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

// A caller that answers but never sends RTP (a phone that lost power)
// is hung up after calls.rtp_timeout.
func TestSilentCallerIsHungUpAfterRTPTimeout(t *testing.T) {
	a := startAppliance(t, []config.Route{{Name: "echo", Match: "600", Action: config.ActionEcho}},
		func(c *config.Config) { c.Calls.RTPTimeout = config.Duration{Duration: 2 * time.Second} })
	rtpSock, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer rtpSock.Close()
	sdp := fmt.Sprintf("v=0\no=x 1 1 IN IP4 127.0.0.1\ns=x\nc=IN IP4 127.0.0.1\nt=0 0\nm=audio %d RTP/AVP 0\na=rtpmap:0 PCMU/8000\n",
		rtpSock.LocalAddr().(*net.UDPAddr).Port)
	c, err := net.Dial("udp", a.target())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	local := c.LocalAddr().String()
	invite := strings.ReplaceAll(inviteWithBody("silent-1", sdp), "LOCAL", local)
	head, body, _ := strings.Cut(invite, "\n\n")
	head = strings.Replace(head, "Content-Length: LEN", "Content-Length: "+strconv.Itoa(len(body)), 1)
	if _, err := c.Write([]byte(strings.ReplaceAll(head, "\n", "\r\n") + "\r\n\r\n" + body)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 8192)
	read := func(what string) string {
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, err := c.Read(buf)
		if err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		return string(buf[:n])
	}
	var ok string
	for {
		ok = read("200 OK")
		if strings.HasPrefix(ok, "SIP/2.0 200") {
			break
		}
	}
	answered := time.Now()
	header := func(msg, name string) string {
		for _, l := range strings.Split(msg, "\r\n") {
			if strings.HasPrefix(l, name+":") {
				return l
			}
		}
		return ""
	}
	ack := strings.Join([]string{"ACK sip:600@" + a.target() + " SIP/2.0", "Via: SIP/2.0/UDP " + local + ";branch=z9hG4bK-ack-silent",
		header(ok, "From"), header(ok, "To"), header(ok, "Call-ID"), "CSeq: 1 ACK", "Max-Forwards: 70", "Content-Length: 0", "", ""}, "\r\n")
	if _, err := c.Write([]byte(ack)); err != nil {
		t.Fatal(err)
	}
	var bye string
	for {
		bye = read("BYE")
		if strings.HasPrefix(bye, "BYE ") {
			break
		}
	}
	waited := time.Since(answered)
	reply := strings.Join([]string{"SIP/2.0 200 OK", header(bye, "Via"), header(bye, "From"), header(bye, "To"),
		header(bye, "Call-ID"), header(bye, "CSeq"), "Content-Length: 0", "", ""}, "\r\n")
	_, _ = c.Write([]byte(reply))
	if waited < 2*time.Second || waited > 8*time.Second {
		t.Errorf("BYE came %v after the answer, want a little over the 2 s RTP timeout", waited)
	}
	rec := a.waitCalls(t, 1)[0]
	if rec.HangupBy != "system" || rec.SIPCode != 200 {
		t.Errorf("record hangup_by %q code %d, want system 200", rec.HangupBy, rec.SIPCode)
	}
}

// Gateways may send many provisional responses while ringing; sipgo gives
// up after 11 responses in one wait, the dialer keeps waiting.
func TestManyProvisionalResponses(t *testing.T) {
	rec, wav := callThrough(t, "uac_inbound.xml", "uas_trunk_many180.xml")
	checkRecord(t, rec, "PCMU", "PCMU")
	if share, n := peertest.ToneShare(wav.Left, wav.Rate, 1000); share < 0.9 || n < 100 {
		t.Errorf("left channel: 1 kHz share %.2f over %d blocks, want the tone", share, n)
	}
}

// An INVITE without SDP (delayed offer): our 200 carries the offer, the
// ACK the answer, and media flows: the echo route sends our RTP back.
func TestDelayedOfferEcho(t *testing.T) {
	a := startAppliance(t, []config.Route{{Name: "echo", Match: "600", Action: config.ActionEcho}})
	rtpSock, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer rtpSock.Close()
	c, err := net.Dial("udp", a.target())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	local := c.LocalAddr().String()
	invite := strings.Join([]string{"INVITE sip:600@127.0.0.1 SIP/2.0", "Via: SIP/2.0/UDP " + local + ";branch=z9hG4bK-late-1",
		"From: <sip:tester@127.0.0.1>;tag=late1", "To: <sip:600@127.0.0.1>", "Call-ID: late-offer-1", "CSeq: 1 INVITE",
		"Contact: <sip:tester@" + local + ">", "Max-Forwards: 70", "Content-Length: 0", "", ""}, "\r\n")
	if _, err := c.Write([]byte(invite)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 8192)
	var ok string
	for {
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := c.Read(buf)
		if err != nil {
			t.Fatalf("no 200 to a delayed-offer INVITE: %v", err)
		}
		if ok = string(buf[:n]); strings.HasPrefix(ok, "SIP/2.0 200") {
			break
		}
	}
	_, offerBody, _ := strings.Cut(ok, "\r\n\r\n")
	offer, err := ParseSDP([]byte(offerBody))
	if err != nil || len(offer.Codecs) < 2 {
		t.Fatalf("200 carries offer %+v, %v; want PCMU and PCMA offered", offer, err)
	}
	header := func(msg, name string) string {
		for _, l := range strings.Split(msg, "\r\n") {
			if strings.HasPrefix(l, name+":") {
				return l
			}
		}
		return ""
	}
	answer := fmt.Sprintf("v=0\r\no=x 1 1 IN IP4 127.0.0.1\r\ns=x\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio %d RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\n",
		rtpSock.LocalAddr().(*net.UDPAddr).Port)
	ack := strings.Join([]string{"ACK sip:600@" + a.target() + " SIP/2.0", "Via: SIP/2.0/UDP " + local + ";branch=z9hG4bK-late-ack",
		header(ok, "From"), header(ok, "To"), header(ok, "Call-ID"), "CSeq: 1 ACK", "Max-Forwards: 70",
		"Content-Type: application/sdp", "Content-Length: " + strconv.Itoa(len(answer)), "", answer}, "\r\n")
	if _, err := c.Write([]byte(ack)); err != nil {
		t.Fatal(err)
	}
	// Send 1 s of A-law tone and count what comes back.
	to := net.UDPAddrFromAddrPort(offer.Addr)
	tone := make([]byte, 12+160)
	tone[0], tone[1] = 0x80, 8
	for i := 0; i < 160; i++ {
		tone[12+i] = []byte{0x34, 0xa4, 0x26, 0xa4, 0x34, 0x24, 0xa6, 0x24}[i%8] // a 1 kHz A-law period
	}
	got := make(chan int, 1)
	go func() {
		n, b := 0, make([]byte, 1500)
		for {
			_ = rtpSock.SetReadDeadline(time.Now().Add(2 * time.Second))
			m, err := rtpSock.Read(b)
			if err != nil {
				got <- n
				return
			}
			if m == 172 && b[1]&0x7f == 8 {
				n++
			}
		}
	}()
	for i := 0; i < 50; i++ {
		tone[2], tone[3] = byte(i>>8), byte(i)
		ts := uint32(i * 160)
		tone[4], tone[5], tone[6], tone[7] = byte(ts>>24), byte(ts>>16), byte(ts>>8), byte(ts)
		tone[11] = 0x42
		if _, err := rtpSock.WriteTo(tone, to); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := <-got; n < 40 {
		t.Errorf("echoed %d of 50 PCMA packets, want nearly all", n)
	}
	bye := strings.Join([]string{"BYE sip:600@" + a.target() + " SIP/2.0", "Via: SIP/2.0/UDP " + local + ";branch=z9hG4bK-late-bye",
		header(ok, "From"), header(ok, "To"), header(ok, "Call-ID"), "CSeq: 2 BYE", "Max-Forwards: 70", "Content-Length: 0", "", ""}, "\r\n")
	_, _ = c.Write([]byte(bye))
	rec := a.waitCalls(t, 1)[0]
	if rec.SIPCode != 200 || rec.Codec != "PCMA" || rec.HangupBy != "caller" {
		t.Errorf("record code %d codec %q hangup_by %q, want 200 PCMA caller", rec.SIPCode, rec.Codec, rec.HangupBy)
	}
}

// SIP over TCP: a call to the echo route with SIPp on a TCP transport.
func TestCallOverTCP(t *testing.T) {
	a := startAppliance(t, []config.Route{{Name: "echo", Match: "600", Action: config.ActionEcho}})
	caller := peertest.StartSIPp(t, "uac_inbound.xml", a.target(), "-t", "t1", "-s", "600", "-d", "1500", "-m", "1",
		"-p", strconv.Itoa(peertest.FreePort(t)), "-mp", strconv.Itoa(peertest.FreeMediaPort(t)))
	if code := caller.Wait(20 * time.Second); code != 0 {
		t.Fatalf("TCP caller exit %d; output:\n%s\n%s", code, caller.Output(), caller.Logs())
	}
	rec := a.waitCalls(t, 1)[0]
	if rec.SIPCode != 200 || rec.HangupBy != "caller" || rec.Legs[0].PacketsIn < 50 || rec.Legs[0].PacketsOut < 50 {
		t.Errorf("record code %d hangup_by %q leg %+v, want 200 caller with RTP both ways", rec.SIPCode, rec.HangupBy, rec.Legs[0])
	}
}

// waitAnswered waits until a call of srv has been answered.
func waitAnswered(t *testing.T, srv *Server, timeout time.Duration) {
	t.Helper()
	answered := func() bool {
		srv.mu.Lock()
		cs := make([]*call, 0, len(srv.calls))
		for _, c := range srv.calls {
			cs = append(cs, c)
		}
		srv.mu.Unlock()
		for _, c := range cs {
			c.mu.Lock()
			ok := c.answered
			c.mu.Unlock()
			if ok {
				return true
			}
		}
		return false
	}
	for deadline := time.Now().Add(timeout); !answered(); {
		if time.Now().After(deadline) {
			t.Fatal("call never answered")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
