package media

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"time"
)

// WAV (RIFF WAVE) reading for prompts and the header of recordings.

// WAV format tags.
const (
	wavFormatPCM        = 1
	wavFormatALaw       = 6
	wavFormatMuLaw      = 7
	wavFormatExtensible = 0xFFFE
)

// ErrBadPrompt is wrapped by every LoadPrompt error about the file's content.
var ErrBadPrompt = errors.New("unsupported prompt file")

// Prompt is an audio prompt decoded once into ready 20 ms G.711 frames for
// both codecs. It is immutable and safe to play on many legs at once.
type Prompt struct {
	path    string
	samples int
	pcmu    []byte // len is a multiple of FrameSamples; the tail is padded with silence
	pcma    []byte
}

// Duration returns the prompt's length.
func (p *Prompt) Duration() time.Duration {
	return time.Duration(p.samples) * time.Second / 8000
}

// Path returns the file the prompt was loaded from.
func (p *Prompt) Path() string { return p.path }

// Frames returns the prompt encoded in codec c (PCMU or PCMA), exactly
// the payload bytes Play sends, 160 per 20 ms frame. Do not modify it.
func (p *Prompt) Frames(c Codec) []byte { return p.frames(c) }

// frames returns the prompt's payload in codec c.
func (p *Prompt) frames(c Codec) []byte {
	if c == PCMA {
		return p.pcma
	}
	return p.pcmu
}

// NewPrompt builds a prompt from 8 kHz PCM16 samples.
func NewPrompt(name string, samples []int16) *Prompt {
	p := &Prompt{path: name, samples: len(samples)}
	p.pcmu = padFrames(Encode(nil, samples, PCMU), PCMU)
	p.pcma = padFrames(Encode(nil, samples, PCMA), PCMA)
	return p
}

func padFrames(b []byte, c Codec) []byte {
	for len(b)%FrameSamples != 0 {
		b = append(b, c.silence())
	}
	return b
}

// LoadPrompt reads a WAV file: 8 kHz mono, PCM 16-bit, mu-law (format 7) or
// A-law (format 6). Anything else is an error wrapping ErrBadPrompt that
// names the file and what is wrong with it. The audio is decoded once into
// frames for PCMU and PCMA.
func LoadPrompt(path string) (*Prompt, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load prompt: %w", err)
	}
	p, err := parsePromptWAV(path, b)
	if err != nil {
		return nil, fmt.Errorf("load prompt %q: %w", path, err)
	}
	return p, nil
}

func parsePromptWAV(path string, b []byte) (*Prompt, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrBadPrompt}, args...)...)
	}
	if len(b) < 12 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return nil, bad("not a RIFF WAVE file")
	}
	var (
		haveFmt               bool
		format, channels, bps uint16
		rate                  uint32
		data                  []byte
		haveData              bool
	)
	for off := 12; off+8 <= len(b) && !haveData; {
		id := string(b[off : off+4])
		size := int(binary.LittleEndian.Uint32(b[off+4 : off+8]))
		body := b[off+8:]
		if size > len(body) || size < 0 {
			// A writer that died before fixing the header leaves a size
			// that is too large (often 0 or 0xFFFFFFFF for data): take
			// what is there.
			if id != "data" {
				return nil, bad("chunk %q of %d bytes is truncated at %d", id, size, len(body))
			}
			size = len(body)
		}
		body = body[:size]
		switch id {
		case "fmt ":
			if size < 16 {
				return nil, bad("fmt chunk of %d bytes, want at least 16", size)
			}
			format = binary.LittleEndian.Uint16(body[0:2])
			channels = binary.LittleEndian.Uint16(body[2:4])
			rate = binary.LittleEndian.Uint32(body[4:8])
			bps = binary.LittleEndian.Uint16(body[14:16])
			if format == wavFormatExtensible && size >= 26 {
				format = binary.LittleEndian.Uint16(body[24:26]) // sub-format GUID's first two bytes
			}
			haveFmt = true
		case "data":
			data, haveData = body, true
		}
		off += 8 + size + size%2 // chunks are word aligned
	}
	if !haveFmt {
		return nil, bad("no fmt chunk")
	}
	if !haveData {
		return nil, bad("no data chunk")
	}
	if channels != 1 {
		return nil, bad("%d channels, want mono", channels)
	}
	if rate != 8000 {
		return nil, bad("sample rate %d Hz, want 8000 Hz", rate)
	}
	p := &Prompt{path: path}
	switch {
	case format == wavFormatPCM && bps == 16:
		s := make([]int16, len(data)/2)
		for i := range s {
			s[i] = int16(binary.LittleEndian.Uint16(data[2*i:]))
		}
		return NewPrompt(path, s), nil
	case format == wavFormatPCM:
		return nil, bad("PCM with %d bits per sample, want 16", bps)
	case (format == wavFormatMuLaw || format == wavFormatALaw) && bps == 8:
		c, other := PCMU, PCMA
		if format == wavFormatALaw {
			c, other = PCMA, PCMU
		}
		own := padFrames(append([]byte(nil), data...), c)
		conv := make([]byte, len(data))
		copy(conv, data)
		Transcode(conv, c, other)
		conv = padFrames(conv, other)
		p.samples = len(data)
		if c == PCMU {
			p.pcmu, p.pcma = own, conv
		} else {
			p.pcma, p.pcmu = own, conv
		}
		return p, nil
	case format == wavFormatMuLaw || format == wavFormatALaw:
		return nil, bad("G.711 with %d bits per sample, want 8", bps)
	default:
		return nil, bad("audio format %d, want PCM (1), A-law (6) or mu-law (7)", format)
	}
}

// wavHeaderSize is the size of the canonical header the recorder writes.
const wavHeaderSize = 44

// putWAVHeader writes a canonical 44-byte header for 16-bit PCM with the
// given channels and rate, and dataLen bytes of samples.
func putWAVHeader(b []byte, channels, rate int, dataLen uint32) {
	copy(b[0:4], "RIFF")
	binary.LittleEndian.PutUint32(b[4:8], 36+dataLen)
	copy(b[8:16], "WAVEfmt ")
	binary.LittleEndian.PutUint32(b[16:20], 16)
	binary.LittleEndian.PutUint16(b[20:22], wavFormatPCM)
	binary.LittleEndian.PutUint16(b[22:24], uint16(channels))
	binary.LittleEndian.PutUint32(b[24:28], uint32(rate))
	binary.LittleEndian.PutUint32(b[28:32], uint32(rate*channels*2))
	binary.LittleEndian.PutUint16(b[32:34], uint16(channels*2))
	binary.LittleEndian.PutUint16(b[34:36], 16)
	copy(b[36:40], "data")
	binary.LittleEndian.PutUint32(b[40:44], dataLen)
}
