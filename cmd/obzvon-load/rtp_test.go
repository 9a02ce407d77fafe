package main

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"
)

func TestRTPHeaderRoundTrip(t *testing.T) {
	b := make([]byte, packetSize)
	putRTPHeader(b, true, ptPCMA, 65535, 0xdeadbeef, 0x01020304)
	if b[0] != 0x80 || b[1] != 0x88 {
		t.Fatalf("header bytes = %#x %#x, want 0x80 0x88", b[0], b[1])
	}
	h, err := parseRTP(b)
	if err != nil {
		t.Fatal(err)
	}
	want := rtpHeader{pt: ptPCMA, marker: true, seq: 65535, ts: 0xdeadbeef, ssrc: 0x01020304, payloadOff: 12, payloadEnd: packetSize}
	if h != want {
		t.Errorf("parseRTP = %+v, want %+v", h, want)
	}
}

func TestParseRTP(t *testing.T) {
	base := func() []byte {
		b := make([]byte, 12+160)
		putRTPHeader(b, false, 0, 1, 2, 3)
		return b
	}
	withCSRC := base()
	withCSRC[0] |= 2 // two CSRCs
	withExt := append(base()[:12], 0xbe, 0xde, 0, 1, 1, 2, 3, 4)
	withExt = append(withExt, make([]byte, 160)...)
	withExt[0] |= 0x10
	withPad := append(base(), 0, 0, 3) // 3 bytes of padding, the last one counts them
	withPad[0] |= 0x20
	tests := []struct {
		name     string
		b        []byte
		off, end int
		err      error
	}{
		{"plain", base(), 12, 172, nil},
		{"csrc", withCSRC, 20, 172, nil},
		{"extension", withExt, 20, 180, nil},
		{"padding", withPad, 12, 172, nil},
		{"short", base()[:11], 0, 0, errShortRTP},
		{"version 1", append([]byte{0x40}, base()[1:]...), 0, 0, errNotRTP},
		{"extension past end", append([]byte{0x90}, base()[1:13]...), 0, 0, errShortRTP},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := parseRTP(tt.b)
			if !errors.Is(err, tt.err) {
				t.Fatalf("parseRTP err = %v, want %v", err, tt.err)
			}
			if err == nil && (h.payloadOff != tt.off || h.payloadEnd != tt.end) {
				t.Errorf("parseRTP payload = [%d:%d], want [%d:%d]", h.payloadOff, h.payloadEnd, tt.off, tt.end)
			}
		})
	}
}

func TestSeqStreamLoss(t *testing.T) {
	tests := []struct {
		name     string
		seqs     []uint16
		expected uint64
		lost     uint64
		restart  int // index of the packet add must refuse, -1 for none
	}{
		{"in order", []uint16{10, 11, 12, 13}, 4, 0, -1},
		{"one gap", []uint16{10, 11, 13, 14}, 5, 1, -1},
		{"two gaps", []uint16{1, 4, 5, 9}, 9, 5, -1},
		{"wrap", []uint16{65534, 65535, 0, 1}, 4, 0, -1},
		{"gap across wrap", []uint16{65534, 1}, 4, 2, -1},
		{"reordered", []uint16{1, 3, 2, 4}, 4, 0, -1},
		{"late after gap", []uint16{1, 2, 5, 3}, 5, 1, -1},
		{"duplicate", []uint16{1, 2, 2, 3}, 3, 0, -1},
		{"jump restarts", []uint16{1, 2, 9000}, 2, 0, 2},
		{"far back restarts", []uint16{5000, 5001, 100}, 2, 0, 2},
		{"many cycles", seqRange(100, 3*65536+5), 3*65536 + 5, 0, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s seqStream
			for i, q := range tt.seqs {
				ok := s.add(q)
				if !ok != (i == tt.restart) {
					t.Fatalf("add(%d) at %d = %v, want restart at %d", q, i, ok, tt.restart)
				}
				if !ok {
					break
				}
			}
			if got := s.expected(); got != tt.expected {
				t.Errorf("expected() = %d, want %d", got, tt.expected)
			}
			if got := s.lost(); got != tt.lost {
				t.Errorf("lost() = %d, want %d", got, tt.lost)
			}
		})
	}
}

func seqRange(start uint16, n int) []uint16 {
	s := make([]uint16, n)
	for i := range s {
		s[i] = start + uint16(i)
	}
	return s
}

// TestSilentLegThatSent: a leg that streams its tone to a peer that never
// answers is counted silent, as one that sent, with what it sent; a leg
// that got audio back is not.
func TestSilentLegThatSent(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e, err := newEngine("caller", loopback, 1, false)
	if err != nil {
		t.Fatal(err)
	}
	sink, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}) // reads nothing, answers nothing
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	e.run(ctx)
	l := e.newLeg(true)
	if err := l.start(sink.LocalAddr().(*net.UDPAddr).AddrPort(), ptPCMU); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 2048)
	for range 3 { // wait until the leg has sent: three packets at the sink
		_ = sink.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := sink.Read(buf); err != nil {
			t.Fatalf("no RTP from the leg: %v", err)
		}
	}
	l.stop()
	cancel()
	e.close()
	r := e.report()
	if r.Legs != 1 || r.Silent != 1 || r.SilentSent != 1 || r.SilentSentMax < 3 || r.SilentSentMax != r.Sent {
		t.Errorf("legs %d, silent %d, silent that sent %d (max %d), sent %d; want 1, 1, 1 and the leg's >= 3 sent", r.Legs, r.Silent, r.SilentSent, r.SilentSentMax, r.Sent)
	}
}
