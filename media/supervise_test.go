package media

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
)

func TestSuperviseModeStringParse(t *testing.T) {
	tests := []struct {
		mode SuperviseMode
		name string
	}{
		{SuperviseUnknown, "unknown"},
		{SuperviseListen, "listen"},
		{SuperviseWhisper, "whisper"},
		{SuperviseBarge, "barge"},
		{SuperviseMode(9), "unknown"},
	}
	for _, tt := range tests {
		if got := tt.mode.String(); got != tt.name {
			t.Errorf("SuperviseMode(%d).String() = %q, want %q", tt.mode, got, tt.name)
		}
	}
	parse := []struct {
		in      string
		want    SuperviseMode
		wantErr bool
	}{
		{"listen", SuperviseListen, false},
		{"Whisper", SuperviseWhisper, false},
		{" BARGE ", SuperviseBarge, false},
		{"unknown", SuperviseUnknown, true},
		{"", SuperviseUnknown, true},
		{"spy", SuperviseUnknown, true},
	}
	for _, tt := range parse {
		got, err := ParseSuperviseMode(tt.in)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("ParseSuperviseMode(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

// tonePower returns the share of x's energy at freq (Goertzel over the
// frame), or 0 for a near-silent frame.
func toneShare(x []int16, freq float64) float64 {
	var energy float64
	for _, v := range x {
		energy += float64(v) * float64(v)
	}
	energy /= float64(len(x))
	if energy < 100*100 {
		return 0
	}
	return goertzel(x, 2*math.Cos(2*math.Pi*freq/8000)) / energy
}

// heard summarises which tones a stream of 20 ms frames carried: for each
// frequency, the number of frames where it holds at least 15% of the
// energy, and the largest share it had in any frame whose mean square is
// at least minEnergy (a frame only partly filled with a tone, as a
// recording's frames at the ends of a tone are, leaks a few per cent into
// every bin).
type heard struct {
	frames  int
	present map[float64]int
	maxShr  map[float64]float64
}

func analyse(frames [][]int16, freqs []float64, minEnergy float64) heard {
	h := heard{frames: len(frames), present: map[float64]int{}, maxShr: map[float64]float64{}}
	for _, f := range frames {
		for _, fr := range freqs {
			s := toneShare(f, fr)
			if s >= 0.15 {
				h.present[fr]++
			}
			if meanSquare(f) >= minEnergy {
				h.maxShr[fr] = max(h.maxShr[fr], s)
			}
		}
	}
	return h
}

func meanSquare(x []int16) float64 {
	var e float64
	for _, v := range x {
		e += float64(v) * float64(v)
	}
	return e / float64(len(x))
}

// collector reads everything a peer receives during a round.
type collector struct {
	p      *peer
	codec  Codec
	pt     uint8
	evPT   uint8
	mu     sync.Mutex
	pkts   []rtp.Packet
	done   chan struct{}
	finish chan struct{}
}

func collect(p *peer, c Codec, evPT uint8) *collector {
	col := &collector{p: p, codec: c, pt: c.PayloadType(), evPT: evPT, done: make(chan struct{}), finish: make(chan struct{})}
	go func() {
		defer close(col.done)
		buf := make([]byte, 1500)
		var finishing bool
		last := time.Now()
		for {
			// Once the senders are done, read until the mixers have
			// drained: 200 ms without a packet.
			if !finishing {
				select {
				case <-col.finish:
					finishing, last = true, time.Now()
				default:
				}
			}
			if finishing && time.Since(last) > 200*time.Millisecond {
				return
			}
			p.conn.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
			n, _, err := p.conn.ReadFromUDPAddrPort(buf)
			if err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					continue
				}
				return
			}
			last = time.Now()
			var pk rtp.Packet
			if err := pk.Unmarshal(append([]byte(nil), buf[:n]...)); err != nil {
				continue
			}
			col.mu.Lock()
			col.pkts = append(col.pkts, pk)
			col.mu.Unlock()
		}
	}()
	return col
}

// stop waits for the reader to drain and returns the packets.
func (c *collector) stop() []rtp.Packet {
	close(c.finish)
	<-c.done
	return c.pkts
}

// audioFrames decodes the audio packets; events returns the event codes.
func (c *collector) split(t *testing.T, who string, pkts []rtp.Packet) (frames [][]int16, events []uint8) {
	t.Helper()
	for i, pk := range pkts {
		if i > 0 && pk.SequenceNumber != pkts[i-1].SequenceNumber+1 {
			t.Errorf("%s: packet %d: sequence %d after %d: stream not continuous", who, i, pk.SequenceNumber, pkts[i-1].SequenceNumber)
		}
		if i > 0 && pk.SSRC != pkts[0].SSRC {
			t.Errorf("%s: packet %d: SSRC %x, want one SSRC %x", who, i, pk.SSRC, pkts[0].SSRC)
		}
		switch pk.PayloadType {
		case c.pt:
			frames = append(frames, Decode(nil, pk.Payload, c.codec))
		case c.evPT:
			ev, err := ParseEvent(pk.Payload)
			if err != nil {
				t.Errorf("%s: bad event payload: %v", who, err)
				continue
			}
			events = append(events, ev.Code)
		default:
			t.Errorf("%s: payload type %d, want %d or %d", who, pk.PayloadType, c.pt, c.evPT)
		}
	}
	return frames, events
}

// sendRaw sends one RTP packet from a goroutine other than the test's
// (it reports errors instead of stopping the test) and advances seq and ts.
func (p *peer) sendRaw(to netip.AddrPort, pt uint8, marker bool, payload []byte, advanceTS uint32) error {
	pk := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: pt, Marker: marker, SequenceNumber: p.seq, Timestamp: p.ts, SSRC: p.ssrc}, Payload: payload}
	b, err := pk.Marshal()
	if err != nil {
		return err
	}
	p.seq++
	p.ts += advanceTS
	_, err = p.conn.WriteToUDPAddrPort(b, to)
	return err
}

// sendPaced sends n 20 ms tone frames paced by the clock, as a phone
// does, with an RFC 4733 event (digit code) in the middle. The event's
// packets share its start timestamp and take no time of the audio stream.
// Timestamps follow the clock from the peer's first paced packet on, as a
// phone's do: a pause between two calls of sendPaced is a jump in
// timestamps (silence suppression), not a stream that stood still.
func (p *peer) sendPaced(to netip.AddrPort, c Codec, freq float64, n int, evPT uint8, code uint8) error {
	if p.clock0.IsZero() {
		p.clock0, p.ts0 = time.Now(), p.ts
	} else {
		p.ts = max(p.ts, p.ts0+uint32(time.Since(p.clock0)/(20*time.Millisecond))*FrameSamples)
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for i := range n {
		if evPT != 0 && i == n/2 {
			for k, end := range []bool{false, false, true, true, true} {
				ev := AppendEvent(nil, Event{Code: code, End: end, Volume: 10, Duration: uint16(160 * (k + 1))})
				if err := p.sendRaw(to, evPT, k == 0, ev, 0); err != nil {
					return err
				}
			}
		}
		if err := p.sendRaw(to, c.PayloadType(), i == 0, Encode(nil, toneSamples(freq, 6000, i*FrameSamples, FrameSamples), c), FrameSamples); err != nil {
			return err
		}
		<-tick.C
	}
	return nil
}

// party is one of the three phones of a supervised call.
type party struct {
	name  string
	p     *peer
	leg   *Leg
	codec Codec
	evPT  uint8
	code  uint8 // the digit it presses each round
}

// probeDirect sends 5 packets of the µ-law code 0x7F (negative zero) from
// one party to the leg of another and returns the payload bytes the other
// received. The direct path forwards the bytes untouched; a mixer decodes
// and re-encodes, which makes zero 0xFF: so the bytes tell which path
// the audio took. Same-codec calls only.
func probeDirect(t *testing.T, from, to *party) map[byte]int {
	t.Helper()
	neg0 := make([]byte, FrameSamples)
	for i := range neg0 {
		neg0[i] = 0x7F
	}
	for range 5 {
		from.p.send(from.leg.LocalAddr(), 0, false, neg0, FrameSamples)
	}
	got := map[byte]int{}
	for _, pk := range to.p.recv(5) {
		for _, b := range pk.Payload {
			got[b]++
		}
	}
	return got
}

func TestSupervise(t *testing.T) {
	if b := Encode(nil, Decode(nil, []byte{0x7F}, PCMU), PCMU)[0]; b != 0xFF {
		t.Fatalf("µ-law 0x7F decoded and re-encoded = %#x, want 0xFF (probeDirect relies on it)", b)
	}
	tests := []struct {
		name       string
		ca, cb, cs Codec
	}{
		{"same codec", PCMU, PCMU, PCMU},
		{"PCMU customer, PCMA operator and supervisor", PCMU, PCMA, PCMA},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			testSupervise(t, tt.ca, tt.cb, tt.cs)
		})
	}
}

// toneMS is the mean square of the test tones (amplitude 6000).
const toneMS = 6000 * 6000 / 2

func testSupervise(t *testing.T, ca, cb, cs Codec) {
	e := newTestEngine(t)
	mk := func(name string, c Codec, evPT, code uint8) *party {
		p := newPeer(t)
		return &party{name: name, p: p, codec: c, evPT: evPT, code: code,
			leg: startLeg(t, e, LegParams{Remote: p.addr(), Codec: c, PayloadType: c.PayloadType(), EventPT: evPT})}
	}
	a := mk("customer", ca, 101, 5)
	b := mk("operator", cb, 100, 7)
	s := mk("supervisor", cs, 102, 9)
	rec, err := e.NewCallRecorder("supervised", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	br, err := e.Connect(a.leg, b.leg, rec)
	if err != nil {
		t.Fatal(err)
	}
	defer br.Disconnect()
	sv, err := e.Supervise(br, s.leg, SuperviseListen)
	if err != nil {
		t.Fatal(err)
	}
	// Each round gives the three parties fresh frequencies (multiples of
	// 50 Hz, exact bins of a 160-sample Goertzel), so that audio left
	// over from an earlier round cannot pass for this one's.
	rounds := []struct {
		mode  SuperviseMode
		freqs [3]float64 // customer, operator, supervisor
		hears [3]string  // who each of them must hear
	}{
		{SuperviseListen, [3]float64{600, 1000, 1500}, [3]string{"b", "a", "ab"}},
		{SuperviseWhisper, [3]float64{700, 1150, 1650}, [3]string{"b", "as", "ab"}},
		{SuperviseBarge, [3]float64{800, 1250, 1800}, [3]string{"bs", "as", "ab"}},
		{SuperviseListen, [3]float64{900, 1350, 1950}, [3]string{"b", "a", "ab"}},
	}
	parties := [3]*party{a, b, s}
	const n = 50 // frames per party and round: 1 s
	for ri, r := range rounds {
		if err := sv.SetMode(r.mode); err != nil {
			t.Fatalf("SetMode(%v) = %v", r.mode, err)
		}
		if got := sv.Mode(); got != r.mode {
			t.Errorf("Mode() = %v, want %v", got, r.mode)
		}
		var cols [3]*collector
		for i, pa := range parties {
			cols[i] = collect(pa.p, pa.codec, pa.evPT)
		}
		errs := make(chan error, 3)
		for i, pa := range parties {
			go func() { errs <- pa.p.sendPaced(pa.leg.LocalAddr(), pa.codec, r.freqs[i], n, pa.evPT, pa.code) }()
		}
		for range parties {
			if err := <-errs; err != nil {
				t.Fatalf("send: %v", err)
			}
		}
		for i, pa := range parties {
			who := fmt.Sprintf("round %d (%v): %s", ri, r.mode, pa.name)
			frames, events := cols[i].split(t, who, cols[i].stop())
			h := analyse(frames, r.freqs[:], 0)
			for j, other := range parties {
				f := r.freqs[j]
				if want := contains(r.hears[i], "abs"[j]); want && h.present[f] < n/2 {
					t.Errorf("%s hears the %s's %v Hz in %d of %d frames, want >= %d", who, other.name, f, h.present[f], h.frames, n/2)
				} else if !want && h.maxShr[f] > 0.1 { // leakage, not a mixed-in party (see the recording check below)
					t.Errorf("%s hears the %s's %v Hz (share up to %.3f), want nothing", who, other.name, f, h.maxShr[f])
				}
			}
			// Digits pass between customer and operator only.
			var want []uint8
			switch pa {
			case a:
				want = []uint8{b.code}
			case b:
				want = []uint8{a.code}
			}
			if !sameCodes(events, want) {
				t.Errorf("%s received events %v, want the codes %v (5 packets of one event)", who, events, want)
			}
		}
		if ca == cb && cb == cs {
			switch r.mode {
			case SuperviseListen:
				if got := probeDirect(t, a, b); got[0x7F] != 5*FrameSamples {
					t.Errorf("listen: customer to operator bytes %v, want 0x7F untouched (the direct path)", got)
				}
			case SuperviseWhisper:
				if got := probeDirect(t, b, a); got[0x7F] != 5*FrameSamples {
					t.Errorf("whisper: operator to customer bytes %v, want 0x7F untouched (the direct path)", got)
				}
			case SuperviseBarge:
				// Through the mixer, 0x7F comes out as 0xFF; a frame may
				// also carry the tail of the supervisor's tone still in
				// its jitter buffer (seen on a loaded machine), but none
				// may pass untouched.
				if got := probeDirect(t, a, b); got[0x7F] != 0 || got[0xFF] < 3*FrameSamples {
					t.Errorf("barge: customer to operator bytes %v, want 0xFF (re-encoded by the mixer), no 0x7F", got)
				}
			}
		}
	}

	sv.Stop()
	sv.Stop()
	select {
	case <-sv.Done():
	default:
		t.Errorf("Done() not closed after Stop")
	}
	if a.leg.sink.Load() != br.sa || b.leg.sink.Load() != br.sb || s.leg.sink.Load() != nil {
		t.Errorf("after Stop the legs' sinks are not the bridge's own: the two-party path is not restored")
	}
	if err := sv.SetMode(SuperviseBarge); !errors.Is(err, ErrSupervisionEnded) {
		t.Errorf("SetMode after Stop = %v, want ErrSupervisionEnded", err)
	}
	if ca == cb {
		if got := probeDirect(t, a, b); got[0x7F] != 5*FrameSamples {
			t.Errorf("after Stop: customer to operator bytes %v, want 0x7F untouched (the direct path)", got)
		}
	}
	// The supervisor's leg is free again: it can be bridged.
	if br2, err := e.Connect(s.leg, newLegFor(t, e), nil); err != nil {
		t.Errorf("Connect(supervisor's leg) after Stop = %v, want nil", err)
	} else {
		br2.Disconnect()
	}

	// The recording went on as a two-party one: the customer's tones on
	// the left, the operator's on the right, the supervisor's nowhere.
	br.Disconnect()
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	left, right := readStereoWAV(t, rec.Path())
	var lf, rf [][]int16
	for i := 0; i+FrameSamples <= len(left); i += FrameSamples {
		lf = append(lf, left[i:i+FrameSamples])
		rf = append(rf, right[i:i+FrameSamples])
	}
	for ri, r := range rounds {
		for ch, frames := range [][][]int16{lf, rf} {
			h := analyse(frames, r.freqs[:], 0.8*toneMS)
			for j, pa := range parties {
				f := r.freqs[j]
				if j == ch && h.present[f] < n*3/4 {
					t.Errorf("recording channel %d: the %s's round %d tone (%v Hz) in %d frames, want >= %d", ch, pa.name, ri, f, h.present[f], n*3/4)
				} else if j != ch && h.maxShr[f] > 0.1 {
					// A mixed-in party would hold a third or more of a
					// frame's power; a few percent is the Goertzel's leakage
					// from the channel's own tone in a frame the scheduler
					// split (seen at 0.021 under -race on a loaded machine).
					t.Errorf("recording channel %d holds the %s's round %d tone (%v Hz, share up to %.3f)", ch, pa.name, ri, f, h.maxShr[f])
				}
			}
		}
	}
}

func contains(set string, c byte) bool {
	for i := range len(set) {
		if set[i] == c {
			return true
		}
	}
	return false
}

// sameCodes reports whether got is 5 packets of each code of want, in order.
func sameCodes(got, want []uint8) bool {
	if len(got) != 5*len(want) {
		return false
	}
	for i, c := range got {
		if c != want[i/5] {
			return false
		}
	}
	return true
}

// newLegFor returns a started leg towards a throwaway peer.
func newLegFor(t *testing.T, e *Engine) *Leg {
	t.Helper()
	return startLeg(t, e, LegParams{Remote: newPeer(t).addr(), Codec: PCMU})
}

func TestSuperviseErrors(t *testing.T) {
	e := newTestEngine(t)
	a, b, s, other := newLegFor(t, e), newLegFor(t, e), newLegFor(t, e), newLegFor(t, e)
	br, err := e.Connect(a, b, nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		br   *Bridge
		sup  *Leg
		mode SuperviseMode
		want error
	}{
		{"unknown mode", br, s, SuperviseUnknown, nil},
		{"mode out of range", br, s, SuperviseMode(7), nil},
		{"supervisor is the customer", br, a, SuperviseListen, nil},
		{"supervisor is the operator", br, b, SuperviseListen, nil},
		{"nil leg", br, nil, SuperviseListen, nil},
	}
	for _, tt := range tests {
		if _, err := e.Supervise(tt.br, tt.sup, tt.mode); err == nil {
			t.Errorf("Supervise(%s) error = nil, want an error", tt.name)
		}
	}
	if a.sink.Load() != br.sa || b.sink.Load() != br.sb || s.sink.Load() != nil {
		t.Fatalf("a refused Supervise changed the legs' sinks")
	}
	notStarted, err := e.NewLeg()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Supervise(br, notStarted, SuperviseListen); !errors.Is(err, ErrLegNotStarted) {
		t.Errorf("Supervise(leg not started) = %v, want ErrLegNotStarted", err)
	}
	br2, err := e.Connect(other, newLegFor(t, e), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Supervise(br, other, SuperviseListen); !errors.Is(err, ErrLegBusy) {
		t.Errorf("Supervise(a leg in another bridge) = %v, want ErrLegBusy", err)
	}
	br2.Disconnect()

	sv, err := e.Supervise(br, s, SuperviseWhisper)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Supervise(br, other, SuperviseListen); !errors.Is(err, ErrBridgeSupervised) {
		t.Errorf("second Supervise = %v, want ErrBridgeSupervised", err)
	}
	if err := sv.SetMode(SuperviseUnknown); err == nil || sv.Mode() != SuperviseWhisper {
		t.Errorf("SetMode(unknown) = %v, mode %v; want an error and whisper kept", err, sv.Mode())
	}
	if _, err := e.Connect(s, other, nil); !errors.Is(err, ErrLegBusy) {
		t.Errorf("Connect(the supervisor's leg) while supervising = %v, want ErrLegBusy", err)
	}

	// Disconnect ends the supervision and frees every leg.
	br.Disconnect()
	select {
	case <-sv.Done():
	default:
		t.Fatalf("Done() not closed after Bridge.Disconnect")
	}
	if a.sink.Load() != nil || b.sink.Load() != nil || s.sink.Load() != nil {
		t.Errorf("after Disconnect of a supervised bridge the legs still have sinks")
	}
	if _, err := e.Supervise(br, s, SuperviseListen); !errors.Is(err, ErrBridgeDisconnected) {
		t.Errorf("Supervise(disconnected bridge) = %v, want ErrBridgeDisconnected", err)
	}
	sv.Stop() // after the end: returns at once

	// Closing the supervisor's leg ends the supervision and gives the
	// bridge back its two-party path.
	br3, err := e.Connect(a, b, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer br3.Disconnect()
	sv3, err := e.Supervise(br3, s, SuperviseBarge)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	<-sv3.Done()
	if a.sink.Load() != br3.sa || b.sink.Load() != br3.sb {
		t.Errorf("after the supervisor's leg closed, the bridge's sinks were not restored")
	}
	if err := sv3.SetMode(SuperviseListen); !errors.Is(err, ErrSupervisionEnded) {
		t.Errorf("SetMode after the supervisor's leg closed = %v, want ErrSupervisionEnded", err)
	}
	if _, err := e.Supervise(br3, s, SuperviseListen); !errors.Is(err, ErrLegClosed) {
		t.Errorf("Supervise(closed leg) = %v, want ErrLegClosed", err)
	}
}
