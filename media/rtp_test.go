package media

import (
	"testing"
	"time"

	"github.com/pion/rtp"
)

// feed runs a synthetic sequence through rxStats; every packet carries
// 160 samples and arrives at its nominal time plus the given delay.
type pkt struct {
	seq   uint16
	ts    uint32
	delay uint32 // extra arrival delay in timestamp units
}

func TestRTPLoss(t *testing.T) {
	seqRun := func(start uint16, n int, skip ...uint16) []pkt {
		var out []pkt
	next:
		for i := range n {
			s := start + uint16(i)
			for _, k := range skip {
				if s == k {
					continue next
				}
			}
			out = append(out, pkt{seq: s, ts: uint32(s) * 160})
		}
		return out
	}
	tests := []struct {
		name     string
		pkts     []pkt
		wantLost int64
		wantExp  int64
	}{
		{"in order", seqRun(100, 50), 0, 49},
		{"two lost", seqRun(100, 50, 120, 130), 2, 49},
		{"wrap at 65535", seqRun(65500, 100), 0, 99},
		{"wrap with loss", seqRun(65500, 100, 65535, 0, 1), 3, 99},
		{"reordered", []pkt{{seq: 1}, {seq: 2}, {seq: 3}, {seq: 5}, {seq: 4}, {seq: 6}}, 0, 5},
		{"reordered across wrap", []pkt{{seq: 65533}, {seq: 65534}, {seq: 0}, {seq: 65535}, {seq: 1}}, 0, 4},
		{"duplicate", []pkt{{seq: 1}, {seq: 2}, {seq: 3}, {seq: 3}, {seq: 4}}, -1, 3},
		{"restart accepted after two sequential", []pkt{{seq: 1}, {seq: 2}, {seq: 3}, {seq: 40000}, {seq: 40001}, {seq: 40002}}, 0, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r rxStats
			for _, p := range tt.pkts {
				r.packet(1234, p.seq, p.ts, p.ts+p.delay, true)
			}
			if got := r.lost(); got != tt.wantLost {
				t.Errorf("lost() = %d, want %d", got, tt.wantLost)
			}
			if got := r.src.expected(); got != tt.wantExp {
				t.Errorf("expected() = %d, want %d", got, tt.wantExp)
			}
		})
	}
}

func TestRTPLossAcrossSources(t *testing.T) {
	var r rxStats
	for _, s := range []uint16{1, 2, 3, 5, 6} { // one lost
		r.packet(1, s, 0, 0, true)
	}
	for _, s := range []uint16{900, 901, 903, 904} { // one lost
		r.packet(2, s, 0, 0, true)
	}
	if got := r.lost(); got != 2 {
		t.Errorf("lost() over two sources = %d, want 2", got)
	}
}

func TestRTPJitter(t *testing.T) {
	tests := []struct {
		name   string
		delays []uint32 // per packet, timestamp units
		want   time.Duration
		tol    time.Duration
	}{
		{"constant delay", []uint32{5, 5, 5, 5, 5, 5, 5, 5, 5, 5}, 0, 0},
		// Alternating 0/80 (10 ms): |D| = 80 every packet, so J converges to 80 units = 10 ms.
		{"alternating 10 ms", alternate(400, 0, 80), 10 * time.Millisecond, 250 * time.Microsecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r rxStats
			for i, d := range tt.delays {
				ts := uint32(i) * 160
				r.packet(7, uint16(i), ts, ts+d, true)
			}
			got := r.src.jitterDuration(8000)
			if got < tt.want-tt.tol || got > tt.want+tt.tol {
				t.Errorf("jitter = %v, want %v ± %v", got, tt.want, tt.tol)
			}
		})
	}
}

// TestRTPJitterOneStep checks the A.8 recursion by hand for one step:
// J starts at 0, one transit difference of 160 gives J = 160/16 = 10 units.
func TestRTPJitterOneStep(t *testing.T) {
	var s seqState
	s.updateJitter(1000, 0)
	s.updateJitter(1160+160, 160) // transit grew by 160
	if got := s.jitter >> 4; got != 10 {
		t.Errorf("jitter after one step = %d units, want 10", got)
	}
}

func alternate(n int, a, b uint32) []uint32 {
	out := make([]uint32, n)
	for i := range out {
		if i%2 == 1 {
			out[i] = b
		} else {
			out[i] = a
		}
	}
	return out
}

func TestParseRTPAgainstPion(t *testing.T) {
	h := rtp.Header{Version: 2, Marker: true, PayloadType: 8, SequenceNumber: 65535,
		Timestamp: 0xDEADBEEF, SSRC: 0x01020304, CSRC: []uint32{5, 6}}
	if err := h.SetExtension(1, []byte{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	p := rtp.Packet{Header: h, Payload: []byte{9, 9, 9, 9}, PaddingSize: 3}
	p.Padding = true
	b, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	got, err := parseRTP(b)
	if err != nil {
		t.Fatalf("parseRTP: %v", err)
	}
	if !got.marker || got.pt != 8 || got.seq != 65535 || got.ts != 0xDEADBEEF || got.ssrc != 0x01020304 {
		t.Errorf("parseRTP header = %+v, want the marshaled fields", got)
	}
	if pl := b[got.payloadOff:got.payloadEnd]; string(pl) != string(p.Payload) {
		t.Errorf("parseRTP payload = %v, want %v", pl, p.Payload)
	}
}

func TestParseRTPErrors(t *testing.T) {
	tests := []struct {
		name string
		b    []byte
		want error
	}{
		{"short", []byte{0x80, 0, 0}, errRTPShort},
		{"version 1", append([]byte{0x40}, make([]byte, 11)...), errRTPVersion},
		{"csrc beyond end", append([]byte{0x83}, make([]byte, 11)...), errRTPShort},
		{"extension beyond end", append([]byte{0x90, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9}, make([]byte, 4)...), errRTPShort},
		{"padding larger than packet", append([]byte{0xA0}, append(make([]byte, 11), 200)...), errRTPShort},
	}
	for _, tt := range tests {
		if _, err := parseRTP(tt.b); err != tt.want {
			t.Errorf("parseRTP(%s) = %v, want %v", tt.name, err, tt.want)
		}
	}
}

// FuzzParseRTP checks that parseRTP never panics and agrees with pion/rtp
// on every packet both accept.
func FuzzParseRTP(f *testing.F) {
	f.Add([]byte{0x80, 0x00, 0x00, 0x01, 0, 0, 0, 160, 0, 0, 0, 1, 0xFF, 0xFF})
	f.Add([]byte{0x90, 0x65, 0xFF, 0xFF, 0, 0, 0, 0, 1, 2, 3, 4, 0xBE, 0xDE, 0, 1, 0x10, 1, 0, 0, 7})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := parseRTP(b)
		var p rtp.Packet
		perr := p.Unmarshal(b)
		if err != nil || perr != nil {
			return
		}
		if h.pt != p.PayloadType || h.seq != p.SequenceNumber || h.ts != p.Timestamp || h.ssrc != p.SSRC || h.marker != p.Marker {
			t.Fatalf("parseRTP = %+v, pion = %+v", h, p.Header)
		}
		if got := b[h.payloadOff:h.payloadEnd]; string(got) != string(p.Payload) {
			t.Fatalf("payload = %x, pion = %x", got, p.Payload)
		}
	})
}

func BenchmarkParseRTP(b *testing.B) {
	pk := make([]byte, 172)
	putRTPHeader(pk, false, 0, 1, 160, 42)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := parseRTP(pk); err != nil {
			b.Fatal(err)
		}
	}
}
