package media

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// learnPackets is how many packets after Start or Update may move the
// remote address (symmetric RTP, for peers behind NAT whose SDP shows a
// private address). While nothing has come from the remote, the first
// packet from another address within them is latched as the new remote,
// once; later packets from other addresses are dropped and counted in
// Stats.Rejected. Only the signalled address (the SDP's) may take the
// remote back from an address latched that way: a stale packet of an
// earlier call whose port was reused, arriving before the caller's first,
// must not lock the caller out. When the window is over the socket is
// connected to the remote and the kernel drops strangers' packets itself,
// so nobody can hijack an established stream.
const learnPackets = 10

// LegParams is what the SDP offer/answer negotiated for a leg.
type LegParams struct {
	// Remote is where to send RTP (the peer's c= address and m= port).
	Remote netip.AddrPort
	// Codec is the audio codec: PCMU or PCMA.
	Codec Codec
	// PayloadType is the negotiated audio payload type. With PCMA, 0
	// means the static type 8.
	PayloadType uint8
	// EventPT is the telephone-event payload type; 0 = not negotiated.
	EventPT uint8
	// SRTP, when not nil, keys the leg's media with SRTP (RFC 3711):
	// what it receives must authenticate and is decrypted before anything
	// else sees it, what it sends is encrypted. Nil: plain RTP.
	SRTP *SRTP
	// WaitForPeer sends to Remote only once RTP has come from the peer
	// (at Remote, or at the address learned from its packets), apart from
	// the first UnheardBudget packets: an untrusted caller's SDP may name
	// a third party's address to turn the appliance into an amplifier
	// (RTP reflection). Once set on a leg, Update keeps it.
	WaitForPeer bool
}

// UnheardBudget is how many packets a WaitForPeer leg sends before any
// RTP has come from its peer (0.5 s of audio at 20 ms): enough for a
// phone whose first packets cross ours, little to reflect at a stranger.
const UnheardBudget = 25

// legConfig is the immutable, atomically swapped configuration of a
// started leg.
type legConfig struct {
	remote   netip.AddrPort
	sdp      netip.AddrPort // the signalled remote (LegParams.Remote)
	codec    Codec
	pt       uint8
	eventPT  uint8
	gen      uint64 // bumped by Start/Update: restarts remote learning
	learned  bool   // remote was latched from received packets
	waitPeer bool   // see LegParams.WaitForPeer
	srtp     *srtpSession
}

func (p LegParams) config() (*legConfig, error) {
	if !p.Remote.IsValid() || p.Remote.Port() == 0 {
		return nil, fmt.Errorf("media: remote address %q is not a valid address and port", p.Remote)
	}
	if p.Codec != PCMU && p.Codec != PCMA {
		return nil, fmt.Errorf("media: codec %v: want PCMU or PCMA", p.Codec)
	}
	pt := p.PayloadType
	if p.Codec == PCMA && pt == 0 {
		pt = 8
	}
	if pt > 127 || p.EventPT > 127 {
		return nil, fmt.Errorf("media: payload types %d/%d: want 0-127", pt, p.EventPT)
	}
	if p.EventPT != 0 && p.EventPT == pt {
		return nil, fmt.Errorf("media: telephone-event payload type %d equals the audio payload type", p.EventPT)
	}
	remote := unmapAddrPort(p.Remote)
	return &legConfig{remote: remote, sdp: remote, codec: p.Codec, pt: pt, eventPT: p.EventPT, waitPeer: p.WaitForPeer}, nil
}

func unmapAddrPort(a netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(a.Addr().Unmap(), a.Port())
}

// Stats are a leg's RTP statistics.
type Stats struct {
	PacketsIn  uint64 // RTP packets received from the remote
	PacketsOut uint64 // RTP packets sent
	BytesIn    uint64 // bytes of RTP packets received (headers included)
	BytesOut   uint64 // bytes of RTP packets sent (headers included)
	// Lost is the cumulative number of packets lost (RFC 3550 A.3:
	// expected minus received, over all sources); duplicates can make it
	// negative.
	Lost int64
	// Jitter is the interarrival jitter of the current source (RFC 3550
	// §6.4.1, A.8).
	Jitter time.Duration
	// PayloadType is the audio payload type in use.
	PayloadType uint8
	// LastReceived is when the last packet from the remote arrived (zero
	// if none): the signal for an RTP inactivity timeout.
	LastReceived time.Time
	// Rejected counts packets dropped as malformed, from an unknown
	// address (while the socket is not yet connected), or of a payload
	// type not negotiated, and the SRTP packets counted below.
	Rejected uint64
	// SRTPAuthFailed counts SRTP packets dropped because their
	// authentication tag did not match (tampered, or not keyed with the
	// peer's key); SRTPReplayed those dropped as replays (RFC 3711 §3.3.2).
	SRTPAuthFailed, SRTPReplayed uint64
}

// sink says where a leg's received packets go: to a leg (the other leg
// of a bridge, or the leg itself for Echo) and to a recorder channel.
// While a bridge is supervised, route sends them to mixers as well or
// instead; on the two-party path it is nil.
type sink struct {
	to    *Leg
	rec   atomic.Pointer[Recorder] // or nil; Bridge.SetRecorder may set it late
	ch    int
	route *route
	// first, if set, is called once with the first packet forwarded to
	// to (Bridge.OnFirstForward).
	first atomic.Pointer[func(FirstForward)]
}

// Leg is one RTP stream endpoint: a local port pair and a remote peer.
// Received packets are read by the leg's reader (its own goroutine, or an
// epoll worker) and handed to the leg's sink, if any, right there (no
// queue, no re-pacing). A Leg is safe for concurrent use.
type Leg struct {
	e       *Engine
	id      uint64
	port    int
	local   netip.AddrPort
	sock    rtpSocket
	goConn  *net.UDPConn // read by readLoop; nil when a worker reads
	worker  *worker      // the epoll worker reading sock, or nil
	rtcp    *net.UDPConn
	created time.Time

	cfg      atomic.Pointer[legConfig]
	sink     atomic.Pointer[sink]
	amd      atomic.Pointer[amdTap] // answering-machine detection, or nil
	hold     atomic.Bool
	playing  atomic.Int32
	closed   atomic.Bool
	wantDTMF atomic.Bool
	// heardGen is the configuration generation whose peer has sent RTP;
	// unheard counts packets sent to a WaitForPeer peer not yet heard.
	heardGen atomic.Uint64
	unheard  atomic.Int64

	// connMu serialises connect/disconnect of the RTP socket; connected is
	// the configuration whose remote the socket is connected to, or nil.
	connMu    sync.Mutex
	connected atomic.Pointer[legConfig]

	closeOnce sync.Once
	closing   chan struct{} // closed when Close starts
	done      chan struct{} // closed when the reader exits
	dtmf      chan rune

	// Reader state: touched only by the leg's reader.
	seenGen      uint64
	learnLeft    int
	dedupe       eventDeduper
	tone         *ToneDetector
	reportedLost int64
	pcm          [FrameSamples]int16

	statsMu sync.Mutex
	rx      rxStats
	in      struct{ packets, bytes, rejected, srtpAuth, srtpReplay uint64 }
	lastIn  time.Time

	tx txStream
}

// txStream is the state of the RTP stream a leg sends: one SSRC, with
// sequence numbers and timestamps kept continuous when the source of the
// packets (a bridged peer's SSRC, a prompt) changes (RFC 3550 §5.1).
type txStream struct {
	mu          sync.Mutex
	ssrc        uint32
	seq         uint16 // last sent (initially random)
	ts          uint32 // last sent (initially random)
	lastSamples uint32 // samples in the last packet sent
	lastSend    time.Time
	started     bool
	src         uint64 // current source
	seqOff      uint16
	tsOff       uint32
	packets     uint64
	bytes       uint64
	closed      bool // the socket is closed: send nothing
}

// config validates p for this leg: the remote must be of the leg's
// address family (an IPv4 leg cannot send to an IPv6 peer; a dual-stack
// IPv6 leg can send to both).
func (l *Leg) config(p LegParams) (*legConfig, error) {
	c, err := p.config()
	if err != nil {
		return nil, err
	}
	if l.local.Addr().Unmap().Is4() && !c.remote.Addr().Is4() {
		return nil, fmt.Errorf("media: remote %v is IPv6 but the leg is on IPv4 %v", c.remote, l.local)
	}
	return c, nil
}

// LocalAddr returns the RTP address to put in SDP.
func (l *Leg) LocalAddr() netip.AddrPort { return l.local }

// Start sets the negotiated remote and codec and lets packets flow.
func (l *Leg) Start(p LegParams) error {
	if l.closed.Load() {
		return ErrLegClosed
	}
	c, err := l.config(p)
	if err != nil {
		return err
	}
	if err := c.keySRTP(p.SRTP, nil); err != nil {
		return err
	}
	c.gen = 1
	if !l.cfg.CompareAndSwap(nil, c) {
		return ErrLegStarted
	}
	return nil
}

// Update applies a re-INVITE's new remote and codec. Remote learning
// restarts for the next packets.
func (l *Leg) Update(p LegParams) error {
	if l.closed.Load() {
		return ErrLegClosed
	}
	c, err := l.config(p)
	if err != nil {
		return err
	}
	for {
		old := l.cfg.Load()
		if old == nil {
			return ErrLegNotStarted
		}
		if err := c.keySRTP(p.SRTP, old); err != nil {
			return err
		}
		c.gen = old.gen + 1
		c.waitPeer = c.waitPeer || old.waitPeer
		if l.cfg.CompareAndSwap(old, c) {
			break
		}
	}
	l.connMu.Lock()
	defer l.connMu.Unlock()
	if l.closed.Load() {
		return nil
	}
	if cur := l.connected.Load(); cur != nil {
		if cur.remote == c.remote {
			l.connected.Store(c)
		} else {
			l.connected.Store(nil)
			if err := l.sock.disconnect(); err != nil {
				l.e.log.Warn("media: disconnect RTP socket", logPort, l.port, "error", err, logHint, "harmless once; report it if it repeats")
			}
		}
	}
	return nil
}

// settle connects the socket to cfg's remote once the learning window is
// over, if cfg is still the leg's configuration. It runs in the reader.
func (l *Leg) settle(cfg *legConfig) {
	l.connMu.Lock()
	defer l.connMu.Unlock()
	if l.cfg.Load() != cfg || l.connected.Load() != nil || l.closed.Load() {
		return
	}
	if err := l.sock.connect(cfg.remote); err != nil {
		l.e.log.Debug("media: connect RTP socket", logPort, l.port, "error", err)
		return
	}
	l.connected.Store(cfg)
}

// SetHold stops (true) or resumes (false) sending to the peer. Receiving,
// statistics and recording go on. On resume the sent stream continues
// without a sequence gap.
func (l *Leg) SetHold(hold bool) {
	if l.hold.Swap(hold) && !hold {
		l.tx.mu.Lock()
		l.tx.src = 0 // force re-sync of sequence and timestamp
		l.tx.mu.Unlock()
	}
}

// Codec returns the negotiated codec, or CodecUnknown before Start.
func (l *Leg) Codec() Codec {
	if c := l.cfg.Load(); c != nil {
		return c.codec
	}
	return CodecUnknown
}

// Remote returns the current remote address (negotiated or learned).
func (l *Leg) Remote() netip.AddrPort {
	if c := l.cfg.Load(); c != nil {
		return c.remote
	}
	return netip.AddrPort{}
}

// packetCounts returns the packets received and sent.
func (l *Leg) packetCounts() (in, out uint64) {
	l.statsMu.Lock()
	in = l.in.packets
	l.statsMu.Unlock()
	l.tx.mu.Lock()
	out = l.tx.packets
	l.tx.mu.Unlock()
	return in, out
}

// Stats returns a snapshot of the leg's statistics.
func (l *Leg) Stats() Stats {
	var s Stats
	l.statsMu.Lock()
	s.PacketsIn, s.BytesIn, s.Rejected = l.in.packets, l.in.bytes, l.in.rejected
	s.SRTPAuthFailed, s.SRTPReplayed = l.in.srtpAuth, l.in.srtpReplay
	s.LastReceived = l.lastIn
	s.Lost = l.rx.lost()
	s.Jitter = l.rx.src.jitterDuration(8000)
	l.statsMu.Unlock()
	l.tx.mu.Lock()
	s.PacketsOut, s.BytesOut = l.tx.packets, l.tx.bytes
	l.tx.mu.Unlock()
	if c := l.cfg.Load(); c != nil {
		s.PayloadType = c.pt
	}
	return s
}

// DTMF returns the channel of digits received: RFC 4733 events when the
// leg negotiated telephone-event (one digit per event, on its first packet
// seen, deduplicated by timestamp), else in-band tones found by a Goertzel
// detector on the received audio. In-band detection costs CPU and runs
// only once DTMF has been called. Digits are dropped when the channel's
// buffer (32) is full. The channel is closed when the leg is closed.
func (l *Leg) DTMF() <-chan rune {
	l.wantDTMF.Store(true)
	return l.dtmf
}

// Close stops the reader, closes the sockets and frees the ports. It is
// idempotent and safe to call concurrently with anything else on the leg.
func (l *Leg) Close() error {
	l.closeOnce.Do(func() {
		l.closed.Store(true)
		close(l.closing)
		l.sink.Store(nil)
		if l.worker != nil {
			l.worker.remove(l) // returns once the worker is done with l
		}
		// Wait out a connect or send in progress; later ones see closed.
		l.connMu.Lock()
		l.tx.mu.Lock()
		l.tx.closed = true
		l.tx.mu.Unlock()
		l.connMu.Unlock()
		l.sock.close()
		l.rtcp.Close()
		<-l.done
		close(l.dtmf)
		l.e.ports.release(l.port)
		in, out := l.packetCounts()
		l.e.mu.Lock()
		delete(l.e.legs, l)
		l.e.closedIn += in
		l.e.closedOut += out
		l.e.mu.Unlock()
	})
	return nil
}

// readLoop reads the leg's socket until it is closed.
func (l *Leg) readLoop() {
	defer close(l.done)
	buf := make([]byte, 1500)
	for {
		n, from, err := l.goConn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if l.closed.Load() || errors.Is(err, net.ErrClosed) {
				return
			}
			continue // e.g. ICMP-induced errors on some systems
		}
		l.handle(buf[:n], from, time.Now())
	}
}

// handle processes one received packet. It runs in the read goroutine.
func (l *Leg) handle(pkt []byte, from netip.AddrPort, now time.Time) {
	cfg := l.cfg.Load()
	if cfg == nil {
		return // not started: nobody knows what this is
	}
	if cfg.gen != l.seenGen {
		l.seenGen, l.learnLeft = cfg.gen, learnPackets
	}
	wire := len(pkt)
	var h rtpHeader
	var err error
	if cfg.srtp != nil {
		// Nothing unauthenticated goes further, not even to move the
		// remote address.
		var n int
		if n, err = cfg.srtp.recv.unprotect(pkt, &h); err != nil {
			l.rejectSRTP(err)
			return
		}
		pkt = pkt[:n]
	} else {
		err = h.parse(pkt)
	}
	audio := err == nil && h.pt == cfg.pt
	event := err == nil && cfg.eventPT != 0 && h.pt == cfg.eventPT
	from = unmapAddrPort(from)
	if from != cfg.remote {
		if !l.mayLatch(cfg, from, audio || event) {
			l.reject()
			return
		}
		nc := *cfg
		nc.remote, nc.learned = from, true
		if !l.cfg.CompareAndSwap(cfg, &nc) {
			return // Update raced: drop this one packet
		}
		l.e.log.Debug("media: remote learned from RTP source", logPort, l.port, logRemote, from.String())
		cfg = &nc
	}
	if !audio && !event {
		l.reject()
		return
	}
	if l.heardGen.Load() != cfg.gen {
		l.heardGen.Store(cfg.gen) // the peer is where we send: see send
	}
	if l.learnLeft > 0 {
		l.learnLeft--
		if l.learnLeft == 0 {
			l.settle(cfg)
		}
	}
	payload := pkt[h.payloadOff:h.payloadEnd]
	arrival := uint32(int64(now.Sub(l.created)) / nsPerSample)

	l.statsMu.Lock()
	l.in.packets++
	l.in.bytes += uint64(wire)
	l.lastIn = now
	l.rx.packet(h.ssrc, h.seq, h.ts, arrival, audio)
	lost := l.rx.lost()
	l.statsMu.Unlock()
	if lost > l.reportedLost {
		l.e.lost.Add(uint64(lost - l.reportedLost))
		l.reportedLost = lost
	}

	if event {
		l.handleEvent(payload, h)
	} else if cfg.eventPT == 0 && l.wantDTMF.Load() {
		if l.tone == nil {
			l.tone = new(ToneDetector)
		}
		for len(payload) > 0 { // payload may exceed one frame
			k := min(len(payload), FrameSamples)
			pcm := l.pcm[:0]
			pcm = Decode(pcm, payload[:k], cfg.codec)
			l.tone.Feed(pcm, l.emitDigit)
			payload = payload[k:]
		}
		payload = pkt[h.payloadOff:h.payloadEnd]
	}

	if t := l.amd.Load(); t != nil && audio {
		t.packet(cfg.codec, payload, h.ssrc, h.ts, now)
	}

	s := l.sink.Load()
	if s == nil {
		return
	}
	if rec := s.rec.Load(); audio && rec != nil {
		rec.write(s.ch, cfg.codec, payload, h.ssrc, h.ts, now)
	}
	if s.route != nil && l.supervised(s.route, cfg, h, pkt, event, now) {
		return
	}
	to := s.to
	if to.playing.Load() > 0 {
		return // a prompt has the floor on that leg
	}
	tc := to.cfg.Load()
	if tc == nil {
		return
	}
	var pt uint8
	samples := uint32(len(payload))
	if event {
		if tc.eventPT == 0 {
			return // the other side cannot take events
		}
		pt, samples = tc.eventPT, FrameSamples
	} else {
		pt = tc.pt
		Transcode(payload, cfg.codec, tc.codec)
	}
	src := l.id<<32 | uint64(h.ssrc)
	if to.send(pkt[h.payloadOff-12:h.payloadEnd], tc, src, h.seq, h.ts, h.marker, pt, samples, now) {
		l.e.delay.record(time.Since(now))
		if f := s.first.Load(); f != nil && s.first.CompareAndSwap(f, nil) {
			(*f)(l.firstForward(now))
		}
	}
}

// mayLatch reports whether an RTP packet (rtp: of a negotiated payload
// type) from from, which is not cfg's remote, moves the remote there: only
// within the learning window, and either the signalled address taking the
// remote back from one learned, or nothing heard yet from the remote and
// nothing learned. It runs in the reader.
func (l *Leg) mayLatch(cfg *legConfig, from netip.AddrPort, rtp bool) bool {
	if l.learnLeft <= 0 || !rtp {
		return false
	}
	if from == cfg.sdp {
		return true // cfg.remote was learned: the caller itself is here
	}
	return !cfg.learned && l.heardGen.Load() != cfg.gen
}

// newSink returns a sink to to recording on channel ch of rec (nil: none).
func newSink(to *Leg, rec *Recorder, ch int) *sink {
	s := &sink{to: to, ch: ch}
	if rec != nil {
		s.rec.Store(rec)
	}
	return s
}

// firstForward describes a packet read at now and just forwarded.
func (l *Leg) firstForward(now time.Time) FirstForward {
	ff := FirstForward{Arrived: now, Read: now, Sent: time.Now()}
	// The kernel's stamp of the last datagram read: this one (with an
	// epoll worker, the last of its batch).
	if t, ok := l.sock.rxStamp(); ok && !t.After(now) && now.Sub(t) < 10*time.Second {
		ff.Arrived, ff.Stamped = t, true
	}
	return ff
}

func (l *Leg) reject() {
	l.e.dropped.Add(1)
	l.statsMu.Lock()
	l.in.rejected++
	l.statsMu.Unlock()
}

func (l *Leg) handleEvent(payload []byte, h rtpHeader) {
	ev, err := ParseEvent(payload)
	if err != nil {
		return
	}
	d, ok := ev.Digit()
	if !ok || !l.dedupe.packet(h.ssrc, h.ts) {
		return
	}
	l.emitDigit(d)
}

func (l *Leg) emitDigit(d rune) {
	select {
	case l.dtmf <- d:
	default:
		l.e.log.Warn("media: DTMF digit dropped, nobody reads the channel", logPort, l.port, logHint, "a digit pressed outside a menu; nothing to do")
	}
}

// send writes a 12-byte RTP header into b[:12] and sends b to the leg's
// remote. src identifies the packet's source; seq and ts are in the
// source's numbering and are shifted to keep this leg's stream continuous
// across source changes. It reports whether the packet was sent.
func (l *Leg) send(b []byte, cfg *legConfig, src uint64, seq uint16, ts uint32, marker bool, pt uint8, samples uint32, now time.Time) bool {
	if l.hold.Load() || l.closed.Load() {
		return false
	}
	if cfg.waitPeer && l.heardGen.Load() != cfg.gen && l.unheard.Add(1) > UnheardBudget {
		return false // nothing heard from there: maybe not the caller's address
	}
	t := &l.tx
	t.mu.Lock()
	if t.src != src {
		// New source: continue our numbering (RFC 3550 §5.1) and mark
		// the start of the new talkspurt.
		nextTS := t.ts
		if t.started {
			gap := uint32(max(int64(now.Sub(t.lastSend))/nsPerSample, 0))
			nextTS += max(gap, t.lastSamples)
		}
		t.seqOff = t.seq + 1 - seq
		t.tsOff = nextTS - ts
		t.src = src
		if pt == cfg.pt { // not on events: their M bit means event start
			marker = true
		}
		t.started = true
	}
	oseq, ots := seq+t.seqOff, ts+t.tsOff
	if int16(oseq-t.seq) > 0 {
		t.seq = oseq
	}
	if int32(ots-t.ts) >= 0 {
		t.ts, t.lastSamples = ots, samples
	}
	t.lastSend = now
	putRTPHeader(b, marker, pt, oseq, ots, t.ssrc)
	if t.closed {
		t.mu.Unlock()
		return false
	}
	if cfg.srtp != nil {
		var err error
		if b, err = cfg.srtp.send.protect(b); err != nil {
			t.mu.Unlock()
			l.e.dropped.Add(1)
			return false
		}
	}
	// The send runs under t.mu: Close takes it before closing the
	// socket, so the descriptor is never used after it is closed.
	var err error
	if l.connected.Load() == cfg {
		err = l.sock.write(b)
		if err != nil { // disconnected under us by Update: say where
			err = l.sock.writeTo(b, cfg.remote)
		}
	} else {
		err = l.sock.writeTo(b, cfg.remote)
	}
	if err == nil {
		t.packets++
		t.bytes += uint64(len(b))
	}
	t.mu.Unlock()
	if err != nil {
		l.e.dropped.Add(1)
		return false
	}
	return true
}
