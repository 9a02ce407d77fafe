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
// audio not yet handed to the file; when a packet lands beyond it, the
// oldest part (at least recCommit frames) goes to the file and the
// header's sizes are patched. So the file on disk always parses as a WAV
// and lags the call by about one second of audio: what a crash can lose.
const (
	recRate    = 8000
	recFrames  = recRate     // ring size in frames: 1 s
	recCommit  = recRate / 2 // minimum frames per write: 0.5 s
	recFrameSz = 4           // bytes per stereo 16-bit frame
	// recReanchor: when a channel's RTP timestamps drift this far from the
	// packets' arrival times (a timestamp jump, a clock that runs fast,
	// a long hold), its timeline is re-anchored at the arrival time.
	recReanchor = 2 * recRate
	// recQueue is how many writes may wait for the disk (about 4 s of
	// audio) before the packet path drops audio rather than wait.
	recQueue = 8
)

// ErrRecordingIncomplete is wrapped by Recorder.Close when audio was
// dropped because the disk did not keep up; the file is valid, with
// silence where the audio was dropped.
var ErrRecordingIncomplete = errors.New("recording incomplete: the disk did not keep up")

// recOp is one file update, done by the recorder's writer goroutine.
type recOp struct {
	off     int64         // where data goes
	data    *[]byte       // audio, or nil; back to the free list when written
	size    int64         // file size to extend to (a silent stretch), or 0
	dataLen uint32        // the header's data size after this op
	barrier chan struct{} // if set, closed when the op is reached (nothing else done)
}

// Recorder writes a stereo WAV file (8 kHz, 16-bit PCM) as packets arrive:
// the left channel is the audio received on the first leg of a bridge (the
// caller), the right channel the audio received on the other leg. Both are
// placed on one timeline by RTP timestamp, anchored at arrival time, so
// they stay aligned and lost packets become silence. There are no temporary
// files. The packet path never waits for the disk: a goroutine per
// recorder does the file writes, and if the disk falls more than a few
// seconds behind, audio is dropped (left as silence) and Close reports
// ErrRecordingIncomplete. Close writes the rest and patches the header. A
// Recorder is safe for concurrent use.
type Recorder struct {
	path string
	f    *os.File

	mu      sync.Mutex
	closed  bool
	started bool
	start   time.Time
	ring    []byte // recFrames interleaved frames, little-endian
	written int64  // frames handed to the writer
	end     int64  // one past the last frame holding audio
	dataLen uint32 // bytes of samples handed to the writer
	dropped int64  // bytes dropped because the writer was behind
	ch      [2]recChannel
	counter *atomic.Uint64 // engine's RecordingBytes, set by Connect
	ops     chan recOp
	free    chan *[]byte // chunk buffers: at most one per queued op, reused

	werr     error // first write error (set by the writer)
	werrMu   sync.Mutex
	done     chan struct{} // writer exited
	closeErr error

	stall chan struct{} // tests: the writer waits on it before each op
}

// recChannel maps one channel's RTP timestamps to frame positions.
type recChannel struct {
	have    bool
	ssrc    uint32
	baseTS  uint32
	basePos int64
}

// NewRecorder creates the WAV file at path, which must not exist (a
// recording is never overwritten), writes a header for an empty
// recording and starts the recorder's writer. The directory must exist.
func NewRecorder(path string) (*Recorder, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o640)
	if err != nil {
		return nil, fmt.Errorf("create recording: %w", err)
	}
	var h [wavHeaderSize]byte
	putWAVHeader(h[:], 2, recRate, 0)
	if _, err := f.WriteAt(h[:], 0); err != nil {
		f.Close()
		return nil, fmt.Errorf("create recording %q: %w", path, err)
	}
	r := newRecorder(path)
	r.f = f
	go r.writeLoop(nil)
	return r, nil
}

func newRecorder(path string) *Recorder {
	return &Recorder{path: path, ring: make([]byte, recFrames*recFrameSz),
		ops: make(chan recOp, recQueue), free: make(chan *[]byte, recQueue+2), done: make(chan struct{})}
}

// newRecorderInBackground is NewRecorder without waiting for the disk:
// the writer creates the directory dir and the file first, while the
// audio waits in memory (as when the disk is slow). A failure to create
// them drops the audio and is Close's error.
func newRecorderInBackground(path, dir string) *Recorder {
	r := newRecorder(path)
	go r.writeLoop(func() error {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return fmt.Errorf("create recording: %w", err)
		}
		f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o640)
		if err != nil {
			return fmt.Errorf("create recording: %w", err)
		}
		var h [wavHeaderSize]byte
		putWAVHeader(h[:], 2, recRate, 0)
		if _, err := f.WriteAt(h[:], 0); err != nil {
			f.Close()
			return fmt.Errorf("create recording %q: %w", path, err)
		}
		r.f = f
		return nil
	})
	return r
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
	if r.closed || len(payload) == 0 {
		return
	}
	if !r.started {
		r.started, r.start = true, now
	}
	arrival := int64(now.Sub(r.start)) / nsPerSample
	rc := &r.ch[ch]
	pos := rc.basePos + int64(int32(ts-rc.baseTS))
	if !rc.have || rc.ssrc != ssrc || pos > arrival+recReanchor || pos < arrival-recReanchor {
		*rc = recChannel{have: true, ssrc: ssrc, baseTS: ts, basePos: arrival}
		pos = arrival
	}
	n := int64(len(payload))
	if over := pos + n - (r.written + recFrames); over > 0 {
		r.commit(r.written+max(over, recCommit), false)
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

// commit hands frames [r.written, upTo) to the writer — audio from the
// ring, silence for what no packet filled. A stretch of silence past the
// last audio (both sides on hold, say) is not written but made by
// extending the file: a hole reads as zeros, which is silence in PCM, and
// costs neither a write nor disk space. wait says whether to wait for room
// in the queue (Close) or drop the audio (the packet path).
func (r *Recorder) commit(upTo int64, wait bool) {
	for audioTo := min(upTo, r.end); r.written < audioTo; {
		i := int(r.written % recFrames)
		k := int(min(audioTo-r.written, int64(recFrames-i)))
		seg := r.ring[i*recFrameSz : (i+k)*recFrameSz]
		buf := r.getBuf()
		*buf = append((*buf)[:0], seg...)
		clear(seg)
		off := wavHeaderSize + int64(r.dataLen)
		r.advance(k)
		r.enqueue(recOp{off: off, data: buf, dataLen: r.dataLen}, wait)
	}
	if gap := upTo - r.written; gap > 0 {
		r.advance(int(gap))
		r.enqueue(recOp{size: wavHeaderSize + int64(r.dataLen), dataLen: r.dataLen}, wait)
	}
}

func (r *Recorder) enqueue(op recOp, wait bool) {
	if wait {
		r.ops <- op
		return
	}
	select {
	case r.ops <- op:
	default:
		if op.data != nil {
			r.dropped += int64(len(*op.data))
			r.putBuf(op.data)
		}
	}
}

// getBuf returns a chunk buffer from the free list, or a new one. Reusing
// them keeps a recording from making garbage at two chunks a second.
func (r *Recorder) getBuf() *[]byte {
	select {
	case b := <-r.free:
		return b
	default:
		b := make([]byte, 0, recFrames*recFrameSz)
		return &b
	}
}

func (r *Recorder) putBuf(b *[]byte) {
	select {
	case r.free <- b:
	default:
	}
}

// advance accounts k frames as handed to the file.
func (r *Recorder) advance(k int) {
	r.written += int64(k)
	r.dataLen += uint32(k * recFrameSz)
	if r.counter != nil {
		r.counter.Add(uint64(k * recFrameSz))
	}
}

// writeLoop does the file updates in order, patching the header after
// each, until the queue is closed.
func (r *Recorder) writeLoop(open func() error) {
	defer close(r.done)
	if open != nil {
		if err := open(); err != nil {
			r.werrMu.Lock()
			r.werr = err
			r.werrMu.Unlock()
		}
	}
	var h [wavHeaderSize]byte
	for op := range r.ops {
		if op.barrier != nil {
			close(op.barrier)
			continue
		}
		if r.stall != nil {
			<-r.stall
		}
		if r.failed() {
			if op.data != nil {
				r.putBuf(op.data)
			}
			continue
		}
		var err error
		if op.data != nil {
			_, err = r.f.WriteAt(*op.data, op.off)
			r.putBuf(op.data)
		}
		if err == nil && op.size > 0 {
			err = r.f.Truncate(op.size)
		}
		if err == nil {
			putWAVHeader(h[:], 2, recRate, op.dataLen)
			_, err = r.f.WriteAt(h[:], 0)
		}
		if err != nil {
			r.werrMu.Lock()
			r.werr = fmt.Errorf("write recording %q: %w", r.path, err)
			r.werrMu.Unlock()
		}
	}
}

// drain waits until the writer has done everything handed to it so far.
func (r *Recorder) drain() {
	b := make(chan struct{})
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	r.ops <- recOp{barrier: b}
	r.mu.Unlock()
	<-b
}

func (r *Recorder) failed() bool {
	r.werrMu.Lock()
	defer r.werrMu.Unlock()
	return r.werr != nil
}

// Close hands the audio still in memory to the writer, waits for it, sets
// the file's final size and header, syncs and closes the file. It returns
// the first write error, or an error wrapping ErrRecordingIncomplete if
// audio was dropped. It is idempotent: later calls return the first
// call's result.
func (r *Recorder) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		<-r.done
		return r.closeErr
	}
	r.closed = true
	r.commit(r.end, true)
	dataLen, dropped := r.dataLen, r.dropped
	close(r.ops)
	r.ring = nil
	r.mu.Unlock()
	<-r.done

	err := r.werr
	if r.f == nil { // never created (newRecorderInBackground)
		r.mu.Lock()
		r.closeErr = err
		r.mu.Unlock()
		return err
	}
	if err == nil {
		// A dropped chunk at the end would leave the file shorter than
		// its header: make the size exact.
		if e := r.f.Truncate(wavHeaderSize + int64(dataLen)); e != nil {
			err = fmt.Errorf("close recording %q: %w", r.path, e)
		}
	}
	if e := r.f.Sync(); e != nil && err == nil {
		err = fmt.Errorf("sync recording %q: %w", r.path, e)
	}
	if e := r.f.Close(); e != nil && err == nil {
		err = fmt.Errorf("close recording %q: %w", r.path, e)
	}
	if err == nil && dropped > 0 {
		err = fmt.Errorf("%w: %s of %s dropped in %q", ErrRecordingIncomplete,
			time.Duration(dropped/recFrameSz)*time.Second/recRate,
			time.Duration(int64(dataLen)/recFrameSz)*time.Second/recRate, r.path)
	}
	r.mu.Lock()
	r.closeErr = err
	r.mu.Unlock()
	return err
}
