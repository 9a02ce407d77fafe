package media

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Errors of supervision.
var (
	// ErrBridgeDisconnected is returned by Supervise on a bridge that was
	// disconnected.
	ErrBridgeDisconnected = errors.New("media bridge disconnected")
	// ErrBridgeSupervised is returned by Supervise on a bridge that a
	// supervisor already joined.
	ErrBridgeSupervised = errors.New("media bridge already supervised")
	// ErrSupervisionEnded is returned by SetMode after Stop, or after the
	// supervision ended because a leg was closed or the bridge
	// disconnected.
	ErrSupervisionEnded = errors.New("media supervision ended")
)

// SuperviseMode says what a supervisor who joined a bridged call hears and
// who hears the supervisor. In a Bridge made by Connect(a, b, …), a is the
// customer and b the operator.
type SuperviseMode uint8

const (
	// SuperviseUnknown is the zero value: no valid mode.
	SuperviseUnknown SuperviseMode = iota
	// SuperviseListen: the supervisor hears the customer and the
	// operator; nobody hears the supervisor.
	SuperviseListen
	// SuperviseWhisper: the supervisor hears both; the operator hears the
	// customer and the supervisor; the customer hears only the operator.
	SuperviseWhisper
	// SuperviseBarge: a three-way call; each party hears the other two.
	SuperviseBarge
)

// String returns "listen", "whisper", "barge" or "unknown".
func (m SuperviseMode) String() string {
	switch m {
	case SuperviseListen:
		return "listen"
	case SuperviseWhisper:
		return "whisper"
	case SuperviseBarge:
		return "barge"
	default:
		return "unknown"
	}
}

// ParseSuperviseMode parses a mode name as String writes it,
// case-insensitively. Anything else is an error naming the value.
func ParseSuperviseMode(s string) (SuperviseMode, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "listen":
		return SuperviseListen, nil
	case "whisper":
		return SuperviseWhisper, nil
	case "barge":
		return SuperviseBarge, nil
	}
	return SuperviseUnknown, fmt.Errorf("supervision mode %q: want listen, whisper or barge", s)
}

func (m SuperviseMode) valid() bool { return m >= SuperviseListen && m <= SuperviseBarge }

// The outputs a supervision may mix, by the leg that receives them.
const (
	outSup = iota // the supervisor hears the customer (input 0) and the operator (input 1)
	outA          // the customer hears the operator (0) and the supervisor (1)
	outB          // the operator hears the customer (0) and the supervisor (1)
)

// route says where a supervised leg's received packets go besides the
// bridge's recorder. Audio is decoded into the listed mixer inputs; if
// direct, audio and events are also forwarded untouched to the sink's leg
// as on the two-party path; if not, events go out on the events mixer's
// stream (nil: dropped) and audio nowhere else.
type route struct {
	outs   []*mixOut
	inputs []int // input index of each of outs
	direct bool
	events *mixOut
}

// Supervision is a supervisor's leg joined to a Bridge by
// Engine.Supervise. It is safe for concurrent use.
type Supervision struct {
	br   *Bridge
	sup  *Leg
	outs [3]*mixOut

	mu    sync.Mutex // serialises mode changes and the end
	mode  SuperviseMode
	sinks [3]*sink // installed on sup, a, b (indexed like outs)
	ended bool

	stop     chan struct{}
	stopOnce sync.Once
	done     chan struct{}
}

// Supervise joins the supervisor's leg sup to the call bridged by br in
// the given mode (see SuperviseMode; br's first leg is the customer, the
// second the operator). Outputs that carry two parties are mixed: decoded,
// summed with saturation and encoded in the receiving leg's codec every
// 20 ms, each input through a small jitter buffer (10-20 ms of added
// delay on average, at most about 40; see mix.go); outputs that carry one party stay on the bridge's
// direct path. The bridge's recording goes on unchanged (customer left,
// operator right, the supervisor not recorded); RFC 4733 events keep
// passing between the customer and the operator, while the supervisor's
// events are only reported on sup.DTMF. Change the mode with SetMode; Stop
// (or Bridge.Disconnect, or closing any of the three legs) ends the
// supervision and returns the bridge to its two-party path.
//
// sup must be started and in no bridge (ErrLegBusy otherwise). Errors:
// ErrBridgeDisconnected, ErrBridgeSupervised (one supervisor per bridge),
// ErrLegClosed, ErrLegNotStarted, or an invalid mode.
func (e *Engine) Supervise(br *Bridge, sup *Leg, mode SuperviseMode) (*Supervision, error) {
	s, err := e.supervise(br, sup, mode)
	if err != nil {
		return nil, err
	}
	go s.run()
	return s, nil
}

// supervise joins sup without starting the clock (benchmarks tick by hand).
func (e *Engine) supervise(br *Bridge, sup *Leg, mode SuperviseMode) (*Supervision, error) {
	if !mode.valid() {
		return nil, fmt.Errorf("media: supervision mode %d: want listen, whisper or barge", mode)
	}
	if br == nil || sup == nil {
		return nil, errors.New("media: supervise: nil bridge or leg")
	}
	if sup == br.a || sup == br.b {
		return nil, errors.New("media: the supervisor's leg is a leg of the bridge")
	}
	if sup.closed.Load() {
		return nil, ErrLegClosed
	}
	if sup.cfg.Load() == nil {
		return nil, ErrLegNotStarted
	}
	s := &Supervision{br: br, sup: sup, stop: make(chan struct{}), done: make(chan struct{})}
	for i, to := range []*Leg{sup, br.a, br.b} {
		s.outs[i] = &mixOut{to: to, src: 1<<63 | e.nextID.Add(1)}
	}
	br.mu.Lock()
	defer br.mu.Unlock()
	switch {
	case br.disconnected:
		return nil, ErrBridgeDisconnected
	case br.sup != nil:
		return nil, ErrBridgeSupervised
	}
	s.sinks = [3]*sink{nil, br.sa, br.sb}
	if !sup.sink.CompareAndSwap(nil, &sink{route: &route{}}) {
		if sup.closed.Load() {
			return nil, ErrLegClosed
		}
		return nil, ErrLegBusy
	}
	s.sinks[0] = sup.sink.Load()
	if err := s.setMode(mode); err != nil {
		s.restore()
		return nil, err
	}
	br.sup = s
	return s, nil
}

// sinksFor returns the sinks of sup, a and b in mode m, and which outputs
// it mixes.
func (s *Supervision) sinksFor(m SuperviseMode) (sinks [3]*sink, active [3]bool) {
	br, o := s.br, s.outs
	sa := newSink(br.b, br.sa.rec.Load(), br.sa.ch)
	sb := newSink(br.a, br.sb.rec.Load(), br.sb.ch)
	ss := &sink{}
	switch m {
	case SuperviseListen:
		sa.route = &route{outs: []*mixOut{o[outSup]}, inputs: []int{0}, direct: true}
		sb.route = &route{outs: []*mixOut{o[outSup]}, inputs: []int{1}, direct: true}
		ss.route = &route{}
		active = [3]bool{outSup: true}
	case SuperviseWhisper:
		sa.route = &route{outs: []*mixOut{o[outSup], o[outB]}, inputs: []int{0, 0}, events: o[outB]}
		sb.route = &route{outs: []*mixOut{o[outSup]}, inputs: []int{1}, direct: true}
		ss.route = &route{outs: []*mixOut{o[outB]}, inputs: []int{1}}
		active = [3]bool{outSup: true, outB: true}
	case SuperviseBarge:
		sa.route = &route{outs: []*mixOut{o[outSup], o[outB]}, inputs: []int{0, 0}, events: o[outB]}
		sb.route = &route{outs: []*mixOut{o[outSup], o[outA]}, inputs: []int{1, 0}, events: o[outA]}
		ss.route = &route{outs: []*mixOut{o[outA], o[outB]}, inputs: []int{1, 1}}
		active = [3]bool{true, true, true}
	}
	return [3]*sink{ss, sa, sb}, active
}

// setMode installs mode m's sinks on the three legs. A leg whose sink is
// not the one the supervision installed was closed (Close clears it):
// the supervision is over. It runs under s.mu or before s is shared.
func (s *Supervision) setMode(m SuperviseMode) error {
	sinks, active := s.sinksFor(m)
	// Mixers start before the sinks feed them, and stop after.
	for i, on := range active {
		if on {
			s.outs[i].setActive(true)
		}
	}
	legs := [3]*Leg{s.sup, s.br.a, s.br.b}
	for i, l := range legs {
		if !l.sink.CompareAndSwap(s.sinks[i], sinks[i]) {
			return ErrLegClosed
		}
		s.sinks[i] = sinks[i]
	}
	for i, on := range active {
		if !on {
			s.outs[i].setActive(false)
		}
	}
	s.mode = m
	return nil
}

// restore puts the bridge's own sinks back on its legs and frees the
// supervisor's leg. It runs under s.mu or before s is shared.
func (s *Supervision) restore() {
	s.br.a.sink.CompareAndSwap(s.sinks[1], s.br.sa)
	s.br.b.sink.CompareAndSwap(s.sinks[2], s.br.sb)
	s.sup.sink.CompareAndSwap(s.sinks[0], nil)
	for _, o := range s.outs {
		o.setActive(false)
	}
}

// Mode returns the current mode.
func (s *Supervision) Mode() SuperviseMode {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mode
}

// SetMode switches to mode m at once (the next packet of each leg goes its
// new way). It returns ErrSupervisionEnded after the end, an error for an
// invalid mode, or ErrLegClosed when a leg was closed (which ends the
// supervision).
func (s *Supervision) SetMode(m SuperviseMode) error {
	if !m.valid() {
		return fmt.Errorf("media: supervision mode %d: want listen, whisper or barge", m)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended {
		return ErrSupervisionEnded
	}
	if m == s.mode {
		return nil
	}
	if err := s.setMode(m); err != nil {
		s.stopOnce.Do(func() { close(s.stop) })
		return err
	}
	return nil
}

// Stop ends the supervision: the supervisor's leg is freed (it stays open)
// and the bridge returns to its two-party path, the same as before
// Supervise. It waits for the supervision's clock to stop and is
// idempotent.
func (s *Supervision) Stop() {
	s.stopOnce.Do(func() { close(s.stop) })
	<-s.done
}

// Done is closed when the supervision has ended: by Stop, by
// Bridge.Disconnect, or because one of its legs was closed.
func (s *Supervision) Done() <-chan struct{} { return s.done }

// supTick is the period of the mixing clock.
const supTick = 20 * time.Millisecond

// run is the supervision's clock: every 20 ms each active output sends
// one mixed frame. It ends the supervision when told or when a leg closes.
func (s *Supervision) run() {
	defer close(s.done)
	defer s.end()
	timer := time.NewTimer(supTick)
	defer timer.Stop()
	start := time.Now()
	for i := 1; ; i++ {
		next := start.Add(time.Duration(i) * supTick)
		timer.Reset(time.Until(next))
		select {
		case <-s.stop:
			return
		case <-s.sup.closing:
			return
		case <-s.br.a.closing:
			return
		case <-s.br.b.closing:
			return
		case <-timer.C:
		}
		now := time.Now()
		if behind := int(now.Sub(next) / supTick); behind >= 5 {
			// The clock stalled (an overloaded machine): skip the lost
			// frames rather than send a burst; the jitter buffers drop
			// what piled up.
			i += behind
			for _, o := range s.outs {
				o.skip(behind)
			}
		}
		s.tick(now)
	}
}

// tick makes one frame on every active output.
func (s *Supervision) tick(now time.Time) {
	for _, o := range s.outs {
		o.tick(now)
	}
}

// end restores the bridge and marks the supervision over.
func (s *Supervision) end() {
	s.mu.Lock()
	s.ended = true
	s.restore()
	s.mu.Unlock()
	s.br.mu.Lock()
	if s.br.sup == s {
		s.br.sup = nil
	}
	s.br.mu.Unlock()
}

// supervised passes one packet received on l along its route r. It reports
// whether the packet is done with (not forwarded directly). It runs in
// the leg's reader, before the direct path converts the payload in place.
func (l *Leg) supervised(r *route, cfg *legConfig, h rtpHeader, pkt []byte, event bool, now time.Time) bool {
	if event {
		if !r.direct && r.events != nil {
			r.events.event(pkt, h, now)
		}
		return !r.direct
	}
	if len(r.outs) > 0 {
		payload := pkt[h.payloadOff:h.payloadEnd]
		ts := h.ts
		for len(payload) > 0 {
			k := min(len(payload), FrameSamples)
			pcm := Decode(l.pcm[:0], payload[:k], cfg.codec)
			for i, o := range r.outs {
				o.push(r.inputs[i], h.ssrc, ts, pcm)
			}
			payload, ts = payload[k:], ts+uint32(k)
		}
	}
	return !r.direct
}
