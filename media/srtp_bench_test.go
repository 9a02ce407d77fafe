package media

import (
	"testing"
	"time"
)

// BenchmarkForwardSRTP measures the switch's per-packet path with SRTP
// against plain RTP: a packet received on leg a (parse, SRTP check and
// decryption when a is keyed, statistics) is forwarded to leg b (header
// rewrite, encryption when b is keyed, sendto on loopback). "in" is a
// phone on SRTP talking to a trunk on plain RTP, "out" the other
// direction, "both" two keyed legs. The SRTP packets fed to a are made
// beforehand, in chunks, outside the timer.
func BenchmarkForwardSRTP(b *testing.B) {
	for _, tt := range []struct {
		name  string
		suite SRTPSuite
		in    bool // leg a (receiving) is keyed
		out   bool // leg b (sending) is keyed
	}{
		{"plain", 0, false, false},
		{"in/80", AESCM128HMACSHA180, true, false},
		{"out/80", AESCM128HMACSHA180, false, true},
		{"both/80", AESCM128HMACSHA180, true, true},
		{"both/32", AESCM128HMACSHA132, true, true},
	} {
		b.Run(tt.name, func(b *testing.B) {
			e := newTestEngine(b)
			caller, agent := newPeer(b), newPeer(b)
			agent.conn.SetReadBuffer(4096)
			var ka, kb *SRTP
			if tt.in {
				ka = &SRTP{Send: mustKey(b, tt.suite), Recv: mustKey(b, tt.suite)}
			}
			if tt.out {
				kb = &SRTP{Send: mustKey(b, tt.suite), Recv: mustKey(b, tt.suite)}
			}
			la, err := e.NewLeg()
			if err != nil {
				b.Fatal(err)
			}
			lb, err := e.NewLeg()
			if err != nil {
				b.Fatal(err)
			}
			if err := la.Start(LegParams{Remote: caller.addr(), Codec: PCMU, EventPT: 101, SRTP: ka}); err != nil {
				b.Fatal(err)
			}
			if err := lb.Start(LegParams{Remote: agent.addr(), Codec: PCMU, EventPT: 101, SRTP: kb}); err != nil {
				b.Fatal(err)
			}
			// b's socket gets connected once its learning window is over,
			// as in a running call: feed it its peer's packets.
			if kb != nil {
				st, _ := newSRTPTransform(kb.Recv)
				s := &srtpSender{t: st}
				pkt := make([]byte, 12+FrameSamples)
				for i := range learnPackets {
					putRTPHeader(pkt, false, 0, uint16(i), uint32(i*FrameSamples), 99)
					w, _ := s.protect(pkt)
					agent.conn.WriteToUDPAddrPort(w, lb.LocalAddr())
				}
			} else {
				agent.sendTone(lb.LocalAddr(), PCMU, 0, 400, learnPackets)
			}
			for lb.connected.Load() == nil {
				time.Sleep(time.Millisecond)
			}
			br, err := e.Connect(la, lb, nil)
			if err != nil {
				b.Fatal(err)
			}
			defer br.Disconnect()

			tone := Encode(nil, toneSamples(1000, 8000, 0, FrameSamples), PCMU)
			const chunk = 4096
			var src [][]byte // the next packets for a, as they arrive on the wire
			var enc *srtpSender
			if ka != nil {
				st, _ := newSRTPTransform(ka.Recv)
				enc = &srtpSender{t: st}
			}
			plain := make([]byte, 12+FrameSamples)
			make1 := func(i int) []byte {
				putRTPHeader(plain, false, 0, uint16(i), uint32(i*FrameSamples), 42)
				copy(plain[12:], tone)
				if enc == nil {
					return append([]byte(nil), plain...)
				}
				w, _ := enc.protect(plain)
				return append([]byte(nil), w...)
			}
			buf := make([]byte, 1500)
			from := caller.addr()
			t0 := time.Now()
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := cpuTime()
			var cpuPaused time.Duration
			for i := 0; i < b.N; i++ {
				if i%chunk == 0 {
					b.StopTimer()
					c0 := cpuTime()
					src = src[:0]
					for j := range chunk {
						src = append(src, make1(i+j))
					}
					cpuPaused += cpuTime() - c0
					b.StartTimer()
				}
				n := copy(buf, src[i%chunk])
				la.handle(buf[:n], from, t0.Add(time.Duration(i)*20*time.Millisecond))
			}
			b.StopTimer()
			// CPU time as well as wall time: the machine is shared.
			b.ReportMetric(float64((cpuTime()-cpu0-cpuPaused).Nanoseconds())/float64(b.N), "cpu_ns/op")
			if st := la.Stats(); st.SRTPAuthFailed+st.SRTPReplayed != 0 || st.PacketsIn != uint64(b.N) {
				b.Fatalf("leg a: %+v, want %d packets in and no SRTP drops", st, b.N)
			}
		})
	}
}

// BenchmarkSRTPTransform measures the SRTP transform alone on a 20 ms
// G.711 packet (12-byte header, 160-byte payload): protect (encrypt and
// tag) and unprotect (check the tag and the replay window, decrypt).
func BenchmarkSRTPTransform(b *testing.B) {
	for _, suite := range []SRTPSuite{AESCM128HMACSHA180, AESCM128HMACSHA132} {
		k := mustKey(b, suite)
		b.Run("protect/"+suite.String(), func(b *testing.B) {
			st, _ := newSRTPTransform(k)
			s := &srtpSender{t: st}
			pkt := make([]byte, 12+FrameSamples)
			b.ReportAllocs()
			i := 0
			cpu0 := cpuTime()
			for b.Loop() {
				putRTPHeader(pkt, false, 0, uint16(i), uint32(i*FrameSamples), 42)
				if _, err := s.protect(pkt); err != nil {
					b.Fatal(err)
				}
				i++
			}
			b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N), "cpu_ns/op")
		})
		b.Run("unprotect/"+suite.String(), func(b *testing.B) {
			st, _ := newSRTPTransform(k)
			s := &srtpSender{t: st}
			rt, _ := newSRTPTransform(k)
			r := &srtpReceiver{t: rt}
			const n = 1 << 12
			pkts := make([][]byte, n)
			pkt := make([]byte, 12+FrameSamples)
			buf := make([]byte, 1500)
			var h rtpHeader
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := cpuTime()
			var cpuPaused time.Duration
			for i := 0; i < b.N; i++ {
				if i%n == 0 {
					b.StopTimer()
					c0 := cpuTime()
					for j := range pkts {
						putRTPHeader(pkt, false, 0, uint16(i+j), uint32((i+j)*FrameSamples), 42)
						w, _ := s.protect(pkt)
						pkts[j] = append(pkts[j][:0], w...)
					}
					cpuPaused += cpuTime() - c0
					b.StartTimer()
				}
				m := copy(buf, pkts[i%n])
				if _, err := r.unprotect(buf[:m], &h); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64((cpuTime()-cpu0-cpuPaused).Nanoseconds())/float64(b.N), "cpu_ns/op")
		})
	}
}
