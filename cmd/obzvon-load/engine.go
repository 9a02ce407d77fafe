package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/ipv4"
)

// Batching limits: recvmmsg/sendmmsg take at most UIO_MAXIOV (1024)
// messages; receive batches are smaller to keep per-socket buffers small.
const (
	recvBatch  = 64
	sendBatch  = 1024
	stampBatch = 32 // sendmmsg batch while measuring delay
	packetSize = rtpHeaderLen + packetSamples
	// maxCatchUp is how many packets per leg a late tick sends at most.
	// More would keep the count when the machine starves the generator,
	// but as bursts of up to maxCatchUp×calls packets that overflow the
	// appliance's socket buffers: loss the appliance would not see from
	// real phones. The rest are counted as skipped.
	maxCatchUp  = 3
	sockBufSize = 4 << 20
	maxSamples  = 32 // payload samples kept for the tone check
)

// engine carries the RTP of all legs of one role over a handful of UDP
// sockets: one receiver goroutine per socket (recvmmsg), one 20 ms ticker
// goroutine that sends the tone of every streaming leg (sendmmsg), and, in
// echo mode, each receiver sends what it got straight back. Packets are
// matched to legs by SSRC, learnt from the first packet of a stream by its
// source address (the peer's RTP address from SDP). Nothing on the packet
// path allocates.
type engine struct {
	name  string
	ip    netip.Addr
	socks []*rtpSock
	echo  bool
	tone  [128][]byte // tone payload by payload type (PCMU, PCMA)

	mu      sync.RWMutex
	bySSRC  map[uint32]*leg
	byAddr  map[uint64][]*leg
	senders []*leg
	done    rtpTotals // of stopped legs
	perLeg  []uint64  // packets each stopped leg received

	next      atomic.Uint32
	rxPackets atomic.Uint64 // matched to a leg
	unmatched atomic.Uint64
	txPackets atomic.Uint64
	txErrors  atomic.Uint64
	lateTicks atomic.Uint64
	skipped   atomic.Uint64 // packets dropped from the schedule (ticker > 40 ms late)
	// tickGaps are the times between the sending ticker's runs (ticker
	// goroutine only; read after close): 20 ms when the machine lets the
	// generator keep time, longer when it starves it.
	tickGaps delayHist

	sampleMu sync.Mutex
	samples  []sample
	sendErr  string

	// Delay measurement (measureDelay): a caller engine measures the round
	// trip of its tone through an echoing far end; an echoing engine
	// measures its own echo latency. Times are Unix ns minus baseNs.
	stamps bool
	baseNs int64
	// arrivals: kernel arrival times for what legs' watches see (the
	// phones' customer audio), without the round-trip machinery.
	arrivals bool

	wg sync.WaitGroup
}

// sample is a copy of one received payload (the first of each stream).
type sample struct {
	pt      byte
	payload []byte
}

// rtpTotals are the RTP counters of a set of legs.
type rtpTotals struct {
	Legs     uint64 `json:"legs"`
	Streams  uint64 `json:"streams"`
	Sent     uint64 `json:"sent"`
	Received uint64 `json:"received"`
	Expected uint64 `json:"expected"`
	Lost     uint64 `json:"lost"`
	// ToneEqual counts received payloads byte-identical to the tone.
	ToneEqual uint64 `json:"tone_equal"`
	// Scheduled is how many tone packets the streaming legs should have
	// sent: their time up divided by 20 ms.
	Scheduled uint64 `json:"scheduled"`
	// Silent counts legs that were up but received no RTP at all (one-way
	// or no audio).
	Silent uint64 `json:"legs_without_rtp"`
	// SilentSent counts the silent legs that sent RTP themselves (an echo
	// should have come back), and SilentSentMax is the most packets one of
	// them sent: a few is a call hung up before its first echo arrived
	// (a starved machine), seconds' worth is audio lost.
	SilentSent    uint64 `json:"silent_legs_that_sent"`
	SilentSentMax uint64 `json:"silent_leg_sent_max"`
}

func (t *rtpTotals) add(o rtpTotals) {
	t.Legs += o.Legs
	t.Streams += o.Streams
	t.Sent += o.Sent
	t.Received += o.Received
	t.Expected += o.Expected
	t.Lost += o.Lost
	t.ToneEqual += o.ToneEqual
	t.Scheduled += o.Scheduled
	t.Silent += o.Silent
	t.SilentSent += o.SilentSent
	t.SilentSentMax = max(t.SilentSentMax, o.SilentSentMax)
}

type rtpSock struct {
	conn *net.UDPConn
	pc   *ipv4.PacketConn
	port int
	rd   *batchReader

	// ticker goroutine only
	txMsgs []ipv4.Message
	txBufs [][]byte
	txLegs []*leg
	txN    int
	sendNs int64 // recent sendmmsg cost per packet (delay measurement)
	// receiver goroutine only
	echoMsgs []ipv4.Message
	echoBufs [][]byte
	echoRx   []int64
	misses   []int
	now      int64     // Unix ns of the current batch's read
	hist     delayHist // round trips (caller) or echo latencies (trunk)
	rejected uint64    // round-trip samples that matched no sent packet
}

// addrKey packs an IPv4 address and port into one comparable integer.
func addrKey(ap netip.AddrPort) uint64 {
	a := ap.Addr().Unmap()
	if !a.Is4() {
		return 0
	}
	b := a.As4()
	return uint64(binary.BigEndian.Uint32(b[:]))<<16 | uint64(ap.Port())
}

// newEngine binds n UDP sockets on ip (port 0) for a role called name.
func newEngine(name string, ip netip.Addr, n int, echo bool) (*engine, error) {
	if !ip.Is4() {
		return nil, fmt.Errorf("%s: RTP address %s: only IPv4 is supported", name, ip)
	}
	e := &engine{
		name: name, ip: ip, echo: echo,
		bySSRC: map[uint32]*leg{},
		byAddr: map[uint64][]*leg{},
	}
	e.tone[ptPCMU] = tonePayload(ptPCMU)
	e.tone[ptPCMA] = tonePayload(ptPCMA)
	for range n {
		c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, 0)))
		if err != nil {
			e.closeSockets()
			return nil, fmt.Errorf("%s: RTP socket: %w", name, err)
		}
		_ = c.SetReadBuffer(sockBufSize)
		_ = c.SetWriteBuffer(sockBufSize)
		rd, err := newBatchReader(c, recvBatch, 1500)
		if err != nil {
			c.Close()
			e.closeSockets()
			return nil, err
		}
		s := &rtpSock{conn: c, pc: ipv4.NewPacketConn(c), port: c.LocalAddr().(*net.UDPAddr).Port, rd: rd,
			echoMsgs: make([]ipv4.Message, recvBatch), echoBufs: make([][]byte, recvBatch), echoRx: make([]int64, recvBatch), misses: make([]int, 0, recvBatch)}
		e.socks = append(e.socks, s)
	}
	return e, nil
}

// measureDelay turns on kernel arrival timestamps and send-time stamps.
// Call before run.
func (e *engine) measureDelay() error {
	for _, s := range e.socks {
		if err := s.rd.enableStamps(); err != nil {
			return fmt.Errorf("%s: %w", e.name, err)
		}
	}
	e.stamps = true
	e.baseNs = time.Now().UnixNano()
	return nil
}

// stampArrivals turns on kernel arrival timestamps for the audio watches
// (SO_TIMESTAMPNS): a packet's time is when it reached the socket, not
// when the receiver goroutine got round to reading it. Call before run.
func (e *engine) stampArrivals() error {
	for _, s := range e.socks {
		if err := s.rd.enableStamps(); err != nil {
			return fmt.Errorf("%s: %w", e.name, err)
		}
	}
	e.arrivals = true
	return nil
}

// delay merges the sockets' histograms; call after close.
func (e *engine) delay() (*delayHist, uint64) {
	var h delayHist
	var rej uint64
	for _, s := range e.socks {
		h.merge(&s.hist)
		rej += s.rejected
	}
	return &h, rej
}

func (e *engine) closeSockets() {
	for _, s := range e.socks {
		s.conn.Close()
	}
}

// run starts the receivers and the ticker; they stop when ctx ends or
// close is called.
func (e *engine) run(ctx context.Context) {
	for _, s := range e.socks {
		e.wg.Add(1)
		go func() {
			defer e.wg.Done()
			e.receive(s)
		}()
	}
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		e.tick(ctx)
	}()
}

// close stops the goroutines, closes the sockets and folds the counters of
// legs still running into the totals.
func (e *engine) close() {
	e.closeSockets()
	e.wg.Wait()
	e.mu.Lock()
	defer e.mu.Unlock()
	var live []*leg
	for _, ls := range e.byAddr {
		live = append(live, ls...)
	}
	live = append(live, e.senders...)
	for _, l := range live {
		if !l.stopped { // a call's own stop later must not count it again
			l.stopped = true
			e.foldLocked(l)
		}
	}
}

// totals returns the counters of stopped legs (all legs after close),
// and the packets each received, sorted.
func (e *engine) totals() (rtpTotals, []uint64) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	per := slices.Clone(e.perLeg)
	slices.Sort(per)
	return e.done, per
}

// leg is one call's RTP stream pair on one of the engine's sockets.
type leg struct {
	e    *engine
	sock *rtpSock
	ssrc uint32
	pt   byte
	send bool

	// under e.mu
	remote    *net.UDPAddr
	key       uint64
	started   bool
	startedAt time.Time
	stopped   bool
	sendIdx   int
	boundSSRC []uint32

	// src, when set, is what the leg sends instead of the 1 kHz tone;
	// watch, when set, classifies what it receives (set both before start).
	src    *audioSrc
	watch  *audioWatch
	callID string // SIP Call-ID, for re-INVITEs

	// sending goroutine only (ticker, or the receiver in echo mode)
	frame int
	seq   uint16
	ts    uint32
	tx    uint64
	// sendStamp[seq%64] = (send time - baseNs)<<16 | seq, for round trips
	sendStamp [64]atomic.Uint64

	// the socket's receiver goroutine only
	cur       seqStream
	curSSRC   uint32
	rx        rtpTotals
	rttOff    uint16 // received seq - our seq of the same packet
	rttSynced bool
}

// newLeg returns a leg on the next socket (round robin). send makes it
// stream the tone once started.
func (e *engine) newLeg(send bool) *leg {
	i := int(e.next.Add(1)-1) % len(e.socks)
	return &leg{e: e, sock: e.socks[i], ssrc: rand.Uint32(), seq: uint16(rand.Uint32()), ts: rand.Uint32(), send: send, sendIdx: -1}
}

// port is the local RTP port to announce in SDP.
func (l *leg) port() int { return l.sock.port }

// start sets the peer's RTP address and payload type and lets packets
// flow. Only loopback peers are accepted.
func (l *leg) start(remote netip.AddrPort, pt byte) error {
	if !remote.Addr().IsLoopback() || !remote.Addr().Unmap().Is4() {
		return fmt.Errorf("%s: peer RTP address %s is not IPv4 loopback; refusing to send there", l.e.name, remote)
	}
	if remote.Port() == 0 {
		return fmt.Errorf("%s: peer RTP port is 0", l.e.name)
	}
	if pt != ptPCMU && pt != ptPCMA {
		return fmt.Errorf("%s: payload type %d is not G.711", l.e.name, pt)
	}
	e := l.e
	e.mu.Lock()
	defer e.mu.Unlock()
	if l.started || l.stopped {
		return errors.New("leg already started")
	}
	l.started = true
	l.startedAt = time.Now()
	l.remote = net.UDPAddrFromAddrPort(netip.AddrPortFrom(remote.Addr().Unmap(), remote.Port()))
	l.key = addrKey(remote)
	l.pt = pt
	e.byAddr[l.key] = append(e.byAddr[l.key], l)
	if l.send {
		l.sendIdx = len(e.senders)
		e.senders = append(e.senders, l)
	}
	return nil
}

// stop ends the leg and adds its counters to the engine's totals.
func (l *leg) stop() {
	e := l.e
	e.mu.Lock()
	defer e.mu.Unlock()
	if l.stopped {
		return
	}
	l.stopped = true
	if !l.started {
		return
	}
	e.foldLocked(l)
}

func (e *engine) foldLocked(l *leg) {
	if ls := e.byAddr[l.key]; ls != nil {
		for i, x := range ls {
			if x == l {
				ls = append(ls[:i], ls[i+1:]...)
				break
			}
		}
		if len(ls) == 0 {
			delete(e.byAddr, l.key)
		} else {
			e.byAddr[l.key] = ls
		}
	}
	if l.sendIdx >= 0 {
		last := e.senders[len(e.senders)-1]
		e.senders[l.sendIdx] = last
		last.sendIdx = l.sendIdx
		e.senders = e.senders[:len(e.senders)-1]
		l.sendIdx = -1
	}
	for _, s := range l.boundSSRC {
		if e.bySSRC[s] == l {
			delete(e.bySSRC, s)
		}
	}
	l.closeStream()
	t := l.rx
	t.Legs = 1
	t.Sent = l.tx
	if t.Received == 0 {
		t.Silent = 1
		if t.Sent > 0 {
			t.SilentSent, t.SilentSentMax = 1, t.Sent
		}
	}
	if l.send {
		t.Scheduled = uint64(time.Since(l.startedAt) / (packetPeriod * time.Millisecond))
	}
	e.done.add(t)
	e.perLeg = append(e.perLeg, t.Received)
	l.rx = rtpTotals{}
	l.tx = 0
}

// closeStream adds the current stream's loss figures to the leg's.
func (l *leg) closeStream() {
	if !l.cur.started {
		return
	}
	l.rx.Streams++
	l.rx.Expected += l.cur.expected()
	l.rx.Lost += l.cur.lost()
	l.cur = seqStream{}
}

// receive is the receiver goroutine of one socket.
func (e *engine) receive(s *rtpSock) {
	for e.receiveOnce(s) == nil {
	}
}

// receiveOnce reads one batch from s, accounts it and sends the echoes.
func (e *engine) receiveOnce(s *rtpSock) error {
	n, err := s.rd.read()
	if err != nil {
		return err
	}
	s.misses = s.misses[:0]
	s.now = time.Now().UnixNano()
	matched, echoN := 0, 0
	e.mu.RLock()
	for i := range n {
		b, key := s.rd.packet(i)
		h, err := parseRTP(b)
		if err != nil {
			e.unmatched.Add(1)
			continue
		}
		l := e.bySSRC[h.ssrc]
		if l == nil || l.key != key || l.sock != s {
			s.misses = append(s.misses, i)
			continue
		}
		echoN = e.gotPacket(s, l, b, h, i, echoN)
		matched++
	}
	e.mu.RUnlock()
	if len(s.misses) > 0 {
		e.mu.Lock()
		for _, i := range s.misses {
			b, key := s.rd.packet(i)
			h, _ := parseRTP(b)
			l := e.bySSRC[h.ssrc] // bound by an earlier miss of this batch?
			if l == nil || l.key != key || l.sock != s {
				l = e.bindLocked(s, h.ssrc, key)
			}
			if l == nil {
				e.unmatched.Add(1)
				continue
			}
			echoN = e.gotPacket(s, l, b, h, i, echoN)
			matched++
		}
		e.mu.Unlock()
	}
	e.rxPackets.Add(uint64(matched))
	if echoN > 0 {
		if e.stamps {
			now := time.Now().UnixNano()
			for j := range echoN {
				if rx := s.echoRx[j]; rx > 0 {
					s.hist.add(now - rx)
				}
			}
		}
		sent := 0
		for sent < echoN {
			k, err := s.pc.WriteBatch(s.echoMsgs[sent:echoN], 0)
			if err != nil {
				e.txErrors.Add(uint64(echoN - sent))
				break
			}
			sent += k
		}
		e.txPackets.Add(uint64(sent))
	}
	return nil
}

// bindLocked finds the leg a new SSRC from source key belongs to: the leg
// on socket s whose peer is at key; when several legs share that peer address (the
// generator talking to itself), the one whose own SSRC it is (an echo),
// else one that has no stream yet, else none.
func (e *engine) bindLocked(s *rtpSock, ssrc uint32, key uint64) *leg {
	var cands []*leg
	for _, c := range e.byAddr[key] {
		if c.sock == s {
			cands = append(cands, c)
		}
	}
	var l *leg
	switch {
	case len(cands) == 0:
		return nil
	case len(cands) == 1:
		l = cands[0]
	default:
		for _, c := range cands {
			if c.ssrc == ssrc {
				l = c
				break
			}
		}
		if l == nil {
			for _, c := range cands {
				if len(c.boundSSRC) == 0 {
					l = c
					break
				}
			}
		}
		if l == nil {
			// Every leg here has its stream already: most likely a late
			// echo of a leg that has stopped. Do not count it on another.
			return nil
		}
	}
	if old := e.bySSRC[ssrc]; old != nil && old != l {
		// An SSRC seen before from another address: rebind.
		delete(e.bySSRC, ssrc)
	}
	e.bySSRC[ssrc] = l
	l.boundSSRC = append(l.boundSSRC, ssrc)
	return l
}

// gotPacket accounts one packet of leg l and queues its echo.
func (e *engine) gotPacket(s *rtpSock, l *leg, b []byte, h rtpHeader, i, echoN int) int {
	if !l.cur.started || h.ssrc != l.curSSRC {
		l.closeStream()
		l.curSSRC = h.ssrc
		l.rttSynced = false
		e.keepSample(h.pt, b[h.payloadOff:h.payloadEnd])
	}
	if e.stamps && !e.echo {
		e.roundTrip(s, l, h.seq, s.rd.rxTime(i))
	}
	if !l.cur.add(h.seq) {
		l.closeStream()
		l.cur.add(h.seq)
	}
	l.rx.Received++
	if l.watch != nil {
		at := s.now
		if e.stamps || e.arrivals {
			if t := s.rd.rxTime(i); t > 0 {
				at = t
			}
		}
		l.watch.observe(audioClassifier().classify(h.pt, b[h.payloadOff:h.payloadEnd]), at, h.marker)
	}
	if int(h.pt) < len(e.tone) && e.tone[h.pt] != nil && bytes.Equal(b[h.payloadOff:h.payloadEnd], e.tone[h.pt]) {
		l.rx.ToneEqual++
	}
	if e.echo {
		s.echoBufs[echoN] = b
		if e.stamps {
			s.echoRx[echoN] = s.rd.rxTime(i)
		}
		m := &s.echoMsgs[echoN]
		m.Buffers = s.echoBufs[echoN : echoN+1]
		m.Addr = l.remote
		l.tx++
		echoN++
	}
	return echoN
}

// maxRoundTrip bounds a plausible round trip; longer ones are counted as
// rejected (a wrong match, or the far end does not echo).
const maxRoundTrip = 2 * time.Second

// syncGap is how much earlier than the best candidate the next one must
// have been sent for a stream's offset to be learnt from a packet.
const syncGap = 5 * time.Millisecond

// roundTrip records the time from sending our packet to the kernel's
// arrival of its echo (rx, Unix ns). The far end and obzvon renumber
// packets by a constant offset per stream, learnt from a stream's first
// packet as the one giving the shortest non-negative round trip (right
// while round trips stay under 20 ms, one packet period).
func (e *engine) roundTrip(s *rtpSock, l *leg, seq uint16, rx int64) {
	if rx == 0 {
		return
	}
	rel := rx - e.baseNs
	if !l.rttSynced {
		best, second := int64(math.MaxInt64), int64(math.MaxInt64)
		var bestSeq uint16
		for j := range l.sendStamp {
			v := l.sendStamp[j].Load()
			if v == 0 {
				continue
			}
			d := rel - int64(v>>16)
			switch {
			case d < 0:
			case d < best:
				second, best, bestSeq = best, d, uint16(v)
			case d < second:
				second = d
			}
		}
		// Packets sent back to back (catching up after a late tick)
		// cannot be told apart by time: wait for one sent alone.
		if best == math.MaxInt64 || second-best < int64(syncGap) {
			s.rejected++
			return
		}
		l.rttOff, l.rttSynced = seq-bestSeq, true
	}
	want := seq - l.rttOff
	v := l.sendStamp[want%64].Load()
	if v == 0 || uint16(v) != want {
		s.rejected++ // older than 64 packets, not sent yet, or a wrong sync
		l.rttSynced = false
		return
	}
	d := rel - int64(v>>16)
	if d < 0 || d > int64(maxRoundTrip) {
		s.rejected++
		l.rttSynced = false
		return
	}
	s.hist.add(d)
}

// noteSendErr keeps the first send error for the report.
func (e *engine) noteSendErr(err error) {
	e.sampleMu.Lock()
	defer e.sampleMu.Unlock()
	if e.sendErr == "" {
		e.sendErr = err.Error()
	}
}

func (e *engine) keepSample(pt byte, payload []byte) {
	e.sampleMu.Lock()
	defer e.sampleMu.Unlock()
	if len(e.samples) < maxSamples {
		e.samples = append(e.samples, sample{pt: pt, payload: bytes.Clone(payload)})
	}
}

// tick sends every streaming leg's tone every 20 ms until ctx ends.
func (e *engine) tick(ctx context.Context) {
	// start is taken before the ticker starts, so that its first tick
	// (start + 20 ms or later) finds the first packet due, not none.
	start := time.Now()
	t := time.NewTicker(packetPeriod * time.Millisecond)
	defer t.Stop()
	var ticks int64
	var last time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			due := int64(now.Sub(start) / (packetPeriod * time.Millisecond))
			k := due - ticks
			if k < 1 {
				continue // a late tick and the next one fell into one period
			}
			if k > 1 {
				e.lateTicks.Add(1)
			}
			if !last.IsZero() {
				e.tickGaps.add(int64(now.Sub(last)))
			}
			last = now
			if k > maxCatchUp {
				e.mu.RLock()
				e.skipped.Add(uint64(k-maxCatchUp) * uint64(len(e.senders)))
				e.mu.RUnlock()
				k = maxCatchUp
			}
			ticks = due
			e.sendTone(int(k))
		}
	}
}

// sendTone sends k tone packets on every streaming leg.
func (e *engine) sendTone(k int) {
	for _, s := range e.socks {
		s.txN = 0
	}
	e.mu.RLock()
	for _, l := range e.senders {
		s := l.sock
		tone := e.tone[l.pt]
		for range k {
			i := s.txN
			if i == len(s.txBufs) {
				s.growTx()
			}
			b := s.txBufs[i]
			l.seq++
			l.ts += packetSamples
			putRTPHeader(b, l.tx == 0, l.pt, l.seq, l.ts, l.ssrc)
			if l.src != nil {
				copy(b[rtpHeaderLen:], l.src.frame(l.pt, l.frame))
				l.frame++
			} else {
				copy(b[rtpHeaderLen:], tone)
			}
			s.txMsgs[i].Addr = l.remote
			s.txLegs[i] = l
			l.tx++
			s.txN++
		}
	}
	e.mu.RUnlock()
	chunk := sendBatch
	if e.stamps {
		// Small chunks: a packet's send time is interpolated within its
		// chunk's sendmmsg call.
		chunk = stampBatch
	}
	for _, s := range e.socks {
		sent := 0
		for sent < s.txN {
			end := min(s.txN, sent+chunk)
			var t0 int64
			if e.stamps {
				// Stamp before sending: over loopback the echo can be
				// back before sendmmsg returns.
				t0 = time.Now().UnixNano()
				e.stampSent(s, sent, end, t0)
			}
			n, err := s.pc.WriteBatch(s.txMsgs[sent:end], 0)
			if err != nil {
				e.txErrors.Add(uint64(s.txN - sent))
				e.noteSendErr(err)
				break
			}
			if e.stamps && n > 0 {
				s.sendNs = (s.sendNs + (time.Now().UnixNano()-t0)/int64(n)) / 2
			}
			sent += n
		}
		e.txPackets.Add(uint64(sent))
	}
	for _, s := range e.socks {
		clear(s.txLegs[:s.txN]) // do not keep stopped legs alive
	}
}

// stampSent records the send times of packets from..end of s's batch,
// which sendmmsg is about to send starting at t0: each at t0 plus the
// socket's recent cost per packet times its place in the batch.
func (e *engine) stampSent(s *rtpSock, from, end int, t0 int64) {
	for i := from; i < end; i++ {
		seq := binary.BigEndian.Uint16(s.txBufs[i][2:4])
		at := t0 + s.sendNs*int64(i-from) - e.baseNs
		s.txLegs[i].sendStamp[seq%64].Store(uint64(at)<<16 | uint64(seq))
	}
}

// growTx doubles the socket's send batch (allocates; happens only while
// the number of calls grows).
func (s *rtpSock) growTx() {
	n := max(64, 2*len(s.txBufs))
	bufs := make([][]byte, n)
	copy(bufs, s.txBufs)
	for i := len(s.txBufs); i < n; i++ {
		bufs[i] = make([]byte, packetSize)
	}
	legs := make([]*leg, n)
	copy(legs, s.txLegs)
	s.txLegs = legs
	msgs := make([]ipv4.Message, n)
	copy(msgs, s.txMsgs) // keeps the addresses of packets queued this tick
	for i := range msgs {
		msgs[i].Buffers = bufs[i : i+1]
	}
	s.txBufs, s.txMsgs = bufs, msgs
}

// retarget moves a started leg to a new peer address and payload type (a
// re-INVITE's offer) and turns its sending on or off (held: the peer's
// offer is sendonly or inactive).
func (l *leg) retarget(remote netip.AddrPort, pt byte, send bool) error {
	if !remote.Addr().IsLoopback() || !remote.Addr().Unmap().Is4() || remote.Port() == 0 {
		return fmt.Errorf("%s: peer RTP address %s is not IPv4 loopback with a port; refusing to send there", l.e.name, remote)
	}
	if pt != ptPCMU && pt != ptPCMA {
		return fmt.Errorf("%s: payload type %d is not G.711", l.e.name, pt)
	}
	e := l.e
	e.mu.Lock()
	defer e.mu.Unlock()
	if !l.started || l.stopped {
		return errors.New("leg not running")
	}
	if key := addrKey(remote); key != l.key {
		ls := e.byAddr[l.key]
		for i, x := range ls {
			if x == l {
				ls = append(ls[:i], ls[i+1:]...)
				break
			}
		}
		if len(ls) == 0 {
			delete(e.byAddr, l.key)
		} else {
			e.byAddr[l.key] = ls
		}
		l.key = key
		e.byAddr[key] = append(e.byAddr[key], l)
		l.remote = net.UDPAddrFromAddrPort(netip.AddrPortFrom(remote.Addr().Unmap(), remote.Port()))
	}
	l.pt = pt
	switch {
	case send && l.sendIdx < 0:
		l.sendIdx = len(e.senders)
		e.senders = append(e.senders, l)
	case !send && l.sendIdx >= 0:
		last := e.senders[len(e.senders)-1]
		e.senders[l.sendIdx] = last
		last.sendIdx = l.sendIdx
		e.senders = e.senders[:len(e.senders)-1]
		l.sendIdx = -1
	}
	l.send = send
	return nil
}
