package main

import "math"

// G.711 (ITU-T G.711) µ-law and A-law, after the reference C code by Sun
// Microsystems (g711.c). Only the tone is encoded at start-up and only
// tests decode, so plain functions are enough here.

// Payload types of the static RTP/AVP profile (RFC 3551 §6).
const (
	ptPCMU = 0
	ptPCMA = 8
)

// Packet timing: 20 ms of 8 kHz audio, one byte per sample in G.711.
const (
	sampleRate    = 8000
	packetSamples = 160
	packetPeriod  = 20 // ms
)

// linearToUlaw encodes one 16-bit linear sample as µ-law.
func linearToUlaw(s int16) byte {
	const bias, clip = 0x84, 32635
	x := int(s)
	sign := 0
	if x < 0 {
		x, sign = -x, 0x80
	}
	if x > clip {
		x = clip
	}
	x += bias
	exp := 7
	for mask := 0x4000; x&mask == 0 && exp > 0; mask >>= 1 {
		exp--
	}
	mant := (x >> (exp + 3)) & 0x0f
	return ^byte(sign | exp<<4 | mant)
}

// ulawToLinear decodes one µ-law byte.
func ulawToLinear(u byte) int16 {
	u = ^u
	t := (int(u&0x0f)<<3 + 0x84) << ((u & 0x70) >> 4)
	if u&0x80 != 0 {
		return int16(0x84 - t)
	}
	return int16(t - 0x84)
}

var alawSegEnd = [8]int{0x1f, 0x3f, 0x7f, 0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff}

// linearToAlaw encodes one 16-bit linear sample as A-law.
func linearToAlaw(s int16) byte {
	pcm := int(s) >> 3
	mask := 0xd5
	if pcm < 0 {
		mask = 0x55
		pcm = -pcm - 1
	}
	seg := 0
	for seg < 8 && pcm > alawSegEnd[seg] {
		seg++
	}
	if seg >= 8 {
		return byte(0x7f ^ mask)
	}
	aval := seg << 4
	if seg < 2 {
		aval |= (pcm >> 1) & 0x0f
	} else {
		aval |= (pcm >> seg) & 0x0f
	}
	return byte(aval ^ mask)
}

// alawToLinear decodes one A-law byte.
func alawToLinear(a byte) int16 {
	a ^= 0x55
	t := int(a&0x0f) << 4
	switch seg := int(a&0x70) >> 4; seg {
	case 0:
		t += 8
	case 1:
		t += 0x108
	default:
		t += 0x108
		t <<= seg - 1
	}
	if a&0x80 != 0 {
		return int16(t)
	}
	return int16(-t)
}

// decodeG711 decodes payload of payload type pt (PCMU or PCMA) into dst,
// which it returns extended.
func decodeG711(dst []int16, pt byte, payload []byte) []int16 {
	for _, b := range payload {
		if pt == ptPCMA {
			dst = append(dst, alawToLinear(b))
		} else {
			dst = append(dst, ulawToLinear(b))
		}
	}
	return dst
}

// toneSamples is one period of the 1 kHz test tone at 8 kHz (8 samples) at
// -6 dBFS, the level of shared/peers/audio/tone1k_8k.ulaw.
func toneSamples() [8]int16 {
	var s [8]int16
	amp := 32767 * math.Pow(10, -6.0/20)
	for i := range s {
		s[i] = int16(math.Round(amp * math.Sin(2*math.Pi*float64(i)/8)))
	}
	return s
}

// tonePayload returns one 20 ms packet of the 1 kHz tone encoded for pt.
// 160 samples hold exactly 20 periods, so every packet is the same and the
// stream loops without a phase jump.
func tonePayload(pt byte) []byte {
	s := toneSamples()
	p := make([]byte, packetSamples)
	for i := range p {
		if pt == ptPCMA {
			p[i] = linearToAlaw(s[i%8])
		} else {
			p[i] = linearToUlaw(s[i%8])
		}
	}
	return p
}

// toneShare returns the share of the signal's energy at freq Hz (Goertzel,
// 8 kHz sampling): 1 for a pure tone of that frequency whose length is a
// whole number of periods, near 0 for silence or other frequencies.
func toneShare(pcm []int16, freq float64) float64 {
	if len(pcm) == 0 {
		return 0
	}
	coeff := 2 * math.Cos(2*math.Pi*freq/sampleRate)
	var s1, s2, energy float64
	for _, v := range pcm {
		x := float64(v)
		energy += x * x
		s0 := x + coeff*s1 - s2
		s2, s1 = s1, s0
	}
	if energy == 0 {
		return 0
	}
	power := s1*s1 + s2*s2 - coeff*s1*s2
	return 2 * power / (float64(len(pcm)) * energy)
}
