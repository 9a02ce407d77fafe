package media

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// RFC 4733 telephone-event payload (§2.3):
//
//	 0                   1                   2                   3
//	|     event     |E|R| volume    |          duration             |
//
// Events 0-9 are the digits, 10 '*', 11 '#', 12-15 'A'-'D' (§3.2).

// dtmfEvents maps event codes 0-15 to digits.
const dtmfEvents = "0123456789*#ABCD"

// errEventShort means a telephone-event payload is shorter than 4 bytes.
var errEventShort = errors.New("telephone-event payload shorter than 4 bytes")

// Event is one RFC 4733 telephone-event payload.
type Event struct {
	Code     uint8  // 0-15 for DTMF
	End      bool   // E bit: the last packets of the event
	Volume   uint8  // 0-63, in -dBm0
	Duration uint16 // in timestamp units since the event's timestamp
}

// Digit returns the DTMF digit of e and whether e is a DTMF event.
func (e Event) Digit() (rune, bool) {
	if int(e.Code) < len(dtmfEvents) {
		return rune(dtmfEvents[e.Code]), true
	}
	return 0, false
}

// ParseEvent parses an RFC 4733 telephone-event payload. Extra bytes
// (redundant events, §2.5.1.4) are ignored.
func ParseEvent(p []byte) (Event, error) {
	if len(p) < 4 {
		return Event{}, errEventShort
	}
	return Event{
		Code:     p[0],
		End:      p[1]&0x80 != 0,
		Volume:   p[1] & 0x3F,
		Duration: binary.BigEndian.Uint16(p[2:4]),
	}, nil
}

// AppendEvent appends the 4-byte encoding of e to b.
func AppendEvent(b []byte, e Event) []byte {
	f := e.Volume & 0x3F
	if e.End {
		f |= 0x80
	}
	return append(b, e.Code, f, byte(e.Duration>>8), byte(e.Duration))
}

// EventCode returns the RFC 4733 event code of a DTMF digit.
func EventCode(digit rune) (uint8, error) {
	for i := range len(dtmfEvents) {
		if rune(dtmfEvents[i]) == digit {
			return uint8(i), nil
		}
	}
	return 0, fmt.Errorf("%q is not a DTMF digit (want 0-9, *, #, A-D)", digit)
}

// eventDeduper fires a digit once per event: on the first packet seen with
// a new (SSRC, timestamp) — the start, an update or an end packet,
// whichever arrives first — and ignores the retransmissions that follow.
type eventDeduper struct {
	have bool
	ssrc uint32
	ts   uint32
}

// packet reports whether an event packet with this source and timestamp
// starts a new event.
func (d *eventDeduper) packet(ssrc, ts uint32) bool {
	if d.have && d.ssrc == ssrc && d.ts == ts {
		return false
	}
	d.have, d.ssrc, d.ts = true, ssrc, ts
	return true
}

// In-band DTMF detection (ITU-T Q.23/Q.24 frequencies) with the Goertzel
// algorithm over 20 ms blocks of 160 samples at 8 kHz.

var (
	dtmfRows = [4]float64{697, 770, 852, 941}
	dtmfCols = [4]float64{1209, 1336, 1477, 1633}
	dtmfKeys = [4][4]rune{
		{'1', '2', '3', 'A'},
		{'4', '5', '6', 'B'},
		{'7', '8', '9', 'C'},
		{'*', '0', '#', 'D'},
	}
	goertzelRow, goertzelCol [4]float64 // 2cos(2πf/fs)
)

func init() {
	for i := range 4 {
		goertzelRow[i] = 2 * math.Cos(2*math.Pi*dtmfRows[i]/8000)
		goertzelCol[i] = 2 * math.Cos(2*math.Pi*dtmfCols[i]/8000)
	}
}

// Detector thresholds.
const (
	// dtmfMinTonePower: each tone's power (mean square) must reach about
	// -36 dBm0 (amplitude ~ 400 of 32767).
	dtmfMinTonePower = 400 * 400 / 2
	// dtmfNormalTwist, dtmfReverseTwist: the column tone may be up to 8 dB
	// weaker and up to 4 dB stronger than the row tone (Q.24 practice).
	dtmfNormalTwist  = 6.3 // 8 dB
	dtmfReverseTwist = 2.5 // 4 dB
	// dtmfRelPeak: the strongest tone of a group must be 8 dB above the
	// others of its group.
	dtmfRelPeak = 6.3
	// dtmfToneShare: the two tones together must hold this share of the
	// block's energy (speech and noise spread theirs).
	dtmfToneShare = 0.6
)

// goertzel returns the power at the frequency of coeff over x, normalised so
// that a sine of amplitude A at that frequency gives about A²/2 (the signal's
// mean square).
func goertzel(x []int16, coeff float64) float64 {
	var s1, s2 float64
	for _, v := range x {
		s := float64(v) + coeff*s1 - s2
		s2, s1 = s1, s
	}
	p := s1*s1 + s2*s2 - coeff*s1*s2
	n := float64(len(x))
	return 2 * p / (n * n)
}

// dtmfBlock classifies one block: the digit present, or 0.
func dtmfBlock(x []int16) rune {
	if len(x) == 0 {
		return 0
	}
	var energy float64
	for _, v := range x {
		f := float64(v)
		energy += f * f
	}
	energy /= float64(len(x)) // mean square
	if energy < 2*dtmfMinTonePower {
		return 0
	}
	var row, col [4]float64
	r, c := 0, 0
	for i := range 4 {
		row[i] = goertzel(x, goertzelRow[i])
		col[i] = goertzel(x, goertzelCol[i])
		if row[i] > row[r] {
			r = i
		}
		if col[i] > col[c] {
			c = i
		}
	}
	pr, pc := row[r], col[c]
	switch {
	case pr < dtmfMinTonePower || pc < dtmfMinTonePower:
		return 0
	case pc > pr*dtmfReverseTwist || pr > pc*dtmfNormalTwist:
		return 0
	case (pr+pc)/energy < dtmfToneShare:
		return 0
	}
	for i := range 4 {
		if (i != r && row[i]*dtmfRelPeak > pr) || (i != c && col[i]*dtmfRelPeak > pc) {
			return 0
		}
	}
	return dtmfKeys[r][c]
}

// ToneDetector finds DTMF digits in a stream of 8 kHz PCM16 audio. A digit
// is reported once when it has been present in two consecutive 20 ms
// blocks (40 ms, the Q.24 minimum), and again only after a block without
// it. The zero value is ready to use; it is not safe for concurrent use.
type ToneDetector struct {
	buf   [FrameSamples]int16
	n     int
	last  rune // digit of the previous block
	fired bool
}

// Feed processes samples and calls emit for every digit detected.
func (d *ToneDetector) Feed(samples []int16, emit func(rune)) {
	for len(samples) > 0 {
		k := copy(d.buf[d.n:], samples)
		d.n += k
		samples = samples[k:]
		if d.n < len(d.buf) {
			return
		}
		d.n = 0
		digit := dtmfBlock(d.buf[:])
		switch {
		case digit == 0 || digit != d.last:
			d.fired = false
		case !d.fired:
			d.fired = true
			emit(digit)
		}
		d.last = digit
	}
}
