package media

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoadPrompt(t *testing.T) {
	tests := []struct {
		file    string
		samples int
	}{
		{"prompt_ru_8k_s16.wav", 24320},
		{"prompt_ru_8k_ulaw.wav", 24320},
		{"tone1k_8k_ulaw.wav", 16000},
		{"tone_alaw_short.wav", 2000},
	}
	for _, tt := range tests {
		p, err := LoadPrompt(filepath.Join("testdata", tt.file))
		if err != nil {
			t.Errorf("LoadPrompt(%q) error = %v", tt.file, err)
			continue
		}
		if got, want := p.Duration(), time.Duration(tt.samples)*time.Second/8000; got != want {
			t.Errorf("LoadPrompt(%q).Duration() = %v, want %v", tt.file, got, want)
		}
		frames := (tt.samples + FrameSamples - 1) / FrameSamples
		if len(p.pcmu) != frames*FrameSamples || len(p.pcma) != frames*FrameSamples {
			t.Errorf("LoadPrompt(%q) frames: %d PCMU / %d PCMA bytes, want %d", tt.file, len(p.pcmu), len(p.pcma), frames*FrameSamples)
		}
	}
}

// TestLoadPromptCodecs checks that both codecs' frames carry the same audio:
// the tone file decodes to a 1 kHz tone in PCMU and PCMA.
func TestLoadPromptCodecs(t *testing.T) {
	for _, f := range []string{"tone1k_8k_ulaw.wav", "tone_alaw_short.wav"} {
		p, err := LoadPrompt(filepath.Join("testdata", f))
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []Codec{PCMU, PCMA} {
			s := Decode(nil, p.frames(c)[:1600], c)
			if !hasTone(s, 1000) {
				t.Errorf("LoadPrompt(%q) %v frames: no 1 kHz tone", f, c)
			}
		}
	}
}

func TestLoadPromptErrors(t *testing.T) {
	tests := []struct {
		file string
		want string
	}{
		{"bad_rate16k.wav", "sample rate 16000 Hz, want 8000 Hz"},
		{"bad_stereo.wav", "2 channels, want mono"},
		{"bad_8bit.wav", "PCM with 8 bits per sample, want 16"},
		{"bad_float.wav", "audio format 3, want PCM (1), A-law (6) or mu-law (7)"},
		{"bad_not_riff.wav", "not a RIFF WAVE file"},
		{"bad_truncated.wav", `chunk "fmt " of 16 bytes is truncated at 10`},
	}
	for _, tt := range tests {
		path := filepath.Join("testdata", tt.file)
		_, err := LoadPrompt(path)
		if err == nil {
			t.Errorf("LoadPrompt(%q) error = nil, want %q", tt.file, tt.want)
			continue
		}
		if !errors.Is(err, ErrBadPrompt) || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), path) {
			t.Errorf("LoadPrompt(%q) error = %q, want ErrBadPrompt naming the file and %q", tt.file, err, tt.want)
		}
	}
	if _, err := LoadPrompt(filepath.Join("testdata", "missing.wav")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("LoadPrompt(missing) error = %v, want os.ErrNotExist", err)
	}
}

// readStereoWAV reads a recording and checks its header.
func readStereoWAV(t *testing.T, path string) (left, right []int16) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < wavHeaderSize || string(b[0:4]) != "RIFF" || string(b[8:16]) != "WAVEfmt " || string(b[36:40]) != "data" {
		t.Fatalf("%s: not a canonical WAV header: % x", path, b[:min(len(b), 44)])
	}
	le := binary.LittleEndian
	if f, ch, rate, bits := le.Uint16(b[20:]), le.Uint16(b[22:]), le.Uint32(b[24:]), le.Uint16(b[34:]); f != 1 || ch != 2 || rate != 8000 || bits != 16 {
		t.Fatalf("%s: format %d, %d channels, %d Hz, %d bits; want PCM stereo 8000 Hz 16 bits", path, f, ch, rate, bits)
	}
	dataLen := le.Uint32(b[40:])
	if riff := le.Uint32(b[4:]); riff != 36+dataLen || int(dataLen) != len(b)-wavHeaderSize {
		t.Fatalf("%s: RIFF size %d, data size %d, file %d bytes: sizes do not match the file", path, riff, dataLen, len(b))
	}
	for i := wavHeaderSize; i+4 <= len(b); i += 4 {
		left = append(left, int16(le.Uint16(b[i:])))
		right = append(right, int16(le.Uint16(b[i+2:])))
	}
	return left, right
}

// toneFrame returns n samples of a sine at freq Hz, amplitude amp, phase
// continuing from sample index start.
func toneSamples(freq float64, amp float64, start, n int) []int16 {
	s := make([]int16, n)
	for i := range s {
		s[i] = int16(amp * math.Sin(2*math.Pi*freq*float64(start+i)/8000))
	}
	return s
}

// hasTone reports whether freq holds most of the energy of x.
func hasTone(x []int16, freq float64) bool {
	var energy float64
	for _, v := range x {
		energy += float64(v) * float64(v)
	}
	energy /= float64(len(x))
	if energy < 100*100 {
		return false
	}
	p := goertzel(x, 2*math.Cos(2*math.Pi*freq/8000))
	return p/energy > 0.8
}

// isSilent reports whether x carries no more than G.711 idle noise.
func isSilent(x []int16) bool {
	for _, v := range x {
		if v > 64 || v < -64 {
			return false
		}
	}
	return true
}

func TestRecorderGolden(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rec.wav")
	r, err := NewRecorder(path)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 27, 3, 0, 0, 0, time.UTC)
	enc := func(c Codec, freq float64, start int) []byte {
		return Encode(nil, toneSamples(freq, 8000, start, 40), c)
	}
	// 5 ms packets (40 samples) to keep the golden file small. Left: PCMU
	// 1 kHz, packet 2 lost. Right: PCMA 400 Hz starting 10 ms later.
	for i := range 6 {
		if i == 2 {
			continue
		}
		r.write(0, PCMU, enc(PCMU, 1000, i*40), 111, 1000+uint32(i*40), t0.Add(time.Duration(i)*5*time.Millisecond))
	}
	for i := range 4 {
		r.write(1, PCMA, enc(PCMA, 400, i*40), 222, 90000+uint32(i*40), t0.Add(10*time.Millisecond+time.Duration(i)*5*time.Millisecond))
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Errorf("second Close() = %v, want nil", err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "recorder_golden.wav")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("recording differs from %s (run with -update after checking)", golden)
	}
	left, right := readStereoWAV(t, path)
	if len(left) != 240 {
		t.Fatalf("recording has %d frames, want 240 (30 ms)", len(left))
	}
	if !isSilent(left[80:120]) {
		t.Errorf("left frames 80-120 (lost packet) are not silent: %v", left[80:120])
	}
	if isSilent(left[0:80]) || isSilent(left[120:240]) {
		t.Errorf("left channel lost audio around the gap")
	}
	if !isSilent(right[0:80]) || isSilent(right[80:240]) {
		t.Errorf("right channel: want silence for the first 10 ms and audio after")
	}
}

// TestRecorderOnDiskWhileRecording checks crash safety: while a long call
// is being recorded, the file on disk is a valid WAV whose sizes match
// its length and which lags the audio by at most one second.
func TestRecorderOnDiskWhileRecording(t *testing.T) {
	path := filepath.Join(t.TempDir(), "live.wav")
	r, err := NewRecorder(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	t0 := time.Now()
	const packets = 5 * 50 // 5 s
	for i := range packets {
		p := Encode(nil, toneSamples(1000, 8000, i*160, 160), PCMU)
		r.write(0, PCMU, p, 1, uint32(i*160), t0.Add(time.Duration(i)*20*time.Millisecond))
	}
	r.drain() // the writer is asynchronous
	left, _ := readStereoWAV(t, path)
	if lag := packets*160 - len(left); lag < 0 || lag > 8000 {
		t.Errorf("file holds %d frames of %d recorded: lag %d, want 0..8000 (1 s)", len(left), packets*160, lag)
	}
	if !hasTone(left[:1600], 1000) {
		t.Errorf("file on disk does not hold the tone")
	}
}

func TestRecorderAlignsLateChannel(t *testing.T) {
	// The right channel's first packet arrives 2 s into the call; its
	// audio must start 2 s into the file even though its RTP timestamps
	// start from an unrelated random value.
	path := filepath.Join(t.TempDir(), "align.wav")
	r, err := NewRecorder(path)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	for i := range 150 { // 3 s left
		r.write(0, PCMU, Encode(nil, toneSamples(1000, 8000, i*160, 160), PCMU), 1, 7777+uint32(i*160), t0.Add(time.Duration(i)*20*time.Millisecond))
	}
	for i := range 50 { // 1 s right, from 2 s
		r.write(1, PCMU, Encode(nil, toneSamples(400, 8000, i*160, 160), PCMU), 2, 0xFFFFFF00+uint32(i*160), t0.Add(2*time.Second+time.Duration(i)*20*time.Millisecond))
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	left, right := readStereoWAV(t, path)
	if len(left) != 24000 {
		t.Fatalf("recording has %d frames, want 24000", len(left))
	}
	if !isSilent(right[:16000]) || !hasTone(right[16000:24000], 400) || !hasTone(left[:24000], 1000) {
		t.Errorf("right channel is not silent for 2 s then a 400 Hz tone")
	}
}

func TestWAVHeaderGolden(t *testing.T) {
	var h [wavHeaderSize]byte
	putWAVHeader(h[:], 2, 8000, 32000)
	want := "RIFF\x24\x7d\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x02\x00\x40\x1f\x00\x00\x00\x7d\x00\x00\x04\x00\x10\x00data\x00\x7d\x00\x00"
	if string(h[:]) != want {
		t.Errorf("putWAVHeader = %q, want %q", h[:], want)
	}
}

func BenchmarkRecorderWrite(b *testing.B) {
	r, err := NewRecorder(filepath.Join(b.TempDir(), "bench.wav"))
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	p := Encode(nil, toneSamples(1000, 8000, 0, 160), PCMU)
	t0 := time.Now()
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		r.write(i&1, PCMU, p, uint32(i&1), uint32(i/2*160), t0.Add(time.Duration(i/2)*20*time.Millisecond))
		i++
	}
}

// FuzzParsePromptWAV checks that no file makes the prompt parser panic and
// that what it accepts is whole frames of audio.
func FuzzParsePromptWAV(f *testing.F) {
	for _, name := range []string{"tone_alaw_short.wav", "bad_truncated.wav", "bad_stereo.wav"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b[:min(len(b), 400)])
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := parsePromptWAV("fuzz.wav", b)
		if err != nil {
			return
		}
		if len(p.pcmu) != len(p.pcma) || len(p.pcmu)%FrameSamples != 0 {
			t.Fatalf("accepted prompt with %d/%d bytes of frames", len(p.pcmu), len(p.pcma))
		}
	})
}

// TestRecorderLongSilence checks a two-minute pause (both sides on hold):
// the audio after it lands two minutes in, with silence before it, and the
// RTP timestamps that ignored the pause do not pull it back.
func TestRecorderLongSilence(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hold.wav")
	r, err := NewRecorder(path)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	tone := Encode(nil, toneSamples(1000, 8000, 0, 1600), PCMU)
	r.write(0, PCMU, tone, 5, 0, t0)
	r.write(0, PCMU, tone, 5, 1600, t0.Add(2*time.Minute)) // timestamps resume where they stopped
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	left, right := readStereoWAV(t, path)
	const at = 2 * 60 * 8000
	if len(left) != at+1600 {
		t.Fatalf("recording has %d frames, want %d", len(left), at+1600)
	}
	if !hasTone(left[:1600], 1000) || !hasTone(left[at:], 1000) || !isSilent(left[1600:at]) || !isSilent(right) {
		t.Errorf("want tone, two minutes of silence, tone on the left and silence on the right")
	}
}

// TestRecorderSlowDisk checks that a disk that stops keeping up costs
// audio, not the packet path: writes never block, the audio that did not
// fit is dropped as silence, and Close says so and leaves a valid file.
func TestRecorderSlowDisk(t *testing.T) {
	path := filepath.Join(t.TempDir(), "slow.wav")
	r, err := NewRecorder(path)
	if err != nil {
		t.Fatal(err)
	}
	r.stall = make(chan struct{})
	t0 := time.Now()
	const packets = 10 * 50 // 10 s, more than the queue holds
	for i := range packets {
		p := Encode(nil, toneSamples(1000, 8000, i*160, 160), PCMU)
		r.write(0, PCMU, p, 1, uint32(i*160), t0.Add(time.Duration(i)*20*time.Millisecond))
	}
	close(r.stall) // the disk comes back
	err = r.Close()
	if !errors.Is(err, ErrRecordingIncomplete) {
		t.Fatalf("Close() = %v, want ErrRecordingIncomplete", err)
	}
	left, _ := readStereoWAV(t, path)
	if len(left) != packets*160 {
		t.Fatalf("recording has %d frames, want %d (dropped audio kept as silence)", len(left), packets*160)
	}
	if !hasTone(left[:4000], 1000) || !hasTone(left[len(left)-4000:], 1000) {
		t.Errorf("the queued start and the final second should hold the tone")
	}
	if !isSilent(left[6*8000 : 7*8000]) {
		t.Errorf("dropped audio is not silence")
	}
}

// TestRecorderInBackground checks that a recorder whose file is created
// by its writer records the same file as NewRecorder, creating its
// directory, and that a file it cannot create is Close's error.
func TestRecorderInBackground(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Date(2026, 11, 27, 3, 0, 0, 0, time.UTC)
	record := func(r *Recorder) {
		for i := range 60 {
			r.write(0, PCMU, Encode(nil, toneSamples(1000, 8000, i*FrameSamples, FrameSamples), PCMU), 111, uint32(i*FrameSamples), t0.Add(time.Duration(i)*20*time.Millisecond))
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
	}
	want := filepath.Join(dir, "want.wav")
	r, err := NewRecorder(want)
	if err != nil {
		t.Fatal(err)
	}
	record(r)
	sub := filepath.Join(dir, "2026", "11")
	got := filepath.Join(sub, "got.wav")
	record(newRecorderInBackground(got, sub))
	a, err := os.ReadFile(want)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(got)
	if err != nil {
		t.Fatal(err)
	}
	if len(a) < 60*FrameSamples*4 || string(a) != string(b) {
		t.Errorf("recording made in the background: %d bytes, differs from NewRecorder's %d bytes", len(b), len(a))
	}

	// A plain file where the directory should be: nothing is recorded and
	// Close says why.
	blocker := filepath.Join(dir, "blocker")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	bad := newRecorderInBackground(filepath.Join(blocker, "x", "bad.wav"), filepath.Join(blocker, "x"))
	bad.write(0, PCMU, Encode(nil, toneSamples(1000, 8000, 0, FrameSamples), PCMU), 111, 0, t0)
	if err := bad.Close(); err == nil || !strings.Contains(err.Error(), "create recording") {
		t.Errorf("Close() of a recording that could not be created = %v, want a create recording error", err)
	}
}
