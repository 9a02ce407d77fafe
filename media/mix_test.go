package media

import (
	"math/rand/v2"
	"testing"
)

// ramp returns n samples valued from, from+1, ... so that a test can see
// which samples came out where.
func ramp(from, n int) []int16 {
	s := make([]int16, n)
	for i := range s {
		s[i] = int16(from + i)
	}
	return s
}

// popAll pops k frames and returns them concatenated, with whether each
// held audio.
func popAll(j *jitterBuf, k int) ([]int16, []bool) {
	var out []int16
	var ok []bool
	for range k {
		var f [FrameSamples]int16
		ok = append(ok, j.pop(&f))
		out = append(out, f[:]...)
	}
	return out, ok
}

func TestJitterBufInOrderAndReordered(t *testing.T) {
	var j jitterBuf
	const ts0 = 4294967000 // wraps during the test
	// Packets 0, 2, 1, 3: the reordered one still lands in its place.
	for _, k := range []int{0, 2, 1, 3} {
		j.push(7, ts0+uint32(k*FrameSamples), ramp(1+k*FrameSamples, FrameSamples))
	}
	out, ok := popAll(&j, 5)
	want := ramp(1, 4*FrameSamples)
	for i, v := range want {
		if out[i] != v {
			t.Fatalf("sample %d = %d, want %d", i, out[i], v)
		}
	}
	if !ok[3] || ok[4] {
		t.Errorf("pop results %v: want audio for 4 frames, then none", ok)
	}
	if j.underruns != 1 || j.playing {
		t.Errorf("after draining: underruns %d, playing %v; want 1, false", j.underruns, j.playing)
	}
}

func TestJitterBufPrefillAndLoss(t *testing.T) {
	var j jitterBuf
	j.push(1, 0, ramp(1, FrameSamples))
	var f [FrameSamples]int16
	if j.pop(&f) {
		t.Fatalf("pop after 20 ms buffered = audio, want silence until %d samples (prefill)", jbPrefill)
	}
	// Packet 1 lost: packet 2 makes the prefill, and the gap plays as
	// silence between packets 0 and 2.
	j.push(1, 2*FrameSamples, ramp(1000, FrameSamples))
	out, ok := popAll(&j, 3)
	if !ok[0] || !ok[1] || !ok[2] {
		t.Fatalf("pops = %v, want audio, gap, audio", ok)
	}
	if out[0] != 1 || out[FrameSamples] != 0 || out[2*FrameSamples-1] != 0 || out[2*FrameSamples] != 1000 {
		t.Errorf("frames = %d.., %d..%d, %d..; want the first packet, silence, then the third", out[0], out[FrameSamples], out[2*FrameSamples-1], out[2*FrameSamples])
	}
	// A packet whose place has been played is dropped.
	j.push(1, FrameSamples, ramp(5, FrameSamples))
	if j.late != 1 {
		t.Errorf("late = %d after a packet behind the play point, want 1", j.late)
	}
}

func TestJitterBufOverflowDropsOldest(t *testing.T) {
	var j jitterBuf
	n := jbMax/FrameSamples + 2
	for k := range n {
		j.push(1, uint32(k*FrameSamples), ramp(k*FrameSamples, FrameSamples))
	}
	if d := j.depth(); d > jbMax || d < jbTarget {
		t.Fatalf("depth after a burst of %d frames = %d, want %d..%d", n, d, jbTarget, jbMax)
	}
	if j.dropped == 0 {
		t.Errorf("dropped = 0 after a burst past %d samples", jbMax)
	}
	// What remains is the newest audio, in order.
	var f [FrameSamples]int16
	j.pop(&f)
	if want := int16(n*FrameSamples - j.depth() - FrameSamples); f[0] != want {
		t.Errorf("first sample after the overflow = %d, want %d (the oldest kept)", f[0], want)
	}
}

func TestJitterBufRestarts(t *testing.T) {
	var j jitterBuf
	j.push(1, 1000, ramp(1, 2*FrameSamples))
	// A new SSRC restarts at its own timestamps.
	j.push(2, 9, ramp(500, 2*FrameSamples))
	var f [FrameSamples]int16
	if !j.pop(&f) || f[0] != 500 {
		t.Fatalf("after an SSRC change, first sample = %d, want 500", f[0])
	}
	// A timestamp jump of more than a second restarts there (what was
	// left of the old timeline is dropped).
	j.push(2, 9+2*FrameSamples+50000, ramp(700, 2*FrameSamples))
	if !j.pop(&f) || f[0] != 700 {
		t.Errorf("after a timestamp jump, first sample = %d, want 700", f[0])
	}
	// Idle after a gap: the next talkspurt starts afresh, not after a
	// second of silence.
	popAll(&j, 3)
	j.push(2, 9+2*FrameSamples+50000+2*FrameSamples+4000, ramp(900, 2*FrameSamples))
	if !j.pop(&f) || f[0] != 900 {
		t.Errorf("a talkspurt after a pause starts with %d, want 900", f[0])
	}
	j.reset()
	if j.pop(&f) || f != [FrameSamples]int16{} {
		t.Errorf("pop after reset returned audio")
	}
	for i, v := range j.ring {
		if v != 0 {
			t.Fatalf("ring[%d] = %d after reset, want 0", i, v)
		}
	}
}

func TestMixSaturates(t *testing.T) {
	var a, b [FrameSamples]int16
	a[0], b[0] = 30000, 10000
	a[1], b[1] = -30000, -10000
	a[2], b[2] = 1234, -234
	mixSat(&a, &b)
	if a[0] != 32767 || a[1] != -32768 || a[2] != 1000 {
		t.Errorf("mixSat = %d, %d, %d; want 32767, -32768, 1000", a[0], a[1], a[2])
	}
}

// TestJitterBufDelay simulates a source sending a frame every 20 ms with
// random lateness, and the mixer's clock ticking every 20 ms at an
// unrelated phase: every frame is played once and in order, and the wait
// from a frame's arrival to its tick is what mix.go states.
func TestJitterBufDelay(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, jitter := range []float64{0, 10, 18} {
		var all, worst float64
		var n, trims int
		for _, phase := range []float64{0.5, 4, 7, 10, 13.3, 16, 19.9} {
			var j jitterBuf
			const frames = 1500
			arrive := make([]float64, frames) // ms
			for k := range arrive {
				arrive[k] = float64(20*k) + r.Float64()*jitter
			}
			next, want := 0, 0 // next frame to arrive, to be played
			var sum float64
			for tick := 0; tick < frames+10; tick++ {
				now := phase + float64(20*tick)
				for next < frames && arrive[next] <= now {
					frame := make([]int16, FrameSamples)
					for i := range frame {
						frame[i] = int16(next + 1) // the frame's number, never 0 (silence)
					}
					j.push(9, uint32(next*FrameSamples), frame)
					next++
				}
				var f [FrameSamples]int16
				if !j.pop(&f) {
					continue
				}
				k := int(f[0]) - 1
				if f[FrameSamples-1] != f[0] || k < want {
					t.Fatalf("jitter %v phase %v: tick %d played frame %d (to %d), want frame %d or a later one after a trim", jitter, phase, tick, k, f[FrameSamples-1]-1, want)
				}
				want = k + 1
				wait := now - arrive[k]
				sum += wait
				worst = max(worst, wait)
			}
			played := frames - int(j.trimmed)
			if want != frames || j.underruns > 1 {
				t.Errorf("jitter %v phase %v: played up to frame %d of %d with %d underruns; want all, one underrun (the end)", jitter, phase, want, frames, j.underruns)
			}
			all += sum
			n += played
			trims += int(j.trimmed)
		}
		mean := all / float64(n)
		t.Logf("lateness up to %2.0f ms: wait from arrival to the clock tick: mean %.1f ms, max %.1f ms; %d frames trimmed over 7 clock phases", jitter, mean, worst, trims)
		if worst > 40+jitter || mean > 15+jitter/2 {
			t.Errorf("lateness up to %v ms: wait mean %.1f ms, max %.1f ms; want at most %v and %v", jitter, mean, worst, 15+jitter/2, 40+jitter)
		}
	}
}
