package main

import (
	"math"
	"testing"
)

func TestG711KnownValues(t *testing.T) {
	tests := []struct {
		in   int16
		ulaw byte
		alaw byte
	}{
		{0, 0xff, 0xd5},
		{-1, 0x7f, 0x55},
		{32767, 0x80, 0xaa},
		{-32768, 0x00, 0x2a},
		{1000, 0xce, 0xfa},
	}
	for _, tt := range tests {
		if got := linearToUlaw(tt.in); got != tt.ulaw {
			t.Errorf("linearToUlaw(%d) = %#x, want %#x", tt.in, got, tt.ulaw)
		}
		if got := linearToAlaw(tt.in); got != tt.alaw {
			t.Errorf("linearToAlaw(%d) = %#x, want %#x", tt.in, got, tt.alaw)
		}
	}
}

// TestG711RoundTrip checks every code decodes to a value that encodes back
// to the same code, and that encoding a sample loses at most one step of
// its segment.
func TestG711RoundTrip(t *testing.T) {
	for c := range 256 {
		b := byte(c)
		if v := ulawToLinear(b); linearToUlaw(v) != b && !(b == 0x7f && v == 0) {
			t.Errorf("µ-law %#x decodes to %d which encodes to %#x", b, v, linearToUlaw(v))
		}
		if v := alawToLinear(b); linearToAlaw(v) != b {
			t.Errorf("A-law %#x decodes to %d which encodes to %#x", b, v, linearToAlaw(v))
		}
	}
	for s := -32768; s <= 32767; s += 7 {
		x := int16(s)
		maxErr := math.Max(16, math.Abs(float64(s))/16) // G.711 ≈ 4 bits of mantissa
		if d := math.Abs(float64(ulawToLinear(linearToUlaw(x))) - float64(s)); d > maxErr {
			t.Fatalf("µ-law round trip of %d is off by %.0f (max %.0f)", s, d, maxErr)
		}
		if d := math.Abs(float64(alawToLinear(linearToAlaw(x))) - float64(s)); d > maxErr {
			t.Fatalf("A-law round trip of %d is off by %.0f (max %.0f)", s, d, maxErr)
		}
	}
}

func TestTonePayload(t *testing.T) {
	for _, pt := range []byte{ptPCMU, ptPCMA} {
		p := tonePayload(pt)
		if len(p) != packetSamples {
			t.Fatalf("tonePayload(%d) has %d bytes, want %d", pt, len(p), packetSamples)
		}
		// 8 samples per period: the packet is 20 identical periods, so the
		// next packet continues the phase exactly.
		for i := 8; i < len(p); i++ {
			if p[i] != p[i-8] {
				t.Fatalf("tonePayload(%d)[%d] = %#x, want %#x (period 8)", pt, i, p[i], p[i-8])
			}
		}
		pcm := decodeG711(nil, pt, append(append([]byte{}, p...), p...))
		if share := toneShare(pcm, 1000); share < 0.99 {
			t.Errorf("toneShare(decoded PT %d tone, 1000) = %.3f, want >= 0.99", pt, share)
		}
		if share := toneShare(pcm, 2000); share > 0.01 {
			t.Errorf("toneShare(decoded PT %d tone, 2000) = %.3f, want <= 0.01", pt, share)
		}
		// -6 dBFS: RMS of a sine at 0.5 full scale is 0.3536 (the peers'
		// tone1k file measures 0.3547 by sox).
		var sum float64
		for _, v := range pcm {
			sum += float64(v) * float64(v)
		}
		rms := math.Sqrt(sum/float64(len(pcm))) / 32768
		if rms < 0.34 || rms > 0.37 {
			t.Errorf("RMS of decoded PT %d tone = %.4f, want about 0.354 (-6 dBFS)", pt, rms)
		}
	}
}

func TestToneShareOfOtherSignals(t *testing.T) {
	silence := make([]int16, 160)
	if got := toneShare(silence, 1000); got != 0 {
		t.Errorf("toneShare(silence) = %v, want 0", got)
	}
	if got := toneShare(nil, 1000); got != 0 {
		t.Errorf("toneShare(nil) = %v, want 0", got)
	}
	// 400 Hz: the prompt-like case must not pass as the tone.
	s := make([]int16, 800)
	for i := range s {
		s[i] = int16(10000 * math.Sin(2*math.Pi*400*float64(i)/sampleRate))
	}
	if got := toneShare(s, 1000); got > 0.01 {
		t.Errorf("toneShare(400 Hz, 1000) = %.3f, want <= 0.01", got)
	}
}
