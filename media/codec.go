package media

import (
	"fmt"
	"strings"

	"github.com/zaf/g711"
)

// Codec is an audio codec a leg can carry. Only the two G.711 laws are
// supported: the appliance offers nothing else.
type Codec uint8

const (
	// CodecUnknown is the zero value: no codec negotiated.
	CodecUnknown Codec = iota
	// PCMU is G.711 mu-law, static payload type 0 (RFC 3551).
	PCMU
	// PCMA is G.711 A-law, static payload type 8 (RFC 3551).
	PCMA
)

// FrameSamples is the number of samples (and G.711 bytes) in one 20 ms frame
// at 8 kHz, the packetization the engine sends.
const FrameSamples = 160

// String returns the SDP encoding name ("PCMU", "PCMA") or "unknown".
func (c Codec) String() string {
	switch c {
	case PCMU:
		return "PCMU"
	case PCMA:
		return "PCMA"
	default:
		return "unknown"
	}
}

// PayloadType returns the static RTP payload type of c (0 for PCMU, 8 for
// PCMA). It returns 255 for CodecUnknown, which is not a valid payload type.
func (c Codec) PayloadType() uint8 {
	switch c {
	case PCMU:
		return 0
	case PCMA:
		return 8
	default:
		return 255
	}
}

// silence returns the G.711 code of a zero sample in c.
func (c Codec) silence() byte {
	if c == PCMA {
		return 0xD5
	}
	return 0xFF
}

// ParseCodec parses an SDP encoding name, case-insensitively: "PCMU" or
// "PCMA". Anything else is an error naming the value.
func ParseCodec(name string) (Codec, error) {
	switch strings.ToUpper(strings.TrimSpace(name)) {
	case "PCMU":
		return PCMU, nil
	case "PCMA":
		return PCMA, nil
	}
	return CodecUnknown, fmt.Errorf("unsupported codec %q: want PCMU or PCMA", name)
}

// Lookup tables, built once from zaf/g711 (ITU-T G.711 conversion tables).
var (
	ulawToPCM  [256]int16
	alawToPCM  [256]int16
	ulawToAlaw [256]byte
	alawToUlaw [256]byte
)

func init() {
	for i := range 256 {
		ulawToPCM[i] = g711.DecodeUlawFrame(uint8(i))
		alawToPCM[i] = g711.DecodeAlawFrame(uint8(i))
		ulawToAlaw[i] = g711.Ulaw2AlawFrame(uint8(i))
		alawToUlaw[i] = g711.Alaw2UlawFrame(uint8(i))
	}
}

// decodeTable returns the 256-entry decode table of c.
func decodeTable(c Codec) *[256]int16 {
	if c == PCMA {
		return &alawToPCM
	}
	return &ulawToPCM
}

// Transcode converts G.711 payload p from codec from to codec to in place
// through a 256-entry table. It does nothing when the codecs are equal or
// either is unknown.
func Transcode(p []byte, from, to Codec) {
	var t *[256]byte
	switch {
	case from == PCMU && to == PCMA:
		t = &ulawToAlaw
	case from == PCMA && to == PCMU:
		t = &alawToUlaw
	default:
		return
	}
	for i, b := range p {
		p[i] = t[b]
	}
}

// Decode appends the linear PCM16 samples of G.711 payload p in codec c to dst.
func Decode(dst []int16, p []byte, c Codec) []int16 {
	t := decodeTable(c)
	for _, b := range p {
		dst = append(dst, t[b])
	}
	return dst
}

// Encode appends the G.711 encoding in codec c of the PCM16 samples to dst.
func Encode(dst []byte, samples []int16, c Codec) []byte {
	if c == PCMA {
		for _, s := range samples {
			dst = append(dst, g711.EncodeAlawFrame(s))
		}
		return dst
	}
	for _, s := range samples {
		dst = append(dst, g711.EncodeUlawFrame(s))
	}
	return dst
}
