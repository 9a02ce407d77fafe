package media

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/bits"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Errors of the engine and its legs.
var (
	// ErrEngineClosed is returned by NewLeg after Close.
	ErrEngineClosed = errors.New("media engine closed")
	// ErrLegClosed is returned by operations on a closed leg, and by Play
	// and Echo when the leg is closed under them.
	ErrLegClosed = errors.New("media leg closed")
	// ErrLegNotStarted is returned by Update, Play and Echo before Start.
	ErrLegNotStarted = errors.New("media leg not started")
	// ErrLegStarted is returned by a second Start; use Update.
	ErrLegStarted = errors.New("media leg already started")
	// ErrLegBusy is returned when a leg is already bridged or echoing.
	ErrLegBusy = errors.New("media leg already connected")
)

// Log attribute keys.
const (
	logPort   = "rtp_port"
	logHint   = "hint" // what to do, on every warning and error
	logRemote = "remote"
)

// EngineConfig configures an Engine.
type EngineConfig struct {
	// IP is the local address RTP sockets bind to and LocalAddr reports
	// (the address to put in SDP). It must be a specific address.
	IP netip.Addr
	// PortMin and PortMax bound the RTP/RTCP ports, inclusive. RTP takes
	// the even ports, RTCP the odd port above. Keep the range outside the
	// kernel's ephemeral range (net.ipv4.ip_local_port_range).
	PortMin, PortMax int
	// RecordDir is where NewCallRecorder puts recordings; empty disables it.
	RecordDir string
	// Logger receives debug and warning messages; nil discards them.
	Logger *slog.Logger
	// Workers selects how received packets are read. 0 (the default):
	// runtime.GOMAXPROCS epoll workers on Linux, a goroutine per leg
	// elsewhere. -1: a goroutine per leg on the runtime's network poller.
	// n > 0: n epoll workers, each draining the raw sockets of its legs
	// (Linux only). The workers cost less CPU per packet (see doc.go).
	Workers int
}

// Counters are engine-wide monotonic counters, for metrics.
type Counters struct {
	PacketsIn      uint64 // RTP packets received on started legs
	PacketsOut     uint64 // RTP packets sent
	PacketsLost    uint64 // packets lost on the way in (RFC 3550 A.3, never decreasing)
	RecordingBytes uint64 // sample bytes written to recordings
	// PacketsDropped counts received packets rejected (malformed, unknown
	// source, payload type not negotiated, failed SRTP checks) and packets
	// the switch failed to send. Packets not sent on purpose (hold, a
	// prompt playing, no telephone-event on the other side) are not counted.
	PacketsDropped uint64
	// SRTPAuthFailures and SRTPReplays count received SRTP packets dropped
	// for a wrong authentication tag and as replays (RFC 3711 §3.3).
	SRTPAuthFailures, SRTPReplays uint64
}

// Engine owns the RTP port range and the legs on it.
type Engine struct {
	cfg   EngineConfig
	log   *slog.Logger
	ports *portAllocator

	mu     sync.Mutex
	legs   map[*Leg]struct{}
	closed bool

	workers []*worker // epoll workers, or nil for a reader per leg

	nextID atomic.Uint64
	// Packets of closed legs; live legs count their own (under locks the
	// hot path takes anyway) so that cores do not share a counter's
	// cache line per packet.
	closedIn   uint64 // under mu
	closedOut  uint64 // under mu
	lost       atomic.Uint64
	recBytes   atomic.Uint64
	dropped    atomic.Uint64
	srtpAuth   atomic.Uint64
	srtpReplay atomic.Uint64
	delay      delayHistogram
}

// NewEngine validates cfg and returns an engine. It binds nothing until
// NewLeg.
func NewEngine(cfg EngineConfig) (*Engine, error) {
	if !cfg.IP.IsValid() || cfg.IP.IsUnspecified() {
		return nil, fmt.Errorf("media: IP %q must be a specific address to bind and advertise", cfg.IP)
	}
	ports, err := newPortAllocator(cfg.PortMin, cfg.PortMax)
	if err != nil {
		return nil, fmt.Errorf("media: %w", err)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	workers := cfg.Workers
	switch {
	case workers < -1:
		return nil, fmt.Errorf("media: Workers %d: want -1 (a reader per leg), 0 (default) or more", workers)
	case workers == -1:
		workers = 0
	case workers == 0 && runtime.GOOS == "linux":
		workers = runtime.GOMAXPROCS(0)
	}
	e := &Engine{cfg: cfg, log: log, ports: ports, legs: make(map[*Leg]struct{})}
	for range workers {
		w, err := newWorker()
		if err != nil {
			e.stopWorkers()
			return nil, fmt.Errorf("media: %w", err)
		}
		e.workers = append(e.workers, w)
	}
	return e, nil
}

func (e *Engine) stopWorkers() {
	for _, w := range e.workers {
		w.stop()
	}
}

// Counters returns a snapshot of the engine-wide counters. It visits every
// live leg: call it for a metrics scrape, not per packet.
func (e *Engine) Counters() Counters {
	e.mu.Lock()
	in, out := e.closedIn, e.closedOut
	for l := range e.legs {
		li, lo := l.packetCounts()
		in += li
		out += lo
	}
	e.mu.Unlock()
	return Counters{
		PacketsIn:        in,
		PacketsOut:       out,
		PacketsLost:      e.lost.Load(),
		RecordingBytes:   e.recBytes.Load(),
		PacketsDropped:   e.dropped.Load(),
		SRTPAuthFailures: e.srtpAuth.Load(),
		SRTPReplays:      e.srtpReplay.Load(),
	}
}

// ForwardDelay returns a snapshot of the histogram of the time from a
// packet's read to its forwarded write, over the engine's life.
func (e *Engine) ForwardDelay() DelaySnapshot { return e.delay.snapshot() }

// NewCallRecorder creates a recording for a call under
// RecordDir/YYYY/MM/DD/<name>.wav (creating the directories), for the day
// of t in its location. name must be a plain file name.
func (e *Engine) NewCallRecorder(name string, t time.Time) (*Recorder, error) {
	if e.cfg.RecordDir == "" {
		return nil, errors.New("media: recording disabled (no RecordDir)")
	}
	if name == "" || strings.ContainsAny(name, `/\`) || name == "." || name == ".." {
		return nil, fmt.Errorf("media: recording name %q is not a plain file name", name)
	}
	dir := filepath.Join(e.cfg.RecordDir, t.Format("2006"), t.Format("01"), t.Format("02"))
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("media: %w", err)
	}
	return NewRecorder(filepath.Join(dir, name+".wav"))
}

// NewCallRecorderInBackground is NewCallRecorder for a path that must not
// wait for the disk (connecting a caller to an operator): it returns at
// once and the recorder's writer creates the directory and the file
// while the first audio waits in memory. A failure to create them is
// Close's error (the audio is dropped).
func (e *Engine) NewCallRecorderInBackground(name string, t time.Time) (*Recorder, error) {
	if e.cfg.RecordDir == "" {
		return nil, errors.New("media: recording disabled (no RecordDir)")
	}
	if name == "" || strings.ContainsAny(name, `/\`) || name == "." || name == ".." {
		return nil, fmt.Errorf("media: recording name %q is not a plain file name", name)
	}
	dir := filepath.Join(e.cfg.RecordDir, t.Format("2006"), t.Format("01"), t.Format("02"))
	return newRecorderInBackground(filepath.Join(dir, name+".wav"), dir), nil
}

// Close closes every leg and refuses new ones. It is idempotent.
func (e *Engine) Close() error {
	e.mu.Lock()
	e.closed = true
	legs := make([]*Leg, 0, len(e.legs))
	for l := range e.legs {
		legs = append(legs, l)
	}
	e.mu.Unlock()
	var errs []error
	for _, l := range legs {
		errs = append(errs, l.Close())
	}
	e.stopWorkers()
	return errors.Join(errs...)
}

// NewLeg allocates an RTP port pair, binds both sockets (the RTCP socket
// only reserves port+1; RTCP is not read) and starts the leg's reader.
// The leg drops what it receives until Start.
func (e *Engine) NewLeg() (*Leg, error) {
	e.mu.Lock()
	closed := e.closed
	e.mu.Unlock()
	if closed {
		return nil, ErrEngineClosed
	}
	var (
		sock     rtpSocket
		goConn   *net.UDPConn
		raw      *rawSocket
		rtcpConn *net.UDPConn
	)
	port, err := e.ports.alloc(func(p int) error {
		var err error
		if e.workers != nil {
			if raw, err = listenRaw(e.cfg.IP, p); err != nil {
				return err
			}
			sock = raw
		} else {
			goConn, err = net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(e.cfg.IP, uint16(p))))
			if err != nil {
				return err
			}
			if sock, err = newGoSocket(goConn); err != nil {
				goConn.Close()
				return err
			}
		}
		c2, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(e.cfg.IP, uint16(p+1))))
		if err != nil {
			sock.close()
			return err
		}
		// Nobody reads RTCP: a minimal receive buffer keeps the kernel
		// from queueing up to rmem_default per leg (hundreds of MB over
		// a thousand long calls) before it starts dropping.
		c2.SetReadBuffer(1)
		rtcpConn = c2
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("media: new leg: %w", err)
	}
	l := &Leg{
		e:       e,
		id:      e.nextID.Add(1),
		port:    port,
		local:   netip.AddrPortFrom(e.cfg.IP, uint16(port)),
		sock:    sock,
		goConn:  goConn,
		rtcp:    rtcpConn,
		dtmf:    make(chan rune, 32),
		closing: make(chan struct{}),
		done:    make(chan struct{}),
		created: time.Now(),
	}
	// The kernel's arrival stamps (FirstForward), on from the start: the
	// first socket to ask turns them on for the whole system only a moment
	// later (a deferred kernel work item).
	sock.rxStamp()
	l.tx.ssrc = rand.Uint32()
	l.tx.seq = uint16(rand.Uint32())
	l.tx.ts = rand.Uint32()
	if raw != nil {
		// Hand the socket to its worker before the engine lists the leg,
		// so that a concurrent Engine.Close finds it there to remove.
		close(l.done) // no reader goroutine: the worker reads
		w := e.workers[l.id%uint64(len(e.workers))]
		if err := w.add(l, raw); err != nil {
			sock.close()
			rtcpConn.Close()
			e.ports.release(port)
			return nil, fmt.Errorf("media: new leg: %w", err)
		}
		l.worker = w
	} else {
		go l.readLoop()
	}
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		l.Close()
		return nil, ErrEngineClosed
	}
	e.legs[l] = struct{}{}
	e.mu.Unlock()
	return l, nil
}

// DelaySnapshot is a histogram of forwarding delays.
type DelaySnapshot struct {
	buckets [delayBuckets]uint64
}

// delayHistogram is a lock-free log-linear histogram of durations: 8
// buckets per power of two of nanoseconds (12.5% resolution).
type delayHistogram struct {
	buckets [delayBuckets]atomic.Uint64
}

const (
	delaySub     = 8
	delayBuckets = 64 * delaySub
)

func delayBucket(ns int64) int {
	if ns < delaySub {
		return int(max(ns, 0))
	}
	u := uint64(ns)
	exp := 63 - bits.LeadingZeros64(u)            // position of the top bit, >= 3
	sub := int(u>>(uint(exp)-3)) & (delaySub - 1) // next three bits
	return (exp-2)*delaySub + sub
}

// delayBucketLow returns the smallest duration that falls in bucket i.
func delayBucketLow(i int) int64 {
	if i < delaySub {
		return int64(i)
	}
	exp := i/delaySub + 2
	sub := i % delaySub
	return int64(delaySub+sub) << uint(exp-3)
}

func (h *delayHistogram) record(d time.Duration) {
	h.buckets[delayBucket(int64(d))].Add(1)
}

func (h *delayHistogram) snapshot() DelaySnapshot {
	var s DelaySnapshot
	for i := range h.buckets {
		s.buckets[i] = h.buckets[i].Load()
	}
	return s
}

// Sub returns the histogram of what was recorded after prev.
func (s DelaySnapshot) Sub(prev DelaySnapshot) DelaySnapshot {
	for i := range s.buckets {
		s.buckets[i] -= prev.buckets[i]
	}
	return s
}

// Count returns the number of delays recorded.
func (s DelaySnapshot) Count() uint64 {
	var n uint64
	for _, b := range s.buckets {
		n += b
	}
	return n
}

// Quantile returns the q-quantile (0 < q <= 1) as the upper bound of its
// bucket (within 12.5%), or 0 for an empty histogram.
func (s DelaySnapshot) Quantile(q float64) time.Duration {
	n := s.Count()
	if n == 0 {
		return 0
	}
	rank := uint64(q * float64(n))
	if rank == 0 {
		rank = 1
	}
	var seen uint64
	for i, b := range s.buckets {
		seen += b
		if seen >= rank {
			if i+1 < delayBuckets {
				return time.Duration(delayBucketLow(i + 1))
			}
			return time.Duration(delayBucketLow(i))
		}
	}
	return 0
}

// Cumulative returns, for each bound (ascending), how many delays were at
// most that long, as a Prometheus histogram counts them, and an estimate
// of their sum from the buckets' midpoints (within 12.5%).
func (s DelaySnapshot) Cumulative(bounds []time.Duration) (counts []uint64, sum time.Duration) {
	counts = make([]uint64, len(bounds))
	var total float64
	for i, b := range s.buckets {
		if b == 0 {
			continue
		}
		lo := delayBucketLow(i)
		hi := lo + 1
		if i+1 < delayBuckets {
			hi = delayBucketLow(i + 1)
		}
		total += float64(b) * float64(lo+hi) / 2
		// A bucket counts under a bound when all of it lies at or below.
		for j, bound := range bounds {
			if hi-1 <= int64(bound) {
				counts[j] += b
			}
		}
	}
	return counts, time.Duration(total)
}
