package media

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// amdSample is one labelled recording of scripts/make-amd-set.sh.
type amdSample struct {
	file, desc string
	label      AMDVerdict
	samples    []int16 // 8 kHz PCM, through G.711 as a trunk carries it
}

// amdSetOf makes the labelled set of the given split with
// scripts/make-amd-set.sh (espeak-ng and sox) in a temporary directory
// and loads it, every other file through A-law, the rest µ-law. Outside
// CI a missing tool skips the test; under CI=true it fails it.
func amdSetOf(t testing.TB, split string) []amdSample {
	t.Helper()
	for _, tool := range []string{"bash", "espeak-ng", "sox"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s not found under CI=true (scripts/install-test-deps.sh installs it): %v", tool, err)
			}
			t.Skipf("%s not found (scripts/install-test-deps.sh installs it): %v", tool, err)
		}
	}
	dir := t.TempDir()
	out, err := exec.Command("bash", filepath.Join("..", "scripts", "make-amd-set.sh"), dir, split).CombinedOutput()
	if err != nil {
		t.Fatalf("make-amd-set.sh %s: %v\n%s", split, err, out)
	}
	f, err := os.Open(filepath.Join(dir, "labels.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var set []amdSample
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		cols := strings.SplitN(sc.Text(), "\t", 3)
		if len(cols) != 3 {
			t.Fatalf("labels.tsv line %q: want file, label, description", sc.Text())
		}
		label, err := ParseAMDVerdict(cols[1])
		if err != nil {
			t.Fatalf("labels.tsv: %v", err)
		}
		p, err := LoadPrompt(filepath.Join(dir, cols[0]))
		if err != nil {
			t.Fatal(err)
		}
		c := PCMU
		if len(set)%2 == 1 {
			c = PCMA
		}
		set = append(set, amdSample{file: cols[0], desc: cols[2], label: label, samples: Decode(nil, p.frames(c), c)})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(set) == 0 {
		t.Fatalf("make-amd-set.sh %s made no recordings", split)
	}
	return set
}

// amdReport is the detector's confusion matrix on a labelled set.
type amdReport struct {
	n         int
	correct   int
	confusion [3][3]int        // [label][verdict]
	timeSum   [3]time.Duration // decision time summed per label
	lines     []string         // one per recording
}

func evaluateAMD(t testing.TB, set []amdSample, cfg AMDConfig) amdReport {
	t.Helper()
	var r amdReport
	for _, s := range set {
		res, err := DetectMachineIn(s.samples, cfg)
		if err != nil {
			t.Fatal(err)
		}
		r.n++
		r.confusion[s.label][res.Verdict]++
		r.timeSum[s.label] += res.DecidedAfter
		mark := "ok"
		if res.Verdict == s.label {
			r.correct++
		} else {
			mark = "WRONG"
		}
		r.lines = append(r.lines, fmt.Sprintf("%-5s %-10s %-7s → %-7s %5.2f s  %s  [%s]", mark, s.file, s.label, res.Verdict, res.DecidedAfter.Seconds(), res.Reason, s.desc))
	}
	return r
}

func (r amdReport) accuracy() float64 { return float64(r.correct) / float64(r.n) }

func (r amdReport) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "accuracy %d/%d = %.1f%%\n", r.correct, r.n, 100*r.accuracy())
	fmt.Fprintf(&b, "%-16s %8s %8s %8s %8s %14s\n", "label \\ verdict", "unknown", "human", "machine", "total", "mean decision")
	var all time.Duration
	for l := range 3 {
		tot := r.confusion[l][0] + r.confusion[l][1] + r.confusion[l][2]
		mean := 0.0
		if tot > 0 {
			mean = r.timeSum[l].Seconds() / float64(tot)
		}
		all += r.timeSum[l]
		fmt.Fprintf(&b, "%-16s %8d %8d %8d %8d %12.2f s\n", AMDVerdict(l), r.confusion[l][0], r.confusion[l][1], r.confusion[l][2], tot, mean)
	}
	fmt.Fprintf(&b, "mean decision time over all %d: %.2f s\n", r.n, all.Seconds()/float64(r.n))
	for _, l := range r.lines {
		b.WriteString(l + "\n")
	}
	return b.String()
}

// TestAMDAccuracy measures answering-machine detection with the default
// thresholds on the held-out split of scripts/make-amd-set.sh and asserts
// a floor. The full report (confusion matrix, mean decision time, every
// recording's verdict and reason):
//
//	go test -run 'TestAMDAccuracy$' -v ./media
//
// AMD_SPLIT=dev reports on the split the defaults were tuned on.
func TestAMDAccuracy(t *testing.T) {
	split := "test"
	if s := os.Getenv("AMD_SPLIT"); s != "" {
		split = s
	}
	r := evaluateAMD(t, amdSetOf(t, split), AMDConfig{})
	t.Logf("AMD on the %q split of scripts/make-amd-set.sh, default AMDConfig:\n%s", split, r)
	if acc := r.accuracy(); acc < 0.85 {
		t.Errorf("accuracy %.1f%%, want at least 85%%", 100*acc)
	}
	// The costly mistakes: hanging up on a person (at most one, the hard
	// case of a long greeting), and connecting an operator to ringback or
	// silence as if a person were there (none).
	if n := r.confusion[AMDHuman][AMDMachine]; n > 1 {
		t.Errorf("%d people taken for machines, want at most 1", n)
	}
	if n := r.confusion[AMDUnknown][AMDHuman]; n > 0 {
		t.Errorf("%d recordings of ringback, silence or noise taken for people, want none", n)
	}
}

// Synthetic signals for the rules' unit tests (no external tools).

// voiceLike returns sec seconds of a voice-like sound at peak amplitude
// amp: twelve harmonics of a 140 Hz voice with vibrato, under a syllable
// envelope that never falls silent. A single-sinusoid predictor cannot
// follow it, so it is voice, not tone.
func voiceLike(sec, amp float64) []int16 {
	n := int(sec * 8000)
	out := make([]int16, n)
	phase := 0.0
	for i := range out {
		t := float64(i) / 8000
		f0 := 140 * (1 + 0.05*math.Sin(2*math.Pi*5*t))
		phase += 2 * math.Pi * f0 / 8000
		var v float64
		for k := 1; k <= 12; k++ {
			v += math.Sin(float64(k)*phase) / float64(k)
		}
		env := 0.5 + 0.5*math.Abs(math.Sin(2*math.Pi*3*t))
		out[i] = int16(amp * env * v / 2.2)
	}
	return out
}

func silenceOf(sec float64) []int16 { return make([]int16, int(sec*8000)) }

func toneOfLen(hz, sec, amp float64) []int16 { return toneSamples(hz, amp, 0, int(sec*8000)) }

// noiseUnder adds white noise of the given RMS to x (a fixed seed).
func noiseUnder(x []int16, rms float64) []int16 {
	r := rand.New(rand.NewPCG(1, 2))
	out := make([]int16, len(x))
	for i, v := range x {
		out[i] = int16(max(min(float64(v)+r.NormFloat64()*rms, 32767), -32768))
	}
	return out
}

func concat(parts ...[]int16) []int16 {
	var out []int16
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func TestAMDRules(t *testing.T) {
	var words []int16
	for range 8 {
		words = concat(words, voiceLike(0.15, 12000), silenceOf(0.1))
	}
	tests := []struct {
		name     string
		signal   []int16
		cfg      AMDConfig
		want     AMDVerdict
		reason   string  // first word of Reason
		at, slop float64 // expected decision time (s) and tolerance
	}{
		{"short hello, then silence", concat(silenceOf(0.4), voiceLike(0.5, 12000), silenceOf(4)), AMDConfig{}, AMDHuman, "short", 1.7, 0.06},
		{"hello over noise", noiseUnder(concat(silenceOf(0.6), voiceLike(0.6, 10000), silenceOf(4)), 300), AMDConfig{}, AMDHuman, "short", 2.0, 0.1},
		{"long greeting", concat(silenceOf(0.3), voiceLike(4, 12000)), AMDConfig{}, AMDMachine, "long", 2.1, 0.06},
		{"many short words", concat(silenceOf(0.3), words), AMDConfig{}, AMDMachine, "words", 1.4, 0.06},
		{"beep after a short greeting", concat(silenceOf(0.3), voiceLike(1, 12000), silenceOf(0.3), toneOfLen(1000, 0.5, 8000), silenceOf(3)), AMDConfig{}, AMDMachine, "beep", 1.74, 0.06},
		{"ringback", concat(silenceOf(0.2), toneOfLen(425, 1, 8000), silenceOf(4)), AMDConfig{}, AMDUnknown, "silence", 2.5, 0.03},
		{"silence", silenceOf(6), AMDConfig{}, AMDUnknown, "silence", 2.5, 0.03},
		{"line noise", noiseUnder(silenceOf(6), 200), AMDConfig{}, AMDUnknown, "silence", 2.5, 0.03},
		{"silence as a machine", silenceOf(6), AMDConfig{InitialSilenceVerdict: AMDMachine, InitialSilence: time.Second}, AMDMachine, "silence", 1, 0.03},
		{"late hello", concat(silenceOf(2.8), voiceLike(0.5, 12000), silenceOf(3)), AMDConfig{}, AMDUnknown, "silence", 2.5, 0.03},
		{"late hello, longer initial silence", concat(silenceOf(2.8), voiceLike(0.5, 12000), silenceOf(3)), AMDConfig{InitialSilence: 3500 * time.Millisecond}, AMDHuman, "short", 4.1, 0.06},
		{"ringing, then a long greeting", concat(toneOfLen(425, 1, 8000), silenceOf(0.5), voiceLike(3, 12000)), AMDConfig{}, AMDMachine, "long", 3.3, 0.06},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DetectMachineIn(tt.signal, tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if got.Verdict != tt.want || !strings.HasPrefix(got.Reason, tt.reason) {
				t.Errorf("DetectMachineIn = %v (%q), want %v (%s...)", got.Verdict, got.Reason, tt.want, tt.reason)
			}
			if d := got.DecidedAfter.Seconds() - tt.at; d < -tt.slop || d > tt.slop {
				t.Errorf("decided after %v, want %.2f s ± %.2f", got.DecidedAfter, tt.at, tt.slop)
			}
		})
	}
}

func TestAMDConfigErrors(t *testing.T) {
	tests := []struct {
		name  string
		cfg   AMDConfig
		field string
	}{
		{"negative duration", AMDConfig{Greeting: -time.Second}, "Greeting"},
		{"duration under a frame", AMDConfig{MinWord: 5 * time.Millisecond}, "MinWord"},
		{"negative words", AMDConfig{MaxWords: -1}, "MaxWords"},
		{"positive level", AMDConfig{MinVoiceLevel: 3}, "MinVoiceLevel"},
		{"negative SNR", AMDConfig{VoiceSNR: -1}, "VoiceSNR"},
		{"verdict out of range", AMDConfig{InitialSilenceVerdict: 9}, "InitialSilenceVerdict"},
		{"max time too short", AMDConfig{MaxTime: 2 * time.Second}, "MaxTime"},
	}
	for _, tt := range tests {
		_, err := DetectMachineIn(nil, tt.cfg)
		if err == nil || !strings.Contains(err.Error(), tt.field) {
			t.Errorf("DetectMachineIn(%s) error = %v, want one naming %s", tt.name, err, tt.field)
		}
	}
	c, err := AMDConfig{}.withDefaults()
	if err != nil || c != DefaultAMDConfig() {
		t.Errorf("zero AMDConfig = %+v, %v; want the defaults", c, err)
	}
}

func TestAMDVerdictStringParse(t *testing.T) {
	tests := []struct {
		v    AMDVerdict
		name string
	}{
		{AMDUnknown, "unknown"},
		{AMDHuman, "human"},
		{AMDMachine, "machine"},
		{AMDVerdict(7), "unknown"},
	}
	for _, tt := range tests {
		if got := tt.v.String(); got != tt.name {
			t.Errorf("AMDVerdict(%d).String() = %q, want %q", tt.v, got, tt.name)
		}
	}
	parse := []struct {
		in      string
		want    AMDVerdict
		wantErr bool
	}{
		{"human", AMDHuman, false},
		{"MACHINE", AMDMachine, false},
		{" unknown ", AMDUnknown, false},
		{"fax", AMDUnknown, true},
		{"", AMDUnknown, true},
	}
	for _, tt := range parse {
		got, err := ParseAMDVerdict(tt.in)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("ParseAMDVerdict(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

// sendSignal sends PCM as 20 ms packets in codec c paced by the clock, as
// a phone does, from a goroutine (errors are returned, not fatal).
//
// Frames go out on a schedule from the first one, as a phone's sound card
// clocks them: a sender late by a stall of this process catches up at
// once instead of shifting the rest of the signal (a ticker drops the
// ticks it missed, which once cut a 0.8 s hole into a machine's greeting
// and made it a person's short hello on a loaded machine).
func (p *peer) sendSignal(to netip.AddrPort, c Codec, pcm []int16) error {
	start := time.Now()
	for i := 0; i+FrameSamples <= len(pcm); i += FrameSamples {
		if err := p.sendRaw(to, c.PayloadType(), i == 0, Encode(nil, pcm[i:i+FrameSamples], c), FrameSamples); err != nil {
			return err
		}
		time.Sleep(time.Until(start.Add(time.Duration(i/FrameSamples+1) * 20 * time.Millisecond)))
	}
	return nil
}

// TestDetectMachineOnBridgedLeg runs detection over RTP on two answered
// legs that are bridged to operators and recorded meanwhile: a person's
// short hello and a machine's long greeting are told apart, and the
// bridge and the recording get every packet as without detection.
func TestDetectMachineOnBridgedLeg(t *testing.T) {
	e := newTestEngine(t)
	tests := []struct {
		name   string
		codec  Codec
		signal []int16
		want   AMDVerdict
	}{
		{"human", PCMU, concat(silenceOf(0.4), voiceLike(0.5, 12000), silenceOf(1.6)), AMDHuman},
		{"machine", PCMA, concat(silenceOf(0.3), voiceLike(2.2, 12000)), AMDMachine},
	}
	type outcome struct {
		res AMDResult
		err error
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			far, op := newPeer(t), newPeer(t)
			a := startLeg(t, e, LegParams{Remote: far.addr(), Codec: tt.codec, PayloadType: tt.codec.PayloadType()})
			b := startLeg(t, e, LegParams{Remote: op.addr(), Codec: PCMU})
			rec, err := e.NewCallRecorder("amd-"+tt.name, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			br, err := e.Connect(a, b, rec)
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan outcome, 1)
			go func() {
				r, err := e.DetectMachine(context.Background(), a, AMDConfig{})
				done <- outcome{r, err}
			}()
			for a.amd.Load() == nil {
				time.Sleep(time.Millisecond) // wait for the tap (a ready signal)
			}
			if _, err := e.DetectMachine(context.Background(), a, AMDConfig{}); !errors.Is(err, ErrAMDRunning) {
				t.Errorf("a second DetectMachine on the leg = %v, want ErrAMDRunning", err)
			}
			sent := make(chan error, 1)
			go func() { sent <- far.sendSignal(a.LocalAddr(), tt.codec, tt.signal) }()
			got := op.recv(len(tt.signal) / FrameSamples)
			if err := <-sent; err != nil {
				t.Fatal(err)
			}
			o := <-done
			t.Logf("DetectMachine = %v after %v: %s", o.res.Verdict, o.res.DecidedAfter, o.res.Reason)
			if o.err != nil || o.res.Verdict != tt.want {
				t.Errorf("DetectMachine = %+v, %v; want %v", o.res, o.err, tt.want)
			}
			if o.res.DecidedAfter <= 0 || o.res.Reason == "" {
				t.Errorf("DetectMachine result %+v: want a decision time and a reason", o.res)
			}
			if a.amd.Load() != nil {
				t.Errorf("the tap is still on the leg after DetectMachine returned")
			}
			// The operator got the far end's audio, packet for packet and
			// byte for byte (through the PCMA to PCMU table if need be).
			for i, pk := range got {
				want := Encode(nil, tt.signal[i*FrameSamples:(i+1)*FrameSamples], tt.codec)
				Transcode(want, tt.codec, PCMU)
				if string(pk.Payload) != string(want) {
					t.Fatalf("operator's packet %d differs from what the far end sent", i)
				}
			}
			br.Disconnect()
			if err := rec.Close(); err != nil {
				t.Fatal(err)
			}
			left, _ := readStereoWAV(t, rec.Path())
			if lv, sv := frameLevel(left), frameLevel(tt.signal); math.Abs(lv-sv) > 1 {
				t.Errorf("recording's left channel %.1f dBFS, the far end sent %.1f dBFS", lv, sv)
			}
		})
	}
}

// TestDetectMachineWithoutAudio checks that time without packets counts
// as silence (the wall clock decides), and the errors.
func TestDetectMachineWithoutAudio(t *testing.T) {
	e := newTestEngine(t)
	l := startLeg(t, e, LegParams{Remote: newPeer(t).addr(), Codec: PCMU})
	cfg := AMDConfig{InitialSilence: 300 * time.Millisecond, Greeting: 300 * time.Millisecond, MaxTime: time.Second}
	r, err := e.DetectMachine(context.Background(), l, cfg)
	if err != nil || r.Verdict != AMDUnknown || !strings.HasPrefix(r.Reason, "silence") {
		t.Errorf("DetectMachine with no RTP = %+v, %v; want unknown, silence", r, err)
	}
	if r.DecidedAfter < 300*time.Millisecond {
		t.Errorf("decided after %v, before the %v of initial silence", r.DecidedAfter, cfg.InitialSilence)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := e.DetectMachine(ctx, l, AMDConfig{}); !errors.Is(err, context.Canceled) {
		t.Errorf("DetectMachine with a cancelled context = %v, want context.Canceled", err)
	}
	if _, err := e.DetectMachine(context.Background(), l, AMDConfig{MaxWords: -1}); err == nil || !strings.Contains(err.Error(), "MaxWords") {
		t.Errorf("DetectMachine with a bad config = %v, want an error naming MaxWords", err)
	}
	notStarted, err := e.NewLeg()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.DetectMachine(context.Background(), notStarted, AMDConfig{}); !errors.Is(err, ErrLegNotStarted) {
		t.Errorf("DetectMachine on a leg not started = %v, want ErrLegNotStarted", err)
	}
	res := make(chan error, 1)
	go func() {
		_, err := e.DetectMachine(context.Background(), l, AMDConfig{})
		res <- err
	}()
	for l.amd.Load() == nil {
		time.Sleep(time.Millisecond)
	}
	l.Close()
	if err := <-res; !errors.Is(err, ErrLegClosed) {
		t.Errorf("DetectMachine when the leg closes = %v, want ErrLegClosed", err)
	}
	if _, err := e.DetectMachine(context.Background(), l, AMDConfig{}); !errors.Is(err, ErrLegClosed) {
		t.Errorf("DetectMachine on a closed leg = %v, want ErrLegClosed", err)
	}
}

// BenchmarkAMDFrame measures the detector on one 20 ms frame of speech
// (the dearest case: silent frames skip the tone predictor); 50 frames
// make a second of a call under detection.
func BenchmarkAMDFrame(b *testing.B) {
	speech := voiceLike(1, 12000)
	d := newAMDDetector(DefaultAMDConfig())
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if d.decided {
			d = newAMDDetector(DefaultAMDConfig())
		}
		k := (i % 50) * FrameSamples
		d.feed(speech[k : k+FrameSamples])
		i++
	}
}
