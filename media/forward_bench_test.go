package media

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkForward measures the switch's per-packet path in process: parse,
// statistics, recording, transcoding, header rewrite and the sendto on
// loopback (the far peer does not read; the kernel drops what overflows).
func BenchmarkForward(b *testing.B) {
	tests := []struct {
		name   string
		to     Codec
		record bool
	}{
		{"same codec", PCMU, false},
		{"transcode", PCMA, false},
		{"transcode+record", PCMA, true},
	}
	for _, tt := range tests {
		for _, workers := range []int{-1, 0} {
			b.Run(fmt.Sprintf("%s/readers=%s", tt.name, readerName(workers)), func(b *testing.B) {
				testWorkers = workers
				defer func() { testWorkers = 0 }()
				e := newTestEngine(b)
				caller, agent := newPeer(b), newPeer(b)
				agent.conn.SetReadBuffer(4096)
				la, err := e.NewLeg()
				if err != nil {
					b.Fatal(err)
				}
				lb, err := e.NewLeg()
				if err != nil {
					b.Fatal(err)
				}
				if err := la.Start(LegParams{Remote: caller.addr(), Codec: PCMU, EventPT: 101}); err != nil {
					b.Fatal(err)
				}
				if err := lb.Start(LegParams{Remote: agent.addr(), Codec: tt.to, EventPT: 101}); err != nil {
					b.Fatal(err)
				}
				// Let b's learning window pass so its socket gets connected,
				// as in a running call.
				agent.sendTone(lb.LocalAddr(), tt.to, tt.to.PayloadType(), 400, learnPackets)
				for lb.connected.Load() == nil {
					time.Sleep(time.Millisecond)
				}
				var rec *Recorder
				if tt.record {
					if rec, err = NewRecorder(filepath.Join(b.TempDir(), "f.wav")); err != nil {
						b.Fatal(err)
					}
					defer rec.Close()
				}
				br, err := e.Connect(la, lb, rec)
				if err != nil {
					b.Fatal(err)
				}
				defer br.Disconnect()
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
				// CPU time as well as wall time: the machine is shared.
				b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N), "cpu_ns/op")
			})
		}
	}
}

// readerName names an EngineConfig.Workers value in benchmark names.
func readerName(workers int) string {
	if workers == -1 {
		return "leg"
	}
	return "epoll"
}

// FuzzLegHandle feeds arbitrary datagrams through a bridged, recorded leg
// with telephone-event and in-band detection on: nothing may panic.
func FuzzLegHandle(f *testing.F) {
	e := newTestEngine(f)
	caller, agent := newPeer(f), newPeer(f)
	la, err := e.NewLeg()
	if err != nil {
		f.Fatal(err)
	}
	lb, err := e.NewLeg()
	if err != nil {
		f.Fatal(err)
	}
	if err := la.Start(LegParams{Remote: caller.addr(), Codec: PCMU, EventPT: 101}); err != nil {
		f.Fatal(err)
	}
	if err := lb.Start(LegParams{Remote: agent.addr(), Codec: PCMA}); err != nil {
		f.Fatal(err)
	}
	rec, err := NewRecorder(filepath.Join(f.TempDir(), "fuzz.wav"))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { rec.Close() })
	if _, err := e.Connect(la, lb, rec); err != nil {
		f.Fatal(err)
	}
	la.DTMF()
	f.Add([]byte{0x80, 0x00, 0x00, 0x01, 0, 0, 0, 160, 0, 0, 0, 1, 0xFF, 0xFF})
	f.Add([]byte{0x80, 0xE5, 0x12, 0x34, 0, 0, 0x10, 0, 0xDE, 0xAD, 0xBE, 0xEF, 0x05, 0x8A, 0x03, 0xE8})
	f.Add([]byte{0xB2, 0x00, 0xFF, 0xFF, 0, 0, 0, 0, 1, 2, 3, 4, 0, 0, 0, 5, 0, 0, 0, 6, 0xBE, 0xDE, 0, 1, 0x10, 1, 0, 0, 7, 0, 2})
	from := caller.addr()
	f.Fuzz(func(t *testing.T, b []byte) {
		la.handle(append([]byte(nil), b...), from, time.Now())
	})
}
