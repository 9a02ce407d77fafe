package media

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Recorder geometry: a ring of recFrames stereo frames (1 s) holds the
// audio not yet written; when a packet lands beyond it, the oldest part
// (at least recCommit frames) is written to the file and the header's
// sizes are patched. So the file on disk always parses as a WAV and lags
// the call by at most one second of audio: what a crash can lose.
const (
	recRate    = 8000
	recFrames  = recRate     // ring size in frames: 1 s
	recCommit  = recRate / 2 // minimum frames per write: 0.5 s
	recFrameSz = 4           // bytes per stereo 16-bit frame
	// recReanchor: when a channel's RTP timestamps drift this far from the
	// packets' arrival times (a timestamp jump, a clock that runs fast,
	// a long hold), its timeline is re-anchored at the arrival time.
	recReanchor = 2 * recRate
)

// ErrRecorderClosed is returned when writing to a closed Recorder.
var ErrRecorderClosed = errors.New("recorder closed")

// Recorder writes a stereo WAV file (8 kHz, 16-bit PCM) as packets arrive:
// the left channel is the audio received on the first leg of a bridge (the
// caller), the right channel the audio received on the other leg. Both are
// placed on one timeline by RTP timestamp, anchored at arrival time, so
// they stay aligned and lost packets become silence. There are no temporary
// files; Close writes the rest and patches the header. A Recorder is safe
// for concurrent use.
type Recorder struct {
	path string

	mu      sync.Mutex
	f       *os.File
	closed  bool
	err     error // first write error; later writes are dropped
	started bool
	start   time.Time
	ring    []byte // recFrames interleaved frames, little-endian
	written int64  // frames in the file
	end     int64  // one past the last frame holding audio
	dataLen uint32 // bytes of samples in the file
	ch      [2]recChannel
	counter *atomic.Uint64 // engine's RecordingBytes, set by Connect
}

// recChannel maps one channel's RTP timestamps to frame positions.
type recChannel struct {
	have    bool
	ssrc    uint32
	baseTS  uint32
	basePos int64
}

// NewRecorder creates (truncating) the WAV file at path and writes a header
// for an empty recording. The directory must exist.
func NewRecorder(path string) (*Recorder, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o640)
	if err != nil {
		return nil, fmt.Errorf("create recording: %w", err)
	}
	var h [wavHeaderSize]byte
	putWAVHeader(h[:], 2, recRate, 0)
	if _, err := f.WriteAt(h[:], 0); err != nil {
		f.Close()
		return nil, fmt.Errorf("create recording %q: %w", path, err)
	}
	return &Recorder{path: path, f: f, ring: make([]byte, recFrames*recFrameSz)}, nil
}

// Path returns the file the recorder writes.
func (r *Recorder) Path() string { return r.path }

// setCounter makes the recorder add the bytes it writes to c.
func (r *Recorder) setCounter(c *atomic.Uint64) {
	r.mu.Lock()
	r.counter = c
	r.mu.Unlock()
}

// write places one packet's G.711 payload on channel ch (0 left, 1 right).
// ts and ssrc are the packet's RTP timestamp and source; now its arrival.
func (r *Recorder) write(ch int, c Codec, payload []byte, ssrc, ts uint32, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed || r.err != nil || len(payload) == 0 {
		return
	}
	if !r.started {
		r.started, r.start = true, now
	}
	arrival := int64(now.Sub(r.start)) * recRate / int64(time.Second)
	rc := &r.ch[ch]
	pos := rc.basePos + int64(int32(ts-rc.baseTS))
	if !rc.have || rc.ssrc != ssrc || pos > arrival+recReanchor || pos < arrival-recReanchor {
		*rc = recChannel{have: true, ssrc: ssrc, baseTS: ts, basePos: arrival}
		pos = arrival
	}
	n := int64(len(payload))
	if over := pos + n - (r.written + recFrames); over > 0 {
		if err := r.commit(r.written + max(over, recCommit)); err != nil {
			r.err = err
			return
		}
	}
	if pos < r.written { // too late: its place is already on disk
		skip := r.written - pos
		if skip >= n {
			return
		}
		payload, pos, n = payload[skip:], r.written, n-skip
	}
	t := decodeTable(c)
	for i, b := range payload {
		off := int((pos+int64(i))%recFrames)*recFrameSz + ch*2
		binary.LittleEndian.PutUint16(r.ring[off:], uint16(t[b]))
	}
	r.end = max(r.end, pos+n)
}

// commit writes frames [r.written, upTo) to the file — audio from the ring,
// silence for what no packet filled — and patches the header sizes.
func (r *Recorder) commit(upTo int64) error {
	for r.written < upTo {
		i := int(r.written % recFrames)
		k := int(min(upTo-r.written, int64(recFrames-i)))
		seg := r.ring[i*recFrameSz : (i+k)*recFrameSz]
		if _, err := r.f.WriteAt(seg, wavHeaderSize+int64(r.dataLen)); err != nil {
			return fmt.Errorf("write recording %q: %w", r.path, err)
		}
		clear(seg)
		r.written += int64(k)
		r.dataLen += uint32(len(seg))
		if r.counter != nil {
			r.counter.Add(uint64(len(seg)))
		}
	}
	return r.patchHeader()
}

// patchHeader writes the RIFF and data sizes for what is in the file.
func (r *Recorder) patchHeader() error {
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], 36+r.dataLen)
	if _, err := r.f.WriteAt(b[:], 4); err != nil {
		return fmt.Errorf("write recording header %q: %w", r.path, err)
	}
	binary.LittleEndian.PutUint32(b[:], r.dataLen)
	if _, err := r.f.WriteAt(b[:], 40); err != nil {
		return fmt.Errorf("write recording header %q: %w", r.path, err)
	}
	return nil
}

// Close writes the audio still held in memory, patches the header, syncs
// and closes the file. It is idempotent: later calls return the first
// call's result.
func (r *Recorder) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return r.err
	}
	r.closed = true
	if r.err == nil {
		r.err = r.commit(r.end)
	}
	if err := r.f.Sync(); err != nil && r.err == nil {
		r.err = fmt.Errorf("sync recording %q: %w", r.path, err)
	}
	if err := r.f.Close(); err != nil && r.err == nil {
		r.err = fmt.Errorf("close recording %q: %w", r.path, err)
	}
	r.ring = nil
	return r.err
}
