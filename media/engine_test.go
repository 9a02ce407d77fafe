package media

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"net/netip"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// The engine allocates from a port range (that is what is under test);
// each test's engine has the whole media test band, 20000-29999, with its
// cursor starting at a random pair, and the allocator skips ports another
// process holds. (A random 200-port window failed whenever a concurrent
// run's load benchmark, which takes thousands of ports of the band from
// its start, covered it.) Test peers bind port 0.
func newTestEngine(t testing.TB) *Engine {
	t.Helper()
	e, err := NewEngine(EngineConfig{IP: netip.MustParseAddr("127.0.0.1"), PortMin: 20000, PortMax: 29999, RecordDir: t.TempDir(), Workers: testWorkers})
	if err != nil {
		t.Fatal(err)
	}
	e.ports.next = rand.IntN(len(e.ports.used))
	t.Cleanup(func() { e.Close() })
	return e
}

// testWorkers is EngineConfig.Workers for newTestEngine: the default
// (epoll workers on Linux); TestPerLegReaders runs the loopback tests
// again with a goroutine per leg.
var testWorkers = 0

// TestPerLegReaders runs the loopback tests with a reader goroutine per leg.
func TestPerLegReaders(t *testing.T) {
	testWorkers = -1
	defer func() { testWorkers = 0 }()
	for _, tt := range []struct {
		name string
		f    func(*testing.T)
	}{
		{"Bridge", TestBridgePCMUtoPCMAWithRecording},
		{"EventsDropped", TestBridgeDropsEventsWithoutEventPT},
		{"SourceChange", TestBridgeSourceChange},
		{"ConnectErrors", TestConnectErrors},
		{"LegParams", TestLegParamsErrors},
		{"Echo", TestEchoReturnsTone},
		{"Play", TestPlayDeliversPromptFrames},
		{"InBandDTMF", TestInBandDTMF},
		{"SymmetricRTP", TestSymmetricRTPLearning},
		{"LatchKeepsTheCaller", TestLatchKeepsTheCaller},
		{"Hold", TestHold},
		{"Update", TestUpdateChangesTranscoding},
		{"SendDTMF", TestSendDTMF},
		{"CloseRace", TestEngineCloseWhileCreatingLegs},
		{"IPv6", TestIPv6Bridge},
		{"SuperviseErrors", TestSuperviseErrors},
		{"ConnectWatch", TestConnectWatchTimesFirstForward},
	} {
		t.Run(tt.name, tt.f)
	}
}

type peer struct {
	t    testing.TB
	conn *net.UDPConn
	ssrc uint32
	seq  uint16
	ts   uint32
	// sendPaced's clock: when its first packet went and its timestamp.
	clock0 time.Time
	ts0    uint32
}

func newPeer(t testing.TB) *peer {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &peer{t: t, conn: c, ssrc: rand.Uint32(), seq: uint16(rand.Uint32()), ts: rand.Uint32()}
}

func (p *peer) addr() netip.AddrPort { return p.conn.LocalAddr().(*net.UDPAddr).AddrPort() }

// send sends one RTP packet and advances seq (and ts by the payload's
// samples when audio).
func (p *peer) send(to netip.AddrPort, pt uint8, marker bool, payload []byte, advanceTS uint32) {
	p.t.Helper()
	pk := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: pt, Marker: marker, SequenceNumber: p.seq, Timestamp: p.ts, SSRC: p.ssrc}, Payload: payload}
	b, err := pk.Marshal()
	if err != nil {
		p.t.Fatal(err)
	}
	if _, err := p.conn.WriteToUDPAddrPort(b, to); err != nil {
		p.t.Fatal(err)
	}
	p.seq++
	p.ts += advanceTS
}

// sendTone sends n 20 ms packets of a tone in codec c.
func (p *peer) sendTone(to netip.AddrPort, c Codec, pt uint8, freq float64, n int) {
	p.t.Helper()
	for i := range n {
		p.send(to, pt, i == 0, Encode(nil, toneSamples(freq, 8000, i*FrameSamples, FrameSamples), c), FrameSamples)
	}
}

// recv reads n packets; the deadline only guards against a hang.
func (p *peer) recv(n int) []rtp.Packet {
	p.t.Helper()
	var out []rtp.Packet
	buf := make([]byte, 1500)
	p.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	for len(out) < n {
		k, _, err := p.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			p.t.Fatalf("received %d of %d packets: %v", len(out), n, err)
		}
		var pk rtp.Packet
		if err := pk.Unmarshal(append([]byte(nil), buf[:k]...)); err != nil {
			p.t.Fatalf("bad RTP from the engine: %v", err)
		}
		out = append(out, pk)
	}
	return out
}

// checkStream asserts one SSRC, consecutive sequence numbers and
// timestamps advancing by the payload length, and returns the decoded audio.
func checkStream(t *testing.T, pkts []rtp.Packet, pt uint8, c Codec) []int16 {
	t.Helper()
	var pcm []int16
	for i, pk := range pkts {
		if pk.PayloadType != pt {
			t.Fatalf("packet %d: payload type %d, want %d", i, pk.PayloadType, pt)
		}
		if i > 0 {
			prev := pkts[i-1]
			if pk.SSRC != prev.SSRC || pk.SequenceNumber != prev.SequenceNumber+1 || pk.Timestamp != prev.Timestamp+uint32(len(prev.Payload)) {
				t.Fatalf("packet %d: ssrc %x seq %d ts %d after ssrc %x seq %d ts %d: stream not continuous",
					i, pk.SSRC, pk.SequenceNumber, pk.Timestamp, prev.SSRC, prev.SequenceNumber, prev.Timestamp)
			}
		}
		pcm = Decode(pcm, pk.Payload, c)
	}
	return pcm
}

func startLeg(t *testing.T, e *Engine, p LegParams) *Leg {
	t.Helper()
	l, err := e.NewLeg()
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Start(p); err != nil {
		t.Fatal(err)
	}
	return l
}

// TestBridgePCMUtoPCMAWithRecording is the switch end to end: a caller on
// PCMU and an agent on PCMA, bridged with recording; each side hears the
// other's tone, and the recording holds the caller's tone on the left.
func TestBridgePCMUtoPCMAWithRecording(t *testing.T) {
	e := newTestEngine(t)
	caller, agent := newPeer(t), newPeer(t)
	a := startLeg(t, e, LegParams{Remote: caller.addr(), Codec: PCMU, PayloadType: 0, EventPT: 101})
	b := startLeg(t, e, LegParams{Remote: agent.addr(), Codec: PCMA, PayloadType: 8, EventPT: 100})
	rec, err := e.NewCallRecorder("call-1", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	br, err := e.Connect(a, b, rec)
	if err != nil {
		t.Fatal(err)
	}
	const n = 50
	caller.sendTone(a.LocalAddr(), PCMU, 0, 1000, n)
	toAgent := agent.recv(n)
	agent.sendTone(b.LocalAddr(), PCMA, 8, 400, n)
	toCaller := caller.recv(n)

	if pcm := checkStream(t, toAgent, 8, PCMA); !hasTone(pcm, 1000) {
		t.Errorf("agent (PCMA) does not hear the caller's 1 kHz tone")
	}
	if pcm := checkStream(t, toCaller, 0, PCMU); !hasTone(pcm, 400) {
		t.Errorf("caller (PCMU) does not hear the agent's 400 Hz tone")
	}
	if !toAgent[0].Marker {
		t.Errorf("first forwarded packet has no marker bit")
	}

	// An RFC 4733 event from the caller reaches the agent as an event
	// with the agent's payload type, and fires one digit on a.
	for i, end := range []bool{false, false, true, true, true} {
		caller.send(a.LocalAddr(), 101, i == 0, AppendEvent(nil, Event{Code: 5, End: end, Volume: 10, Duration: uint16(160 * (i + 1))}), 0)
	}
	caller.ts += 800
	ev := agent.recv(5)
	for i, pk := range ev {
		got, err := ParseEvent(pk.Payload)
		if pk.PayloadType != 100 || err != nil || got.Code != 5 {
			t.Errorf("event packet %d: PT %d, %+v, %v; want PT 100 event 5", i, pk.PayloadType, got, err)
		}
		if pk.Timestamp != ev[0].Timestamp {
			t.Errorf("event packet %d: timestamp %d, want the event's %d", i, pk.Timestamp, ev[0].Timestamp)
		}
	}
	if d := <-a.DTMF(); d != '5' {
		t.Errorf("DTMF() = %q, want '5'", d)
	}

	br.Disconnect()
	br.Disconnect()
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	left, right := readStereoWAV(t, rec.Path())
	if len(left) < n*FrameSamples {
		t.Fatalf("recording has %d frames, want >= %d", len(left), n*FrameSamples)
	}
	// Find the caller's audio: the first non-silent stretch on the left.
	start := 0
	for start < len(left) && isSilent(left[start:start+1]) {
		start++
	}
	seg := left[start : start+40*FrameSamples]
	if !hasTone(seg, 1000) {
		t.Errorf("left channel: no 1 kHz tone")
	}
	if hasTone(right, 1000) {
		t.Errorf("right channel holds the caller's tone")
	}
	if c := e.Counters(); c.RecordingBytes != uint64(len(left)*4) || c.PacketsIn < 2*n+5 || c.PacketsOut < 2*n+5 {
		t.Errorf("Counters() = %+v: want RecordingBytes %d and at least %d packets each way", c, len(left)*4, 2*n+5)
	}
	if s := b.Stats(); s.PacketsIn != n || s.PacketsOut != n+5 || s.Lost != 0 || s.PayloadType != 8 || s.LastReceived.IsZero() {
		t.Errorf("agent leg Stats() = %+v; want %d in, %d out, no loss, PT 8", s, n, n+5)
	}
}

func TestBridgeDropsEventsWithoutEventPT(t *testing.T) {
	e := newTestEngine(t)
	caller, agent := newPeer(t), newPeer(t)
	a := startLeg(t, e, LegParams{Remote: caller.addr(), Codec: PCMU, EventPT: 101})
	b := startLeg(t, e, LegParams{Remote: agent.addr(), Codec: PCMU})
	br, err := e.Connect(a, b, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer br.Disconnect()
	caller.send(a.LocalAddr(), 101, true, AppendEvent(nil, Event{Code: 1, End: true, Duration: 800}), 0)
	caller.sendTone(a.LocalAddr(), PCMU, 0, 1000, 3)
	got := agent.recv(3) // the event was dropped: only audio arrives
	for _, pk := range got {
		if pk.PayloadType != 0 {
			t.Errorf("agent got PT %d, want only audio PT 0", pk.PayloadType)
		}
	}
	if d := <-a.DTMF(); d != '1' {
		t.Errorf("DTMF() = %q, want '1'", d)
	}
}

// TestBridgeSourceChange checks that the agent's stream stays continuous
// when the caller's side restarts with a new SSRC and numbering.
func TestBridgeSourceChange(t *testing.T) {
	e := newTestEngine(t)
	caller, agent := newPeer(t), newPeer(t)
	a := startLeg(t, e, LegParams{Remote: caller.addr(), Codec: PCMU})
	b := startLeg(t, e, LegParams{Remote: agent.addr(), Codec: PCMU})
	if _, err := e.Connect(a, b, nil); err != nil {
		t.Fatal(err)
	}
	caller.sendTone(a.LocalAddr(), PCMU, 0, 1000, 5)
	first := agent.recv(5)
	caller.ssrc, caller.seq, caller.ts = caller.ssrc+1, 7, 123456
	caller.sendTone(a.LocalAddr(), PCMU, 0, 1000, 5)
	second := agent.recv(5)
	all := append(first, second...)
	for i := 1; i < len(all); i++ {
		if all[i].SSRC != all[0].SSRC || all[i].SequenceNumber != all[i-1].SequenceNumber+1 {
			t.Fatalf("packet %d: ssrc %x seq %d after %x %d: not continuous", i, all[i].SSRC, all[i].SequenceNumber, all[i-1].SSRC, all[i-1].SequenceNumber)
		}
	}
	if d := second[0].Timestamp - first[4].Timestamp; d < FrameSamples || d > 1<<20 {
		t.Errorf("timestamp step at the source change = %d, want >= %d and small", d, FrameSamples)
	}
	if !second[0].Marker {
		t.Errorf("no marker bit at the source change")
	}
	if bytes := string(first[0].Payload); bytes != string(Encode(nil, toneSamples(1000, 8000, 0, FrameSamples), PCMU)) {
		t.Errorf("same-codec payload was changed on the way")
	}
}

func TestConnectErrors(t *testing.T) {
	e := newTestEngine(t)
	p := newPeer(t)
	a := startLeg(t, e, LegParams{Remote: p.addr(), Codec: PCMU})
	b := startLeg(t, e, LegParams{Remote: p.addr(), Codec: PCMU})
	c := startLeg(t, e, LegParams{Remote: p.addr(), Codec: PCMU})
	if _, err := e.Connect(a, a, nil); err == nil {
		t.Errorf("Connect(a, a) error = nil, want an error")
	}
	br, err := e.Connect(a, b, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Connect(c, b, nil); !errors.Is(err, ErrLegBusy) {
		t.Errorf("Connect(c, b) with b bridged = %v, want ErrLegBusy", err)
	}
	if err := e.Echo(context.Background(), a); !errors.Is(err, ErrLegBusy) {
		t.Errorf("Echo(a) with a bridged = %v, want ErrLegBusy", err)
	}
	br.Disconnect()
	if br2, err := e.Connect(c, b, nil); err != nil {
		t.Errorf("Connect(c, b) after Disconnect = %v, want nil", err)
	} else {
		br2.Disconnect()
	}
	c.Close()
	if _, err := e.Connect(a, c, nil); !errors.Is(err, ErrLegClosed) {
		t.Errorf("Connect with a closed leg = %v, want ErrLegClosed", err)
	}
}

func TestLegParamsErrors(t *testing.T) {
	e := newTestEngine(t)
	l, err := e.NewLeg()
	if err != nil {
		t.Fatal(err)
	}
	remote := netip.MustParseAddrPort("127.0.0.1:4000")
	tests := []struct {
		name string
		p    LegParams
	}{
		{"no remote", LegParams{Codec: PCMU}},
		{"port 0", LegParams{Remote: netip.MustParseAddrPort("127.0.0.1:0"), Codec: PCMU}},
		{"no codec", LegParams{Remote: remote}},
		{"event PT equals audio PT", LegParams{Remote: remote, Codec: PCMA, EventPT: 8}},
		{"PT out of range", LegParams{Remote: remote, Codec: PCMU, PayloadType: 200}},
		{"IPv6 remote on an IPv4 leg", LegParams{Remote: netip.MustParseAddrPort("[2001:db8::1]:4000"), Codec: PCMU}},
	}
	for _, tt := range tests {
		if err := l.Start(tt.p); err == nil {
			t.Errorf("Start(%s) error = nil, want an error", tt.name)
		}
	}
	if err := l.Update(LegParams{Remote: remote, Codec: PCMU}); !errors.Is(err, ErrLegNotStarted) {
		t.Errorf("Update before Start = %v, want ErrLegNotStarted", err)
	}
	if err := l.Start(LegParams{Remote: remote, Codec: PCMA}); err != nil {
		t.Fatal(err)
	}
	if s := l.Stats(); s.PayloadType != 8 {
		t.Errorf("PCMA with PayloadType 0: Stats().PayloadType = %d, want 8", s.PayloadType)
	}
	if err := l.Start(LegParams{Remote: remote, Codec: PCMA}); !errors.Is(err, ErrLegStarted) {
		t.Errorf("second Start = %v, want ErrLegStarted", err)
	}
	if err := l.Update(LegParams{Remote: remote, Codec: PCMU}); err != nil || l.Codec() != PCMU {
		t.Errorf("Update to PCMU = %v, Codec() = %v; want nil, PCMU", err, l.Codec())
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Errorf("second Close() = %v, want nil", err)
	}
	if err := l.Update(LegParams{Remote: remote, Codec: PCMU}); !errors.Is(err, ErrLegClosed) {
		t.Errorf("Update after Close = %v, want ErrLegClosed", err)
	}
	if _, ok := <-l.DTMF(); ok {
		t.Errorf("DTMF channel still open after Close")
	}
}

func TestEchoReturnsTone(t *testing.T) {
	e := newTestEngine(t)
	caller := newPeer(t)
	l := startLeg(t, e, LegParams{Remote: caller.addr(), Codec: PCMA})
	ctx, cancel := context.WithCancel(context.Background())
	res := make(chan error, 1)
	go func() { res <- e.Echo(ctx, l) }()
	// Echo installs itself asynchronously: send until the first packet
	// comes back.
	buf := make([]byte, 1500)
	for {
		caller.sendTone(l.LocalAddr(), PCMA, 8, 1000, 1)
		caller.conn.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		if _, _, err := caller.conn.ReadFromUDPAddrPort(buf); err == nil {
			break
		}
	}
	caller.sendTone(l.LocalAddr(), PCMA, 8, 1000, 25)
	if pcm := checkStream(t, caller.recv(25), 8, PCMA); !hasTone(pcm, 1000) {
		t.Errorf("echo does not return the 1 kHz tone")
	}
	cancel()
	if err := <-res; !errors.Is(err, context.Canceled) {
		t.Errorf("Echo after cancel = %v, want context.Canceled", err)
	}
	go func() { res <- e.Echo(context.Background(), l) }()
	for l.sink.Load() == nil {
		time.Sleep(time.Millisecond) // wait for Echo to take the leg
	}
	l.Close()
	if err := <-res; !errors.Is(err, ErrLegClosed) {
		t.Errorf("Echo on a closed leg = %v, want ErrLegClosed", err)
	}
}

func TestPlayDeliversPromptFrames(t *testing.T) {
	e := newTestEngine(t)
	p, err := LoadPrompt(filepath.Join("testdata", "tone_alaw_short.wav"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []Codec{PCMU, PCMA} {
		t.Run(c.String(), func(t *testing.T) {
			caller := newPeer(t)
			l := startLeg(t, e, LegParams{Remote: caller.addr(), Codec: c, PayloadType: c.PayloadType()})
			if err := e.Play(context.Background(), l, p); err != nil {
				t.Fatalf("Play() = %v", err)
			}
			frames := len(p.frames(c)) / FrameSamples
			got := caller.recv(frames)
			pcm := checkStream(t, got, c.PayloadType(), c)
			for i, pk := range got {
				if string(pk.Payload) != string(p.frames(c)[i*FrameSamples:(i+1)*FrameSamples]) {
					t.Errorf("frame %d differs from the prompt", i)
				}
			}
			if !got[0].Marker {
				t.Errorf("first prompt packet has no marker bit")
			}
			if !hasTone(pcm[:1600], 1000) {
				t.Errorf("played prompt is not the 1 kHz tone")
			}
		})
	}
	caller := newPeer(t)
	l := startLeg(t, e, LegParams{Remote: caller.addr(), Codec: PCMU})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := e.Play(ctx, l, p); !errors.Is(err, context.Canceled) {
		t.Errorf("Play with a cancelled context = %v, want context.Canceled", err)
	}
	l.Close()
	if err := e.Play(context.Background(), l, p); !errors.Is(err, ErrLegClosed) {
		t.Errorf("Play on a closed leg = %v, want ErrLegClosed", err)
	}
}

func TestInBandDTMF(t *testing.T) {
	e := newTestEngine(t)
	caller := newPeer(t)
	l := startLeg(t, e, LegParams{Remote: caller.addr(), Codec: PCMA})
	digits := l.DTMF()
	sig := dtmfSignal("159#", 60, 60, 5000, 0)
	for i := 0; i+FrameSamples <= len(sig); i += FrameSamples {
		caller.send(l.LocalAddr(), 8, false, Encode(nil, sig[i:i+FrameSamples], PCMA), FrameSamples)
	}
	var got []rune
	for len(got) < 4 {
		select {
		case d := <-digits:
			got = append(got, d)
		case <-time.After(10 * time.Second):
			t.Fatalf("in-band digits = %q, want \"159#\"", string(got))
		}
	}
	if string(got) != "159#" {
		t.Errorf("in-band digits = %q, want \"159#\"", string(got))
	}
}

// waitIn waits until l has counted n packets, received or rejected (a
// ready signal, not a timing assertion).
func waitIn(t *testing.T, l *Leg, n uint64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s := l.Stats()
		if s.PacketsIn+s.Rejected >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("leg counted %d+%d packets, want %d", s.PacketsIn, s.Rejected, n)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestSymmetricRTPLearning(t *testing.T) {
	e := newTestEngine(t)
	natted, stranger := newPeer(t), newPeer(t)
	// SDP said 127.0.0.1:9 (a private address behind NAT, say); packets
	// come from natted's socket.
	l := startLeg(t, e, LegParams{Remote: netip.MustParseAddrPort("127.0.0.1:9"), Codec: PCMU})
	natted.sendTone(l.LocalAddr(), PCMU, 0, 1000, 2)
	waitIn(t, l, 2)
	if got := l.Remote(); got != natted.addr() {
		t.Errorf("Remote() after the first packets = %v, want the learned %v", got, natted.addr())
	}
	// Within the window, but the remote was latched already: rejected.
	stranger.sendTone(l.LocalAddr(), PCMU, 0, 1000, 3)
	waitIn(t, l, 5)
	if s := l.Stats(); s.Rejected != 3 || s.PacketsIn != 2 || l.Remote() != natted.addr() {
		t.Errorf("after a stranger's packets: Stats() = %+v, Remote() = %v; want 3 rejected and the remote kept", s, l.Remote())
	}
	natted.sendTone(l.LocalAddr(), PCMU, 0, 1000, 20)
	waitIn(t, l, 25)
	// After the window the socket is connected to the remote: a
	// stranger's packets do not even reach the leg.
	stranger.sendTone(l.LocalAddr(), PCMU, 0, 1000, 3)
	natted.seq += 2 // two lost
	natted.sendTone(l.LocalAddr(), PCMU, 0, 1000, 5)
	waitIn(t, l, 30)
	if s := l.Stats(); s.PacketsIn != 27 || s.Lost != 2 || l.Remote() != natted.addr() {
		t.Errorf("Stats() = %+v, Remote() = %v; want 27 packets in, 2 lost, remote %v", s, l.Remote(), natted.addr())
	}
	if c := e.Counters(); c.PacketsLost != 2 {
		t.Errorf("Counters().PacketsLost = %d, want 2", c.PacketsLost)
	}
	// A re-INVITE to a new remote opens the window again.
	other := newPeer(t)
	if err := l.Update(LegParams{Remote: other.addr(), Codec: PCMU}); err != nil {
		t.Fatal(err)
	}
	other.sendTone(l.LocalAddr(), PCMU, 0, 1000, 12)
	waitIn(t, l, 42)
	if s := l.Stats(); s.PacketsIn != 39 || l.Remote() != other.addr() {
		t.Errorf("after Update: Stats() = %+v, Remote() = %v; want 39 packets in from %v", s, l.Remote(), other.addr())
	}
}

// TestLatchKeepsTheCaller: stale RTP of an earlier call reaching a leg
// on a reused port must not take the caller's audio. Under make
// overload's setup phase a few packets another socket had queued for the
// port's previous call arrived first, were latched as the remote, and
// every packet of the caller's, from the address its SDP names, was then
// rejected: a silent call.
func TestLatchKeepsTheCaller(t *testing.T) {
	e := newTestEngine(t)
	caller, stale := newPeer(t), newPeer(t)
	l := startLeg(t, e, LegParams{Remote: caller.addr(), Codec: PCMU, WaitForPeer: true})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = e.Echo(ctx, l) }()
	for l.sink.Load() == nil {
		time.Sleep(time.Millisecond) // wait for Echo to take the leg
	}
	stale.sendTone(l.LocalAddr(), PCMU, 0, 1000, 3) // before the caller's first
	waitIn(t, l, 3)
	caller.sendTone(l.LocalAddr(), PCMU, 0, 1000, 20)
	waitIn(t, l, 23)
	if got := l.Remote(); got != caller.addr() {
		t.Fatalf("Remote() = %v after the caller's packets, want the caller's %v (stale packets came from %v)", got, caller.addr(), stale.addr())
	}
	if pcm := checkStream(t, caller.recv(20), 0, PCMU); !hasTone(pcm, 1000) {
		t.Errorf("the caller's echo is not its tone")
	}
	if s := l.Stats(); s.PacketsIn != 23 || s.Rejected != 0 {
		t.Errorf("Stats() = %+v, want 23 packets in (3 stale, 20 the caller's), 0 rejected", s)
	}
	// The window is over: the socket is connected to the caller.
	stale.sendTone(l.LocalAddr(), PCMU, 0, 1000, 3)
	caller.sendTone(l.LocalAddr(), PCMU, 0, 1000, 1)
	if got := caller.recv(1); len(got) != 1 || l.Remote() != caller.addr() {
		t.Errorf("after the window: remote %v, want %v", l.Remote(), caller.addr())
	}

	// The other order: the caller was heard first; a stray packet then
	// is rejected, not latched.
	l2 := startLeg(t, e, LegParams{Remote: caller.addr(), Codec: PCMU})
	caller.sendTone(l2.LocalAddr(), PCMU, 0, 1000, 1)
	waitIn(t, l2, 1)
	stale.sendTone(l2.LocalAddr(), PCMU, 0, 1000, 1)
	caller.sendTone(l2.LocalAddr(), PCMU, 0, 1000, 2)
	waitIn(t, l2, 4)
	if s := l2.Stats(); l2.Remote() != caller.addr() || s.PacketsIn != 3 || s.Rejected != 1 {
		t.Errorf("a stray packet after the caller's first: remote %v, Stats() = %+v; want the caller %v, 3 in, 1 rejected", l2.Remote(), s, caller.addr())
	}
}

func TestHold(t *testing.T) {
	e := newTestEngine(t)
	caller, agent := newPeer(t), newPeer(t)
	a := startLeg(t, e, LegParams{Remote: caller.addr(), Codec: PCMU})
	b := startLeg(t, e, LegParams{Remote: agent.addr(), Codec: PCMU})
	if _, err := e.Connect(a, b, nil); err != nil {
		t.Fatal(err)
	}
	b.SetHold(true)
	caller.sendTone(a.LocalAddr(), PCMU, 0, 1000, 5)
	waitIn(t, a, 5)
	if s := b.Stats(); s.PacketsOut != 0 {
		t.Errorf("held leg sent %d packets, want 0", s.PacketsOut)
	}
	b.SetHold(false)
	caller.sendTone(a.LocalAddr(), PCMU, 0, 1000, 3)
	if got := agent.recv(3); len(got) != 3 {
		t.Errorf("after unhold got %d packets, want 3", len(got))
	}
}

func TestEngineConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  EngineConfig
	}{
		{"no IP", EngineConfig{PortMin: 10000, PortMax: 10100}},
		{"unspecified IP", EngineConfig{IP: netip.MustParseAddr("0.0.0.0"), PortMin: 10000, PortMax: 10100}},
		{"reversed range", EngineConfig{IP: netip.MustParseAddr("127.0.0.1"), PortMin: 10100, PortMax: 10000}},
		{"negative workers", EngineConfig{IP: netip.MustParseAddr("127.0.0.1"), PortMin: 10000, PortMax: 10100, Workers: -2}},
	}
	for _, tt := range tests {
		if _, err := NewEngine(tt.cfg); err == nil {
			t.Errorf("NewEngine(%s) error = nil, want an error", tt.name)
		}
	}
	e := newTestEngine(t)
	if _, err := e.NewCallRecorder("../x", time.Now()); err == nil {
		t.Errorf("NewCallRecorder(\"../x\") error = nil, want an error")
	}
	e.Close()
	if _, err := e.NewLeg(); !errors.Is(err, ErrEngineClosed) {
		t.Errorf("NewLeg after Close = %v, want ErrEngineClosed", err)
	}
}

// TestUpdateChangesTranscoding checks a re-INVITE that moves the agent from
// PCMU to PCMA: the switch starts converting at the next packet.
func TestUpdateChangesTranscoding(t *testing.T) {
	e := newTestEngine(t)
	caller, agent := newPeer(t), newPeer(t)
	a := startLeg(t, e, LegParams{Remote: caller.addr(), Codec: PCMU})
	b := startLeg(t, e, LegParams{Remote: agent.addr(), Codec: PCMU})
	if _, err := e.Connect(a, b, nil); err != nil {
		t.Fatal(err)
	}
	caller.sendTone(a.LocalAddr(), PCMU, 0, 1000, 5)
	if pcm := checkStream(t, agent.recv(5), 0, PCMU); !hasTone(pcm, 1000) {
		t.Fatalf("before Update: no tone")
	}
	if err := b.Update(LegParams{Remote: agent.addr(), Codec: PCMA, PayloadType: 8}); err != nil {
		t.Fatal(err)
	}
	caller.sendTone(a.LocalAddr(), PCMU, 0, 1000, 10)
	if pcm := checkStream(t, agent.recv(10), 8, PCMA); !hasTone(pcm, 1000) {
		t.Errorf("after Update to PCMA: the agent does not hear the tone in A-law")
	}
}

func TestDelayHistogram(t *testing.T) {
	var h delayHistogram
	for i := range 1000 {
		h.record(time.Duration(i+1) * time.Microsecond) // 1..1000 µs
	}
	h.record(50 * time.Millisecond)
	s := h.snapshot()
	if s.Count() != 1001 {
		t.Fatalf("Count() = %d, want 1001", s.Count())
	}
	tests := []struct {
		q    float64
		want time.Duration
	}{
		{0.5, 500 * time.Microsecond},
		{0.99, 990 * time.Microsecond},
		{1, 50 * time.Millisecond},
	}
	for _, tt := range tests {
		got := s.Quantile(tt.q)
		if got < tt.want || float64(got) > float64(tt.want)*1.13 {
			t.Errorf("Quantile(%v) = %v, want %v within +12.5%%", tt.q, got, tt.want)
		}
	}
	if got := s.Sub(s).Count(); got != 0 {
		t.Errorf("Sub(self).Count() = %d, want 0", got)
	}
	for ns := int64(1); ns < 1<<40; ns = ns*3 + 1 {
		i := delayBucket(ns)
		if lo, hi := delayBucketLow(i), delayBucketLow(i+1); ns < lo || ns >= hi {
			t.Errorf("delayBucket(%d) = %d covering [%d, %d)", ns, i, lo, hi)
		}
	}
}

func TestSendDTMF(t *testing.T) {
	e := newTestEngine(t)
	caller := newPeer(t)
	l := startLeg(t, e, LegParams{Remote: caller.addr(), Codec: PCMU, EventPT: 101})
	if err := e.SendDTMF(context.Background(), l, '#', 100*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	got := caller.recv(5 + 2) // 5 packets of 20 ms, the end sent twice more
	for i, pk := range got {
		ev, err := ParseEvent(pk.Payload)
		wantEnd := i >= 4
		wantDur := uint16(min(i+1, 5) * FrameSamples)
		if err != nil || pk.PayloadType != 101 || ev.Code != 11 || ev.End != wantEnd || ev.Duration != wantDur || pk.Timestamp != got[0].Timestamp {
			t.Errorf("packet %d: PT %d ts %d %+v %v; want PT 101 ts %d event 11 end=%v duration %d",
				i, pk.PayloadType, pk.Timestamp, ev, err, got[0].Timestamp, wantEnd, wantDur)
		}
		if i > 0 && pk.SequenceNumber != got[i-1].SequenceNumber+1 {
			t.Errorf("packet %d: sequence %d after %d", i, pk.SequenceNumber, got[i-1].SequenceNumber)
		}
	}
	if !got[0].Marker {
		t.Errorf("first event packet has no marker bit")
	}
	// The events parsed by another leg fire the digit once.
	var d eventDeduper
	n := 0
	for _, pk := range got {
		if d.packet(pk.SSRC, pk.Timestamp) {
			n++
		}
	}
	if n != 1 {
		t.Errorf("one SendDTMF made %d digits at a receiver, want 1", n)
	}
	noEv := startLeg(t, e, LegParams{Remote: caller.addr(), Codec: PCMU})
	if err := e.SendDTMF(context.Background(), noEv, '1', 0); err == nil {
		t.Errorf("SendDTMF on a leg without telephone-event: error = nil")
	}
	if err := e.SendDTMF(context.Background(), l, 'x', 0); err == nil {
		t.Errorf("SendDTMF('x'): error = nil")
	}
	if s := l.Stats(); !s.LastReceived.IsZero() {
		t.Errorf("Stats().LastReceived = %v before any packet, want zero", s.LastReceived)
	}
}

// TestEngineCloseWhileCreatingLegs checks that Close racing NewLeg leaves
// no leg open: every NewLeg either fails with ErrEngineClosed or returns a
// leg that Close closed.
func TestEngineCloseWhileCreatingLegs(t *testing.T) {
	e := newTestEngine(t)
	res := make(chan *Leg, 40)
	for range 4 {
		go func() {
			for range 10 {
				l, err := e.NewLeg()
				if err != nil && !errors.Is(err, ErrEngineClosed) {
					t.Errorf("NewLeg() = %v", err)
				}
				res <- l
			}
		}()
	}
	e.Close()
	for range 40 {
		if l := <-res; l != nil && !l.closed.Load() {
			t.Errorf("leg %v still open after Engine.Close", l.LocalAddr())
			l.Close()
		}
	}
}

// TestIPv6Bridge runs a same-codec bridge over ::1.
func TestIPv6Bridge(t *testing.T) {
	base := 20000 + 2*rand.IntN(4800)
	e, err := NewEngine(EngineConfig{IP: netip.MustParseAddr("::1"), PortMin: base, PortMax: base + 99, Workers: testWorkers})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	listen := func() *peer {
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv6loopback})
		if err != nil {
			t.Fatalf("IPv6 loopback: %v", err)
		}
		t.Cleanup(func() { c.Close() })
		return &peer{t: t, conn: c, ssrc: 1, seq: 1, ts: 1}
	}
	caller, agent := listen(), listen()
	a := startLeg(t, e, LegParams{Remote: caller.addr(), Codec: PCMU})
	b := startLeg(t, e, LegParams{Remote: agent.addr(), Codec: PCMA})
	if _, err := e.Connect(a, b, nil); err != nil {
		t.Fatal(err)
	}
	caller.sendTone(a.LocalAddr(), PCMU, 0, 1000, 20)
	if pcm := checkStream(t, agent.recv(20), 8, PCMA); !hasTone(pcm, 1000) {
		t.Errorf("IPv6 bridge: no tone at the agent")
	}
	agent.sendTone(b.LocalAddr(), PCMA, 8, 400, 20)
	if pcm := checkStream(t, caller.recv(20), 0, PCMU); !hasTone(pcm, 400) {
		t.Errorf("IPv6 bridge: no tone at the caller")
	}
}

func TestDelayCumulative(t *testing.T) {
	var h delayHistogram
	for _, d := range []time.Duration{3 * time.Microsecond, 3 * time.Microsecond, 40 * time.Microsecond, 2 * time.Millisecond} {
		h.record(d)
	}
	counts, sum := h.snapshot().Cumulative([]time.Duration{10 * time.Microsecond, 100 * time.Microsecond, time.Millisecond, 10 * time.Millisecond})
	want := []uint64{2, 3, 3, 4}
	for i := range want {
		if counts[i] != want[i] {
			t.Errorf("Cumulative counts = %v, want %v", counts, want)
			break
		}
	}
	exact := 2046 * time.Microsecond
	if d := sum - exact; d < -exact/8 || d > exact/8 {
		t.Errorf("Cumulative sum = %v, want about %v", sum, exact)
	}
}

// TestConnectWatchTimesFirstForward checks that ConnectWatch reports the
// first forwarded packet once, with the kernel's arrival stamp on Linux,
// and times in order within the send and the receipt.
func TestConnectWatchTimesFirstForward(t *testing.T) {
	e := newTestEngine(t)
	caller, agent := newPeer(t), newPeer(t)
	a := startLeg(t, e, LegParams{Remote: caller.addr(), Codec: PCMU})
	b := startLeg(t, e, LegParams{Remote: agent.addr(), Codec: PCMU})
	// The kernel turns its stamps on a moment after the first socket asks
	// (a deferred work item): connect again until a packet is stamped.
	var ff FirstForward
	var t0, t2 time.Time
	for try := 0; try < 200; try++ {
		got := make(chan FirstForward, 4)
		br, err := e.ConnectWatch(a, b, nil, func(ff FirstForward) { got <- ff })
		if err != nil {
			t.Fatal(err)
		}
		t0 = time.Now()
		caller.sendTone(a.LocalAddr(), PCMU, 0, 1000, 1)
		agent.recv(1)
		caller.sendTone(a.LocalAddr(), PCMU, 0, 1000, 3)
		agent.recv(3)
		br.Disconnect()
		ff = <-got
		// The forwarder stamps Sent when its write returns, which may be
		// after the peer has the packet (a preemption between the two):
		// the bound is the watch's call, which comes after the stamp.
		t2 = time.Now()
		select {
		case again := <-got:
			t.Fatalf("the watch was called again (%+v): want once", again)
		default:
		}
		if ff.Stamped || runtime.GOOS != "linux" {
			break
		}
	}
	if runtime.GOOS == "linux" && !ff.Stamped {
		t.Errorf("first forward not stamped by the kernel on Linux")
	}
	if ff.Arrived.Before(t0) || ff.Read.Before(ff.Arrived) || ff.Sent.Before(ff.Read) || ff.Sent.After(t2) {
		t.Errorf("first forward times: sent by the peer at %v, arrived %v, read %v, sent %v, reported by %v: want them in that order",
			t0, ff.Arrived, ff.Read, ff.Sent, t2)
	}
}

// TestBridgeSetRecorder checks that a recorder set on a running bridge
// records both ways from then on, and that one set later is ignored.
func TestBridgeSetRecorder(t *testing.T) {
	e := newTestEngine(t)
	caller, agent := newPeer(t), newPeer(t)
	a := startLeg(t, e, LegParams{Remote: caller.addr(), Codec: PCMU})
	b := startLeg(t, e, LegParams{Remote: agent.addr(), Codec: PCMU})
	br, err := e.Connect(a, b, nil)
	if err != nil {
		t.Fatal(err)
	}
	caller.sendTone(a.LocalAddr(), PCMU, 0, 1000, 5)
	agent.recv(5)
	rec, err := e.NewCallRecorderInBackground("late", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	br.SetRecorder(rec)
	other, err := e.NewCallRecorderInBackground("ignored", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	br.SetRecorder(other)
	const n = 40
	caller.sendTone(a.LocalAddr(), PCMU, 0, 1000, n)
	agent.recv(n)
	agent.sendTone(b.LocalAddr(), PCMU, 0, 400, n)
	caller.recv(n)
	br.Disconnect()
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	if err := other.Close(); err == nil {
		if l, _ := readStereoWAV(t, other.Path()); len(l) > 0 {
			t.Errorf("the second recorder recorded %d frames, want none", len(l))
		}
	}
	left, right := readStereoWAV(t, rec.Path())
	if !hasTone(left, 1000) || !hasTone(right, 400) {
		t.Errorf("recording set on the running bridge: caller's 1 kHz on the left %v, operator's 400 Hz on the right %v; want both", hasTone(left, 1000), hasTone(right, 400))
	}
}
