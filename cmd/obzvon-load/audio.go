package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/obzvon/obzvon/prompts"
)

// Who talks to whom: every role of the queue and campaign benchmarks sends
// a tone of its own, and every receiver tells them apart by payload.
//
//   - callers (the caller role in queue mode) send 400 Hz;
//   - the trunk's live answers ("the called person") send 450 Hz;
//   - operator phone k sends operatorFreq(k): 600, 650, … 3350 Hz with
//     1000 Hz left out (55 frequencies; phone k and k+55 share one);
//   - the classic caller and trunk modes keep the 1 kHz tone;
//   - anything else that is not silence (the appliance's prompts, its
//     safe-harbor message, music on hold, a machine's greeting) is
//     "other".
//
// Every tone frequency is a multiple of 50 Hz, so one 20 ms packet holds
// whole periods, every packet of a stream is the same 160 bytes, and a
// receiver classifies a packet by looking its payload up in a table of
// the tones' encodings — no DSP on the packet path. The table also holds
// each tone transcoded PCMU→PCMA and PCMA→PCMU (decode, re-encode, as the
// appliance does when the two legs use different laws), so a transcoding
// switch is still recognised. A payload found nowhere is silence or other
// by its mean level.

// audioClass is what a received payload is.
type audioClass uint16

const (
	clsNone     audioClass = iota // no packet
	clsSilence                    // below silenceLevel
	clsOther                      // not silent, no tone of ours
	clsLegacy                     // the 1 kHz tone of the classic modes
	clsCaller                     // a caller (queue mode): 400 Hz
	clsCallee                     // the trunk's live answer: 450 Hz
	clsOperator                   // operator phone k is clsOperator+k
)

const (
	callerFreq    = 400
	calleeFreq    = 450
	legacyFreq    = 1000
	operatorTones = 55
	// toneLevel is the tones' amplitude: -6 dBFS, as the classic tone.
	toneLevelDB = -6.0
	// silenceLevel is the mean absolute sample value (16-bit) under which
	// a payload is silence: about -50 dBFS.
	silenceLevel = 100
)

// operatorFreq is the tone of operator phone k.
func operatorFreq(k int) int {
	f := 600 + 50*(k%operatorTones)
	if f >= legacyFreq {
		f += 50
	}
	return f
}

// isCustomer reports whether c is a customer's audio (a caller or the
// trunk's called person).
func (c audioClass) isCustomer() bool { return c == clsCaller || c == clsCallee }

// isOperator reports whether c is an operator phone's tone.
func (c audioClass) isOperator() bool { return c >= clsOperator }

// String names the class for reports.
func (c audioClass) String() string {
	switch c {
	case clsNone:
		return "none"
	case clsSilence:
		return "silence"
	case clsOther:
		return "other"
	case clsLegacy:
		return "tone1k"
	case clsCaller:
		return "caller"
	case clsCallee:
		return "callee"
	}
	return fmt.Sprintf("operator%d", int(c-clsOperator))
}

// sineSamples returns 160 samples (20 ms) of freq Hz at toneLevelDB.
func sineSamples(freq int) []int16 {
	amp := 32767 * math.Pow(10, toneLevelDB/20)
	s := make([]int16, packetSamples)
	for i := range s {
		s[i] = int16(math.Round(amp * math.Sin(2*math.Pi*float64(freq)*float64(i)/sampleRate)))
	}
	return s
}

func encodeG711(pt byte, s []int16) []byte {
	p := make([]byte, len(s))
	for i, v := range s {
		if pt == ptPCMA {
			p[i] = linearToAlaw(v)
		} else {
			p[i] = linearToUlaw(v)
		}
	}
	return p
}

// classifier maps payloads to classes. Built once, read-only after.
type classifier struct {
	byPayload map[string]audioClass
	tones     map[audioClass][2][]byte // PCMU, PCMA encodings of each class's tone
	absU      [256]int32
	absA      [256]int32
}

var (
	classifierOnce sync.Once
	theClassifier  *classifier
)

// audioClassifier returns the process's classifier.
func audioClassifier() *classifier {
	classifierOnce.Do(func() { theClassifier = newClassifier() })
	return theClassifier
}

func newClassifier() *classifier {
	c := &classifier{byPayload: map[string]audioClass{}, tones: map[audioClass][2][]byte{}}
	for i := range 256 {
		u, a := int32(ulawToLinear(byte(i))), int32(alawToLinear(byte(i)))
		c.absU[i], c.absA[i] = max(u, -u), max(a, -a)
	}
	add := func(cls audioClass, freq int) {
		s := sineSamples(freq)
		u, a := encodeG711(ptPCMU, s), encodeG711(ptPCMA, s)
		c.tones[cls] = [2][]byte{u, a}
		// As sent, and transcoded by a decode/encode switch.
		for _, p := range [][]byte{u, a, encodeG711(ptPCMA, decodeG711(nil, ptPCMU, u)), encodeG711(ptPCMU, decodeG711(nil, ptPCMA, a))} {
			if _, dup := c.byPayload[string(p)]; !dup {
				c.byPayload[string(p)] = cls
			}
		}
	}
	add(clsLegacy, legacyFreq)
	add(clsCaller, callerFreq)
	add(clsCallee, calleeFreq)
	for k := range operatorTones {
		add(clsOperator+audioClass(k), operatorFreq(k))
	}
	return c
}

// classify returns the class of one payload. It does not allocate.
func (c *classifier) classify(pt byte, p []byte) audioClass {
	if cls, ok := c.byPayload[string(p)]; ok {
		return cls
	}
	if len(p) == 0 {
		return clsSilence
	}
	tab := &c.absU
	if pt == ptPCMA {
		tab = &c.absA
	}
	var sum int32
	for _, b := range p {
		sum += tab[b]
	}
	if sum/int32(len(p)) < silenceLevel {
		return clsSilence
	}
	return clsOther
}

// tonePayloads returns the PCMU and PCMA packets of class cls's tone
// (operator classes wrap around operatorTones).
func (c *classifier) tonePayloads(cls audioClass) [2][]byte {
	if cls.isOperator() {
		cls = clsOperator + (cls-clsOperator)%operatorTones
	}
	return c.tones[cls]
}

// audioSrc is what a leg sends: frames played in order, then (unless it
// loops) silence. Frames are indexed by law: 0 PCMU, 1 PCMA.
type audioSrc struct {
	frames [2][][]byte
	loop   bool
}

var silenceFrame = [2][]byte{bytes.Repeat([]byte{0xff}, packetSamples), bytes.Repeat([]byte{0xd5}, packetSamples)}

// toneSrc is an endless tone of class cls.
func toneSrc(cls audioClass) *audioSrc {
	t := audioClassifier().tonePayloads(cls)
	return &audioSrc{frames: [2][][]byte{{t[0]}, {t[1]}}, loop: true}
}

// lawIndex is 0 for PCMU, 1 for PCMA.
func lawIndex(pt byte) int {
	if pt == ptPCMA {
		return 1
	}
	return 0
}

// frame returns the i-th packet's payload for payload type pt.
func (a *audioSrc) frame(pt byte, i int) []byte {
	fs := a.frames[lawIndex(pt)]
	if a.loop {
		return fs[i%len(fs)]
	}
	if i < len(fs) {
		return fs[i]
	}
	return silenceFrame[lawIndex(pt)]
}

// length is how long the source plays before silence (0 when it loops).
func (a *audioSrc) length() time.Duration {
	if a.loop {
		return 0
	}
	return time.Duration(len(a.frames[0])) * packetPeriod * time.Millisecond
}

// greetingSrc is an answering machine's greeting: the appliance's own
// Russian prompts (real speech, so an energy-and-cadence detector sees a
// long utterance), concatenated until at least min long, played once.
func greetingSrc(min time.Duration) (*audioSrc, error) {
	var pcm []int16
	names := []string{prompts.Greeting, prompts.Menu, prompts.Busy, prompts.Goodbye}
	for i := 0; time.Duration(len(pcm))*time.Second/sampleRate < min || i == 0; i++ {
		if i > 1000 {
			return nil, errors.New("greeting: prompts are empty")
		}
		s, err := readPromptPCM(names[i%len(names)])
		if err != nil {
			return nil, err
		}
		pcm = append(pcm, s...)
	}
	pcm = pcm[:len(pcm)/packetSamples*packetSamples]
	a := &audioSrc{}
	for off := 0; off < len(pcm); off += packetSamples {
		f := pcm[off : off+packetSamples]
		a.frames[0] = append(a.frames[0], encodeG711(ptPCMU, f))
		a.frames[1] = append(a.frames[1], encodeG711(ptPCMA, f))
	}
	return a, nil
}

// readPromptPCM reads an embedded prompt: 16-bit mono 8 kHz WAV.
func readPromptPCM(name string) ([]int16, error) {
	b, err := fs.ReadFile(prompts.FS, prompts.Path(name))
	if err != nil {
		return nil, err
	}
	// Find the data chunk (RIFF: 12-byte header, then chunks).
	for off := 12; off+8 <= len(b); {
		id, n := string(b[off:off+4]), int(binary.LittleEndian.Uint32(b[off+4:off+8]))
		off += 8
		if id == "data" {
			if off+n > len(b) {
				n = len(b) - off
			}
			s := make([]int16, n/2)
			for i := range s {
				s[i] = int16(binary.LittleEndian.Uint16(b[off+2*i:]))
			}
			return s, nil
		}
		off += n + n&1
	}
	return nil, fmt.Errorf("prompt %s: no data chunk", name)
}

// audioWatch follows what one leg hears: when each class first arrived
// (Unix ns), the first operator heard, and the "segments" of the wanted
// classes: runs of wanted audio with no gap of segmentGap or more, with
// their dropouts (gaps over dropoutGap inside a run). A packet with the
// RTP marker bit also starts a segment: the appliance marks the first
// packet of every new source it switches onto a leg (RFC 3550 §5.1), so
// two customers switched onto one session leg back to back are two
// segments even with no pause between them. The receiver goroutine of
// the leg's socket writes it; others read the atomics any time and the
// rest after the leg stopped.
type audioWatch struct {
	want func(audioClass) bool
	// first is closed when the first wanted packet arrives.
	first     chan struct{}
	firstAt   atomic.Int64
	firstCls  atomic.Uint32
	otherAt   atomic.Int64 // first non-silent audio of no tone of ours
	lastAt    atomic.Int64 // last wanted packet
	segGap    int64
	dropGap   int64
	segs      []audioSegment
	cur       audioSegment
	inSeg     bool
	packets   uint64
	unwanted  uint64 // non-silent packets of an unwanted tone
	otherPkts uint64
	switches  uint64 // wanted audio changed talker without a pause
	marks     uint64 // segments started by a marked packet without a pause
}

// audioSegment is one run of wanted audio.
type audioSegment struct {
	Start    int64      `json:"start_unix_ns"`
	End      int64      `json:"end_unix_ns"`
	Packets  uint64     `json:"packets"`
	Dropouts uint64     `json:"dropouts"`
	MaxGapNs int64      `json:"max_gap_ns"`
	Class    audioClass `json:"-"`
}

const (
	defaultSegmentGap = 500 * time.Millisecond
	dropoutGap        = 60 * time.Millisecond
)

func newAudioWatch(want func(audioClass) bool) *audioWatch {
	return &audioWatch{want: want, first: make(chan struct{}), segGap: int64(defaultSegmentGap), dropGap: int64(dropoutGap)}
}

// observe accounts one packet of class cls that arrived at now (Unix ns);
// marked is its RTP marker bit.
func (w *audioWatch) observe(cls audioClass, now int64, marked bool) {
	switch {
	case cls == clsOther:
		w.otherPkts++
		if w.otherAt.Load() == 0 {
			w.otherAt.Store(now)
		}
		return
	case cls == clsSilence:
		return
	case !w.want(cls):
		w.unwanted++
		return
	}
	w.packets++
	if w.firstAt.Load() == 0 {
		w.firstCls.Store(uint32(cls))
		w.firstAt.Store(now)
		close(w.first)
	}
	last := w.lastAt.Load()
	if w.inSeg && cls != w.cur.Class {
		w.switches++ // another talker without a pause: a new segment
		w.segs = append(w.segs, w.cur)
		w.inSeg = false
	}
	if w.inSeg && now-last >= w.segGap {
		w.segs = append(w.segs, w.cur)
		w.inSeg = false
	}
	if w.inSeg && marked {
		w.marks++ // a new source at once: a new segment
		w.segs = append(w.segs, w.cur)
		w.inSeg = false
	}
	if !w.inSeg {
		w.cur = audioSegment{Start: now, Class: cls}
		w.inSeg = true
	} else if g := now - last; g > w.dropGap {
		w.cur.Dropouts++
		w.cur.MaxGapNs = max(w.cur.MaxGapNs, g)
	} else {
		w.cur.MaxGapNs = max(w.cur.MaxGapNs, g)
	}
	w.cur.End = now
	w.cur.Packets++
	w.lastAt.Store(now)
}

// segments returns the closed segments and the open one. Call after the
// leg stopped.
func (w *audioWatch) segments() []audioSegment {
	if w.inSeg {
		return append(w.segs[:len(w.segs):len(w.segs)], w.cur)
	}
	return w.segs
}

// parseAudio parses --caller-audio: tone1k, caller, callee, operatorK or
// speech.
func parseAudio(s string) (*audioSrc, error) {
	switch s {
	case "tone1k":
		return toneSrc(clsLegacy), nil
	case "caller":
		return toneSrc(clsCaller), nil
	case "callee":
		return toneSrc(clsCallee), nil
	case "speech":
		a, err := greetingSrc(time.Second)
		if err != nil {
			return nil, err
		}
		a.loop = true
		return a, nil
	}
	if k, ok := strings.CutPrefix(s, "operator"); ok {
		if n, err := strconv.Atoi(k); err == nil && n >= 0 && n < operatorTones {
			return toneSrc(clsOperator + audioClass(n)), nil
		}
	}
	return nil, fmt.Errorf("%q: want tone1k, caller, callee, operatorK (K in 0..%d) or speech", s, operatorTones-1)
}
