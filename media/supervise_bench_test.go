package media

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkSupervise measures one 20 ms period of a recorded call with a
// supervisor, in process: each of the three legs receives one packet
// (parse, statistics, recording, the direct forwards and the mixers'
// jitter buffers) and the clock makes one frame on every mixed output
// (pop, sum, encode, send on loopback). mixed/op is the number of mixed
// packets sent per period; "none" is the same three legs with the bridge
// unsupervised (the supervisor's leg only counts its packet), the
// baseline to subtract. The extra CPU per mixed packet is
// (cpu_ns/op - cpu_ns/op of none) / mixed/op.
func BenchmarkSupervise(b *testing.B) {
	for _, codecs := range []struct {
		name       string
		ca, cb, cs Codec
	}{
		{"same codec", PCMU, PCMU, PCMU},
		{"PCMU-PCMA-PCMA", PCMU, PCMA, PCMA},
	} {
		for _, mode := range []SuperviseMode{SuperviseUnknown, SuperviseListen, SuperviseWhisper, SuperviseBarge} {
			name := mode.String()
			if mode == SuperviseUnknown {
				name = "none"
			}
			b.Run(codecs.name+"/"+name, func(b *testing.B) {
				benchSupervise(b, codecs.ca, codecs.cb, codecs.cs, mode)
			})
		}
	}
}

func benchSupervise(b *testing.B, ca, cb, cs Codec, mode SuperviseMode) {
	e := newTestEngine(b)
	codecs := [3]Codec{ca, cb, cs}
	var peers [3]*peer
	var legs [3]*Leg
	for i := range legs {
		peers[i] = newPeer(b)
		peers[i].conn.SetReadBuffer(4096)
		l, err := e.NewLeg()
		if err != nil {
			b.Fatal(err)
		}
		if err := l.Start(LegParams{Remote: peers[i].addr(), Codec: codecs[i], EventPT: 101}); err != nil {
			b.Fatal(err)
		}
		legs[i] = l
	}
	rec, err := NewRecorder(filepath.Join(b.TempDir(), "f.wav"))
	if err != nil {
		b.Fatal(err)
	}
	defer rec.Close()
	br, err := e.Connect(legs[0], legs[1], rec)
	if err != nil {
		b.Fatal(err)
	}
	defer br.Disconnect()
	var s *Supervision
	if mode != SuperviseUnknown {
		// No clock goroutine: the benchmark ticks by hand, once per period.
		if s, err = e.supervise(br, legs[2], mode); err != nil {
			b.Fatal(err)
		}
		defer s.end()
	}
	var pkts [3][]byte
	for i := range pkts {
		pkts[i] = make([]byte, 12+FrameSamples)
	}
	var tones [3][]byte
	for i, f := range []float64{600, 1000, 1500} {
		tones[i] = Encode(nil, toneSamples(f, 6000, 0, FrameSamples), codecs[i])
	}
	var froms [3]netip.AddrPort
	for i := range froms {
		froms[i] = peers[i].addr()
	}
	sent0 := [3]uint64{}
	for i, l := range legs {
		sent0[i] = l.Stats().PacketsOut
	}
	t0 := time.Now()
	i := 0
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		now := t0.Add(time.Duration(i) * 20 * time.Millisecond)
		for k, l := range legs {
			putRTPHeader(pkts[k], false, codecs[k].PayloadType(), uint16(i), uint32(i*FrameSamples), uint32(40+k))
			copy(pkts[k][12:], tones[k])
			l.handle(pkts[k], froms[k], now)
		}
		if s != nil {
			s.tick(now)
		}
		i++
	}
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N), "cpu_ns/op")
	var sent uint64
	for k, l := range legs {
		sent += l.Stats().PacketsOut - sent0[k]
	}
	direct := map[SuperviseMode]float64{SuperviseUnknown: 2, SuperviseListen: 2, SuperviseWhisper: 1, SuperviseBarge: 0}[mode]
	b.ReportMetric(float64(sent)/float64(b.N)-direct, "mixed/op")
}

// BenchmarkForwardAfterSupervision is BenchmarkForward's same-codec case
// on a bridge that was supervised (barge) and then stopped: the
// two-party path must cost what it did before.
func BenchmarkForwardAfterSupervision(b *testing.B) {
	for _, supervised := range []bool{false, true} {
		b.Run(fmt.Sprintf("supervised-before=%v", supervised), func(b *testing.B) {
			e := newTestEngine(b)
			caller, agent, boss := newPeer(b), newPeer(b), newPeer(b)
			agent.conn.SetReadBuffer(4096)
			la, err := e.NewLeg()
			if err != nil {
				b.Fatal(err)
			}
			lb, err := e.NewLeg()
			if err != nil {
				b.Fatal(err)
			}
			ls, err := e.NewLeg()
			if err != nil {
				b.Fatal(err)
			}
			for _, x := range []struct {
				l *Leg
				p *peer
			}{{la, caller}, {lb, agent}, {ls, boss}} {
				if err := x.l.Start(LegParams{Remote: x.p.addr(), Codec: PCMU, EventPT: 101}); err != nil {
					b.Fatal(err)
				}
			}
			agent.sendTone(lb.LocalAddr(), PCMU, 0, 400, learnPackets)
			for lb.connected.Load() == nil {
				time.Sleep(time.Millisecond)
			}
			br, err := e.Connect(la, lb, nil)
			if err != nil {
				b.Fatal(err)
			}
			defer br.Disconnect()
			if supervised {
				s, err := e.Supervise(br, ls, SuperviseBarge)
				if err != nil {
					b.Fatal(err)
				}
				s.Stop()
				if la.sink.Load() != br.sa {
					b.Fatal("the two-party path was not restored")
				}
			}
			pkt := make([]byte, 12+FrameSamples)
			tone := Encode(nil, toneSamples(1000, 8000, 0, FrameSamples), PCMU)
			from := caller.addr()
			t0 := time.Now()
			i := 0
			b.ReportAllocs()
			cpu0 := cpuTime()
			for b.Loop() {
				putRTPHeader(pkt, false, 0, uint16(i), uint32(i*FrameSamples), 42)
				copy(pkt[12:], tone)
				la.handle(pkt, from, t0.Add(time.Duration(i)*20*time.Millisecond))
				i++
			}
			b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N), "cpu_ns/op")
		})
	}
}

// BenchmarkMixPacket measures one mixed packet alone: a frame from each
// of two inputs into their jitter buffers (decoded PCM, as the readers
// push it), then the clock's tick: pop both, sum with saturation, encode
// in the receiving leg's codec, send on loopback.
func BenchmarkMixPacket(b *testing.B) {
	for _, c := range []Codec{PCMU, PCMA} {
		b.Run(c.String(), func(b *testing.B) {
			e := newTestEngine(b)
			p := newPeer(b)
			p.conn.SetReadBuffer(4096)
			l, err := e.NewLeg()
			if err != nil {
				b.Fatal(err)
			}
			if err := l.Start(LegParams{Remote: p.addr(), Codec: c}); err != nil {
				b.Fatal(err)
			}
			m := &mixOut{to: l, src: 1 << 63}
			m.setActive(true)
			x := toneSamples(600, 6000, 0, FrameSamples)
			y := toneSamples(1000, 6000, 0, FrameSamples)
			t0 := time.Now()
			i := 0
			b.ReportAllocs()
			cpu0 := cpuTime()
			for b.Loop() {
				ts := uint32(i * FrameSamples)
				m.push(0, 1, ts, x)
				m.push(1, 2, ts, y)
				m.tick(t0.Add(time.Duration(i) * 20 * time.Millisecond))
				i++
			}
			b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N), "cpu_ns/op")
			if s := l.Stats(); b.N > 2 && s.PacketsOut < uint64(b.N-2) { // the jitter buffers hold back 2 frames (prefill)
				b.Fatalf("sent %d mixed packets for %d frames", s.PacketsOut, b.N)
			}
		})
	}
}
