package prompts

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"slices"
	"testing"
)

// minRMS is the RMS, as a fraction of full scale, below which a prompt is
// taken for silence. The committed prompts measure 0.055–0.080; a near-silent
// file (dither, a cut-off synthesis) is below 0.001.
const minRMS = 0.02

// wavInfo is what checkWAV reads from a file.
type wavInfo struct {
	samples int
	rms     float64 // fraction of full scale
}

// checkWAV parses a RIFF/WAVE file chunk by chunk and returns an error
// unless it is PCM, mono, 8000 Hz, 16-bit, whole 20 ms frames, and not
// silent.
func checkWAV(b []byte) (wavInfo, error) {
	var info wavInfo
	if len(b) < 12 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return info, errors.New("not a RIFF/WAVE file")
	}
	if got, want := binary.LittleEndian.Uint32(b[4:8]), uint32(len(b)-8); got != want {
		return info, fmt.Errorf("RIFF size %d, want %d (file length - 8)", got, want)
	}
	var haveFmt bool
	var data []byte
	for rest := b[12:]; len(rest) > 0; {
		if len(rest) < 8 {
			return info, fmt.Errorf("truncated chunk header (%d bytes)", len(rest))
		}
		id, size := string(rest[0:4]), int(binary.LittleEndian.Uint32(rest[4:8]))
		if size > len(rest)-8 {
			return info, fmt.Errorf("chunk %q size %d exceeds the file", id, size)
		}
		body := rest[8 : 8+size]
		switch id {
		case "fmt ":
			if size < 16 {
				return info, fmt.Errorf("fmt chunk of %d bytes, want ≥ 16", size)
			}
			format := binary.LittleEndian.Uint16(body[0:2])
			channels := binary.LittleEndian.Uint16(body[2:4])
			rate := binary.LittleEndian.Uint32(body[4:8])
			byteRate := binary.LittleEndian.Uint32(body[8:12])
			align := binary.LittleEndian.Uint16(body[12:14])
			bits := binary.LittleEndian.Uint16(body[14:16])
			if format != 1 || channels != 1 || rate != 8000 || bits != 16 || align != 2 || byteRate != 16000 {
				return info, fmt.Errorf("fmt format=%d channels=%d rate=%d bits=%d align=%d byterate=%d, want 1 1 8000 16 2 16000",
					format, channels, rate, bits, align, byteRate)
			}
			haveFmt = true
		case "data":
			data = body
		}
		rest = rest[8+size+size%2:]
	}
	if !haveFmt {
		return info, errors.New("no fmt chunk")
	}
	if data == nil {
		return info, errors.New("no data chunk")
	}
	if len(data)%320 != 0 {
		return info, fmt.Errorf("data of %d bytes is not whole 20 ms frames (320 bytes)", len(data))
	}
	info.samples = len(data) / 2
	if info.samples == 0 {
		return info, errors.New("no samples")
	}
	var sum float64
	for i := 0; i < len(data); i += 2 {
		s := float64(int16(binary.LittleEndian.Uint16(data[i:]))) / 32768
		sum += s * s
	}
	info.rms = math.Sqrt(sum / float64(info.samples))
	if info.rms < minRMS {
		return info, fmt.Errorf("RMS %.4f of full scale is below %.2f: silent", info.rms, minRMS)
	}
	return info, nil
}

func TestEmbeddedPrompts(t *testing.T) {
	want := append([]string{Busy, EchoIntro, Goodbye, Greeting, Invalid, Menu, QueueGreeting, QueuePosition,
		QueuePositionMany, QueueWait, QueueWaitShort, QueueWaitLong, QueueOverflow, QueueCallback, QueueConnect,
		MusicOnHold}, Numbers()...)
	want = append(want, CampaignPrompts()...)
	slices.Sort(want)
	if got := Names(); !slices.Equal(got, want) {
		t.Fatalf("Names() = %q, want %q", got, want)
	}
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			b, err := fs.ReadFile(FS, Path(name))
			if err != nil {
				t.Fatalf("read %s: %v", Path(name), err)
			}
			info, err := checkWAV(b)
			if err != nil {
				t.Fatalf("checkWAV(%s): %v", Path(name), err)
			}
			// A prompt is a phrase (more than half a second) or a
			// number word (more than 0.4 s), under 15 s.
			minD := 0.5
			if slices.Contains(Numbers(), name) {
				minD = 0.4
			}
			if d := float64(info.samples) / 8000; d < minD || d > 15 {
				t.Errorf("%s lasts %.2f s, want %.1f–15 s", Path(name), d, minD)
			}
			t.Logf("%s: %.2f s, RMS %.4f", Path(name), float64(info.samples)/8000, info.rms)
		})
	}
}

func TestPath(t *testing.T) {
	if got, want := Path(Greeting), "ru/greeting.wav"; got != want {
		t.Errorf("Path(%q) = %q, want %q", Greeting, got, want)
	}
	if _, err := fs.Stat(FS, Path("nonexistent")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Stat(Path(%q)) error = %v, want fs.ErrNotExist", "nonexistent", err)
	}
}

// wav builds a minimal PCM WAV around data with the given fmt fields.
func wav(format, channels uint16, rate uint32, bits uint16, data []byte) []byte {
	var b bytes.Buffer
	le := binary.LittleEndian
	b.WriteString("RIFF")
	binary.Write(&b, le, uint32(36+len(data)))
	b.WriteString("WAVEfmt ")
	align := channels * bits / 8
	for _, v := range []any{uint32(16), format, channels, rate, rate * uint32(align), align, bits} {
		binary.Write(&b, le, v)
	}
	b.WriteString("data")
	binary.Write(&b, le, uint32(len(data)))
	b.Write(data)
	return b.Bytes()
}

// TestCheckWAV shows the checker rejects what it is meant to catch, so a
// pass of TestEmbeddedPrompts means something.
func TestCheckWAV(t *testing.T) {
	loud := make([]byte, 320*50)
	for i := 0; i < len(loud); i += 2 {
		v := int16(8000 * math.Sin(2*math.Pi*float64(i/2)/8))
		binary.LittleEndian.PutUint16(loud[i:], uint16(v))
	}
	quiet := make([]byte, 320*50)
	for i := 0; i < len(quiet); i += 4 { // ±1 LSB dither
		binary.LittleEndian.PutUint16(quiet[i:], 1)
	}
	tests := []struct {
		name    string
		file    []byte
		wantErr bool
	}{
		{"good", wav(1, 1, 8000, 16, loud), false},
		{"silent", wav(1, 1, 8000, 16, make([]byte, 320*50)), true},
		{"dither only", wav(1, 1, 8000, 16, quiet), true},
		{"mu-law", wav(7, 1, 8000, 8, loud), true},
		{"stereo", wav(1, 2, 8000, 16, loud), true},
		{"16 kHz", wav(1, 1, 16000, 16, loud), true},
		{"partial frame", wav(1, 1, 8000, 16, loud[:318]), true},
		{"empty data", wav(1, 1, 8000, 16, nil), true},
		{"not RIFF", append([]byte("RIFX"), wav(1, 1, 8000, 16, loud)[4:]...), true},
		{"truncated", wav(1, 1, 8000, 16, loud)[:1000], true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := checkWAV(tt.file)
			if (err != nil) != tt.wantErr {
				t.Errorf("checkWAV(%s) error = %v, want error: %v", tt.name, err, tt.wantErr)
			}
		})
	}
}
