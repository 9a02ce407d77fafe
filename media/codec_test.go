package media

import (
	"testing"

	"github.com/zaf/g711"
)

func TestParseCodec(t *testing.T) {
	tests := []struct {
		in      string
		want    Codec
		wantErr bool
	}{
		{"PCMU", PCMU, false},
		{"pcmu", PCMU, false},
		{"PCMA", PCMA, false},
		{"pCmA", PCMA, false},
		{"G722", CodecUnknown, true},
		{"", CodecUnknown, true},
	}
	for _, tt := range tests {
		got, err := ParseCodec(tt.in)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("ParseCodec(%q) = %v, %v; want %v, err=%v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestCodecStringAndPayloadType(t *testing.T) {
	tests := []struct {
		c  Codec
		s  string
		pt uint8
	}{
		{PCMU, "PCMU", 0},
		{PCMA, "PCMA", 8},
		{CodecUnknown, "unknown", 255},
	}
	for _, tt := range tests {
		if got := tt.c.String(); got != tt.s {
			t.Errorf("Codec(%d).String() = %q, want %q", tt.c, got, tt.s)
		}
		if got := tt.c.PayloadType(); got != tt.pt {
			t.Errorf("Codec(%d).PayloadType() = %d, want %d", tt.c, got, tt.pt)
		}
	}
}

// TestG711RoundTrip checks that every code decodes to a sample that encodes
// back to the same code (except the duplicate zero codes) and that the
// tables agree with zaf/g711.
func TestG711RoundTrip(t *testing.T) {
	for _, c := range []Codec{PCMU, PCMA} {
		for i := range 256 {
			s := decodeTable(c)[i]
			back := Encode(nil, []int16{s}, c)[0]
			if back != byte(i) && !(c == PCMU && i == 0x7F && back == 0xFF) {
				t.Errorf("%v: Encode(Decode(%#x)=%d) = %#x, want %#x", c, i, s, back, i)
			}
		}
	}
	for i := range 256 {
		if got, want := ulawToPCM[i], g711.DecodeUlawFrame(uint8(i)); got != want {
			t.Errorf("ulawToPCM[%d] = %d, want %d", i, got, want)
		}
	}
}

// TestTranscodeKeepsSignal checks PCMU<->PCMA conversion: the decoded
// sample after a conversion stays within one quantization step of the
// original, and A->U->A is the identity for all but the few codes G.711
// itself maps onto one another.
func TestTranscodeKeepsSignal(t *testing.T) {
	for i := range 256 {
		u := []byte{byte(i)}
		Transcode(u, PCMU, PCMA)
		before, after := int(ulawToPCM[i]), int(alawToPCM[u[0]])
		if d := abs(before - after); d > max(abs(before)/16, 16) {
			t.Errorf("PCMU %#x (%d) -> PCMA %#x (%d): error %d too large", i, before, u[0], after, d)
		}
	}
	same := 0
	for i := range 256 {
		a := []byte{byte(i)}
		Transcode(a, PCMA, PCMU)
		Transcode(a, PCMU, PCMA)
		if a[0] == byte(i) {
			same++
		}
	}
	if same < 240 {
		t.Errorf("A->U->A kept %d of 256 codes, want >= 240", same)
	}
	p := []byte{1, 2, 3}
	Transcode(p, PCMU, PCMU)
	if p[0] != 1 || p[1] != 2 || p[2] != 3 {
		t.Errorf("Transcode(PCMU->PCMU) changed the payload: %v", p)
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func BenchmarkTranscode(b *testing.B) {
	p := make([]byte, FrameSamples)
	for i := range p {
		p[i] = byte(i)
	}
	b.ReportAllocs()
	b.SetBytes(FrameSamples)
	for b.Loop() {
		Transcode(p, PCMU, PCMA)
	}
}

func BenchmarkDecodeFrame(b *testing.B) {
	p := make([]byte, FrameSamples)
	dst := make([]int16, 0, FrameSamples)
	b.ReportAllocs()
	for b.Loop() {
		dst = Decode(dst[:0], p, PCMA)
	}
}
