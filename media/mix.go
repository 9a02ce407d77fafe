package media

import (
	"sync"
	"time"
)

// Mixing for supervision (listen, whisper, barge): an output that carries
// more than one party is made by a mixOut. Each of its two inputs has a
// jitterBuf that takes the input leg's packets as they arrive (decoded to
// PCM, placed by RTP timestamp); the supervision's 20 ms clock pops one
// frame from each input, sums them with saturation, encodes the sum in the
// receiving leg's codec and sends it. Outputs that carry one party stay on
// the switch's direct, no-copy path.
//
// Delay: playout of an input starts once jbPrefill (40 ms) is buffered,
// so at first a frame waits from its arrival for one or two clock ticks,
// 20-40 ms, or more if the first packets came late. Once a second, if a
// whole frame was left over after every tick of that second, the oldest
// frame is dropped (jbWindow, one 20 ms skip): the buffer keeps only the
// depth the last second's jitter needed. TestJitterBufDelay measures the
// wait from a packet's arrival to the tick that sends it, over clock
// phases: with packets on time 11 ms on average (at most 40 ms, in the
// first second); with up to 18 ms of random lateness 19 ms on average, at
// most 47 ms, and no gaps. A gap (loss, a packet later than the buffer
// allows, the source stopping) plays as silence for that input and
// playout restarts at the next packet after a new prefill. If more than
// jbMax (120 ms) piles up (a burst, or a source clock faster than ours),
// the oldest audio is dropped down to jbTarget (60 ms).

// Jitter buffer geometry, in samples at 8 kHz.
const (
	jbSize    = 2048 // ring of 256 ms; a power of two
	jbMask    = jbSize - 1
	jbPrefill = 2 * FrameSamples // buffered before playout starts: 40 ms
	jbTarget  = 3 * FrameSamples // kept after an overflow: 60 ms
	jbMax     = 6 * FrameSamples // more than this buffered is an overflow: 120 ms
	// jbRestart: a packet this far ahead of the play point (a jump in the
	// source's timestamps) restarts the buffer at that packet.
	jbRestart = 8000
	// jbWindow: every this many frames played (1 s), if at least one whole
	// frame was left over after every pop, the oldest frame is dropped:
	// the delay shrinks to what the jitter of the last second needed.
	jbWindow = 50
)

// jitterBuf is one input of a mixer: a ring of PCM samples indexed by the
// source's RTP timestamp. Samples outside [readTS, writeTS) are zero, so
// a stretch no packet filled (a lost packet) plays as silence. It is not
// safe for concurrent use: its mixOut's lock guards it.
type jitterBuf struct {
	ring    [jbSize]int16
	have    bool   // a source is known
	ssrc    uint32 // its SSRC
	readTS  uint32 // timestamp of the next sample to play
	writeTS uint32 // one past the latest sample written
	playing bool   // prefill done: pop returns audio
	popped  int    // frames played in the current window
	spare   int    // the least left over after a pop in the window

	late, dropped, underruns, trimmed uint64 // packets too late, overflows, gaps, trims
}

// reset forgets the source and the buffered audio.
func (j *jitterBuf) reset() {
	j.clearRange(j.readTS, j.depth())
	j.have, j.playing = false, false
	j.readTS, j.writeTS = 0, 0
}

// depth is the number of samples buffered (0 when the write point is
// behind the play point).
func (j *jitterBuf) depth() int {
	return max(int(int32(j.writeTS-j.readTS)), 0)
}

// clearRange zeroes n samples of the ring from timestamp ts.
func (j *jitterBuf) clearRange(ts uint32, n int) {
	n = min(n, jbSize)
	i := int(ts & jbMask)
	if k := min(n, jbSize-i); k > 0 {
		clear(j.ring[i : i+k])
		n -= k
	}
	clear(j.ring[:n])
}

// restart starts the buffer afresh at a packet of ssrc with timestamp ts.
func (j *jitterBuf) restart(ssrc, ts uint32) {
	j.clearRange(j.readTS, j.depth())
	j.have, j.ssrc, j.playing = true, ssrc, false
	j.readTS, j.writeTS = ts, ts
	j.popped = 0
}

// push places one packet's samples at timestamp ts.
func (j *jitterBuf) push(ssrc, ts uint32, pcm []int16) {
	if len(pcm) == 0 || len(pcm) > jbSize-jbMax {
		return
	}
	if !j.have || ssrc != j.ssrc || (!j.playing && j.depth() == 0) {
		// A new source, or idle (never started, or drained by a gap):
		// playout restarts at this packet.
		j.restart(ssrc, ts)
	}
	off := int(int32(ts - j.readTS))
	if off < 0 { // begins before the play point
		if off+len(pcm) <= 0 {
			j.late++
			return
		}
		pcm, off = pcm[-off:], 0
		ts = j.readTS
	}
	if off > jbRestart {
		j.restart(ssrc, ts)
		off = 0
	}
	if end := off + len(pcm); end > jbMax {
		// Too much ahead of the play point: drop the oldest audio so
		// that jbTarget (or just this packet) remains.
		drop := min(end-max(jbTarget, len(pcm)), off)
		j.clearRange(j.readTS, min(drop, j.depth()))
		j.readTS += uint32(drop)
		off -= drop
		j.dropped++
	}
	i := int((j.readTS + uint32(off)) & jbMask)
	k := copy(j.ring[i:], pcm)
	copy(j.ring[:], pcm[k:])
	if end := j.readTS + uint32(off+len(pcm)); int32(end-j.writeTS) > 0 || j.depth() == 0 {
		j.writeTS = end
	}
	if !j.playing && j.depth() >= jbPrefill {
		j.playing = true
	}
}

// pop takes the next frame into out and reports whether it held audio
// from the source; when it did not, out is silence.
func (j *jitterBuf) pop(out *[FrameSamples]int16) bool {
	if !j.playing {
		*out = [FrameSamples]int16{}
		return false
	}
	n := min(j.depth(), FrameSamples)
	if n == 0 {
		j.playing = false
		j.underruns++
		*out = [FrameSamples]int16{}
		return false
	}
	i := int(j.readTS & jbMask)
	k := copy(out[:n], j.ring[i:])
	copy(out[k:n], j.ring[:])
	j.clearRange(j.readTS, n)
	clear(out[n:])
	j.readTS += uint32(n)
	// Shrink a delay the jitter no longer needs (see jbWindow).
	if j.popped == 0 {
		j.spare = jbSize
	}
	j.spare = min(j.spare, j.depth())
	if j.popped++; j.popped == jbWindow {
		if j.spare >= FrameSamples {
			j.clearRange(j.readTS, FrameSamples)
			j.readTS += FrameSamples
			j.trimmed++
		}
		j.popped = 0
	}
	return true
}

// mixSat adds b to a, saturating at the 16-bit range.
func mixSat(a, b *[FrameSamples]int16) {
	for i := range a {
		s := int32(a[i]) + int32(b[i])
		a[i] = int16(min(max(s, -32768), 32767))
	}
}

// mixOut makes the mixed RTP stream one leg receives during supervision:
// two inputs, summed every 20 ms, sent as one stream of its own (src) with
// continuous sequence numbers, timestamps that follow the clock, and the
// marker bit on the first packet after a pause. RFC 4733 events from the
// leg's bridged peer go out on the same stream (event).
type mixOut struct {
	to  *Leg
	src uint64

	mu      sync.Mutex // guards everything below; held while sending
	active  bool
	in      [2]jitterBuf
	seq     uint16 // next sequence number
	ts      uint32 // timestamp of the next audio frame
	talking bool   // the last tick sent audio
	ev      struct {
		have    bool
		ssrc    uint32
		srcTS   uint32 // the event's timestamp in its source's stream
		mappedT uint32 // and in this stream
	}
	pkt [12 + FrameSamples]byte // the audio packet being sent (tick only)
}

// setActive turns the output on (from a clean state) or off.
func (m *mixOut) setActive(on bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.active == on {
		return
	}
	m.active, m.talking = on, false
	m.in[0].reset()
	m.in[1].reset()
	m.ev.have = false
}

// push feeds input i with a packet's samples.
func (m *mixOut) push(i int, ssrc, ts uint32, pcm []int16) {
	m.mu.Lock()
	if m.active {
		m.in[i].push(ssrc, ts, pcm)
	}
	m.mu.Unlock()
}

// skip advances the output's clock by n frames not produced (the clock
// goroutine was stalled).
func (m *mixOut) skip(n int) {
	m.mu.Lock()
	m.ts += uint32(n * FrameSamples)
	m.mu.Unlock()
}

// tick produces one 20 ms frame: the saturated sum of what each input has
// for it, sent if any input had audio. It reports whether a packet was
// sent.
func (m *mixOut) tick(now time.Time) bool {
	var a, b [FrameSamples]int16
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.active {
		return false
	}
	okA := m.in[0].pop(&a)
	okB := m.in[1].pop(&b)
	ts := m.ts
	m.ts += FrameSamples
	if !okA && !okB {
		m.talking = false
		return false
	}
	marker := !m.talking
	m.talking = true
	mixSat(&a, &b)
	cfg := m.to.cfg.Load()
	if cfg == nil || m.to.playing.Load() > 0 {
		return false // not started, or a prompt has the floor
	}
	Encode(m.pkt[12:12], a[:], cfg.codec)
	seq := m.seq
	m.seq++
	return m.to.send(m.pkt[:], cfg, m.src, seq, ts, marker, cfg.pt, FrameSamples, now)
}

// event sends an RFC 4733 event packet received from the bridged peer on
// this output's stream: pt remapped, the event's timestamp mapped to the
// stream's clock at the event's start (RFC 4733 §2.5.1.2: all packets of
// an event carry its start timestamp). pkt is the whole received packet;
// its header is overwritten.
func (m *mixOut) event(pkt []byte, h rtpHeader, now time.Time) {
	tc := m.to.cfg.Load()
	if tc == nil || tc.eventPT == 0 || m.to.playing.Load() > 0 {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.active {
		return
	}
	if !m.ev.have || m.ev.ssrc != h.ssrc || m.ev.srcTS != h.ts {
		m.ev.have, m.ev.ssrc, m.ev.srcTS, m.ev.mappedT = true, h.ssrc, h.ts, m.ts
	}
	seq := m.seq
	m.seq++
	m.to.send(pkt[h.payloadOff-12:h.payloadEnd], tc, m.src, seq, m.ev.mappedT, h.marker, tc.eventPT, FrameSamples, now)
}
