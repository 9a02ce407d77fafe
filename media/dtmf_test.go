package media

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestEventRoundTrip(t *testing.T) {
	tests := []Event{
		{Code: 0, End: false, Volume: 10, Duration: 160},
		{Code: 11, End: true, Volume: 63, Duration: 65535},
		{Code: 15, End: true, Volume: 0, Duration: 800},
	}
	for _, e := range tests {
		b := AppendEvent(nil, e)
		got, err := ParseEvent(b)
		if err != nil || got != e {
			t.Errorf("ParseEvent(AppendEvent(%+v)) = %+v, %v", e, got, err)
		}
	}
	// Wire case from RFC 4733 §2.3 layout: digit 5, end, volume 10, duration 1000.
	got, err := ParseEvent([]byte{0x05, 0x8A, 0x03, 0xE8})
	if want := (Event{Code: 5, End: true, Volume: 10, Duration: 1000}); err != nil || got != want {
		t.Errorf("ParseEvent(05 8A 03 E8) = %+v, %v; want %+v", got, err, want)
	}
	if _, err := ParseEvent([]byte{1, 2, 3}); err != errEventShort {
		t.Errorf("ParseEvent(3 bytes) error = %v, want %v", err, errEventShort)
	}
}

func TestEventDigits(t *testing.T) {
	for i, want := range "0123456789*#ABCD" {
		code, err := EventCode(want)
		if err != nil || int(code) != i {
			t.Errorf("EventCode(%q) = %d, %v; want %d", want, code, err, i)
		}
		if got, ok := (Event{Code: uint8(i)}).Digit(); !ok || got != want {
			t.Errorf("Event{Code: %d}.Digit() = %q, %v; want %q", i, got, ok, want)
		}
	}
	if _, ok := (Event{Code: 16}).Digit(); ok {
		t.Errorf("Event{Code: 16}.Digit() ok = true, want false (flash is not a digit)")
	}
	if _, err := EventCode('E'); err == nil {
		t.Errorf("EventCode('E') error = nil, want an error")
	}
}

func TestEventDeduper(t *testing.T) {
	var d eventDeduper
	seq := []struct {
		ssrc, ts uint32
		want     bool
	}{
		{1, 1000, true},  // start of '5'
		{1, 1000, false}, // update
		{1, 1000, false}, // end
		{1, 1000, false}, // end retransmission
		{1, 2600, true},  // next digit
		{2, 2600, true},  // another source, same timestamp
	}
	for i, s := range seq {
		if got := d.packet(s.ssrc, s.ts); got != s.want {
			t.Errorf("packet %d (ssrc %d ts %d) new = %v, want %v", i, s.ssrc, s.ts, got, s.want)
		}
	}
}

// dtmfSignal synthesizes digits, each on for onMs and off for offMs, at
// amplitude amp per tone, passed through G.711 mu-law like real audio.
func dtmfSignal(digits string, onMs, offMs int, amp float64, lead int) []int16 {
	out := make([]int16, lead)
	for _, d := range digits {
		var fr, fc float64
		for r := range 4 {
			for c := range 4 {
				if dtmfKeys[r][c] == d {
					fr, fc = dtmfRows[r], dtmfCols[c]
				}
			}
		}
		for i := range onMs * 8 {
			x := float64(i) / 8000
			out = append(out, int16(amp*math.Sin(2*math.Pi*fr*x)+amp*math.Sin(2*math.Pi*fc*x)))
		}
		out = append(out, make([]int16, offMs*8)...)
	}
	return Decode(nil, Encode(nil, out, PCMU), PCMU)
}

func detect(samples []int16, chunk int) string {
	var d ToneDetector
	var got []rune
	for len(samples) > 0 {
		n := min(chunk, len(samples))
		d.Feed(samples[:n], func(r rune) { got = append(got, r) })
		samples = samples[n:]
	}
	return string(got)
}

func TestToneDetectorAllDigits(t *testing.T) {
	const all = "123A456B789C*0#D"
	tests := []struct {
		name    string
		on, off int
		amp     float64
		lead    int
		chunk   int
	}{
		{"aligned -10 dBm0", 60, 60, 5000, 0, 160},
		{"misaligned odd chunks", 50, 50, 5000, 37, 97},
		{"quiet -25 dBm0", 60, 60, 1000, 11, 160},
		{"long presses", 400, 100, 8000, 0, 160},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := detect(dtmfSignal(all, tt.on, tt.off, tt.amp, tt.lead), tt.chunk)
			if got != all {
				t.Errorf("detected %q, want %q", got, all)
			}
		})
	}
}

func TestToneDetectorTwist(t *testing.T) {
	// Row tone 12 dB stronger than the column tone: beyond the 8 dB twist.
	var s []int16
	for i := range 800 {
		x := float64(i) / 8000
		s = append(s, int16(8000*math.Sin(2*math.Pi*697*x)+2000*math.Sin(2*math.Pi*1209*x)))
	}
	if got := detect(s, 160); got != "" {
		t.Errorf("12 dB twist detected %q, want nothing", got)
	}
}

func TestToneDetectorNoFalseDigits(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 8000 * 10 // 10 s each
	tone := make([]int16, n)
	noise := make([]int16, n)
	speech := make([]int16, n)
	var phase float64
	for i := range n {
		x := float64(i) / 8000
		tone[i] = int16(12000 * math.Sin(2*math.Pi*1000*x))
		noise[i] = int16(rng.NormFloat64() * 4000)
		// Speech-like: a glottal pulse train (pitch gliding 90-250 Hz, so
		// its harmonics sweep across the DTMF frequencies) with syllabic
		// amplitude modulation at 4 Hz and some breath noise.
		f0 := 170 + 80*math.Sin(2*math.Pi*0.7*x)
		phase += 2 * math.Pi * f0 / 8000
		var v float64
		for h := 1; h <= 20; h++ {
			v += math.Sin(float64(h)*phase) / float64(h)
		}
		env := 0.5 + 0.5*math.Sin(2*math.Pi*4*x)
		speech[i] = int16(env*5000*v + rng.NormFloat64()*300)
	}
	tests := []struct {
		name string
		x    []int16
	}{
		{"1 kHz tone", tone},
		{"white noise", noise},
		{"speech-like harmonics", speech},
		{"silence", make([]int16, n)},
	}
	for _, tt := range tests {
		if got := detect(Decode(nil, Encode(nil, tt.x, PCMA), PCMA), 160); got != "" {
			t.Errorf("%s: detected %q, want no digits", tt.name, got)
		}
	}
}

func BenchmarkToneDetector(b *testing.B) {
	s := dtmfSignal("5", 20, 0, 5000, 0)[:FrameSamples]
	var d ToneDetector
	b.ReportAllocs()
	for b.Loop() {
		d.Feed(s, func(rune) {})
	}
}
