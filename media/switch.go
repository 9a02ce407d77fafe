package media

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Bridge is a connection made by Engine.Connect between two legs.
type Bridge struct {
	a, b   *Leg
	sa, sb *sink
	once   sync.Once

	mu           sync.Mutex
	disconnected bool
	sup          *Supervision // the supervisor joined, or nil
}

// Connect switches a and b together: packets received on a are sent on b
// and the other way round, as they arrive (no re-pacing). Audio payloads
// pass untouched when the codecs match and are converted PCMU<->PCMA by
// table when they differ; RFC 4733 events pass as events with the payload
// type remapped to the receiving leg's EventPT, and are dropped if it has
// none. Each leg's sent stream keeps one SSRC with continuous sequence
// numbers and timestamps across source changes. If rec is not nil it
// records a's received audio on the left channel and b's on the right.
// A leg can be in one bridge (or Echo) at a time: ErrLegBusy otherwise.
func (e *Engine) Connect(a, b *Leg, rec *Recorder) (*Bridge, error) {
	return e.ConnectWatch(a, b, rec, nil)
}

// ConnectWatch is Connect that also calls first once, in the reading
// goroutine (it must not block), with the first packet received on a
// that the bridge sends on b; packets a prompt playing on b keeps back do
// not count. Its Arrived is the kernel's arrival time (legs ask for the
// stamps when created; the kernel turns them on a moment after the first
// asks).
func (e *Engine) ConnectWatch(a, b *Leg, rec *Recorder, first func(FirstForward)) (*Bridge, error) {
	if a == b {
		return nil, errors.New("media: cannot connect a leg to itself (use Echo)")
	}
	if a.closed.Load() || b.closed.Load() {
		return nil, ErrLegClosed
	}
	if rec != nil {
		rec.setCounter(&e.recBytes)
	}
	br := &Bridge{a: a, b: b, sa: newSink(b, rec, 0), sb: newSink(a, rec, 1)}
	if first != nil {
		br.sa.first.Store(&first)
	}
	if !a.sink.CompareAndSwap(nil, br.sa) {
		return nil, ErrLegBusy
	}
	if !b.sink.CompareAndSwap(nil, br.sb) {
		a.sink.CompareAndSwap(br.sa, nil)
		return nil, ErrLegBusy
	}
	return br, nil
}

// SetRecorder starts recording a bridge made without a recorder (as
// Connect's rec; nil: nothing). Audio switched before the call is not in
// the recording. It does nothing if the bridge records already, or is
// supervised.
func (br *Bridge) SetRecorder(rec *Recorder) {
	if rec == nil {
		return
	}
	rec.setCounter(&br.a.e.recBytes)
	br.mu.Lock()
	defer br.mu.Unlock()
	if br.sup != nil || br.disconnected {
		return
	}
	br.sa.rec.CompareAndSwap(nil, rec)
	br.sb.rec.CompareAndSwap(nil, rec)
}

// FirstForward times the first packet a bridge forwarded one way.
type FirstForward struct {
	// Arrived is when the packet reached the receiving socket (the
	// kernel's stamp; Read when Stamped is false).
	Arrived time.Time
	// Stamped says Arrived is the kernel's stamp.
	Stamped bool
	// Read is when the engine read it, Sent when it had sent it on.
	Read, Sent time.Time
}

// Disconnect stops switching; the legs stay open and can be connected
// again. Packets already being forwarded may still arrive. A supervision
// of the bridge is stopped first (its leg stays open). The recorder is not
// closed. Disconnect is idempotent.
func (br *Bridge) Disconnect() {
	br.once.Do(func() {
		br.mu.Lock()
		br.disconnected = true
		sup := br.sup
		br.mu.Unlock()
		if sup != nil {
			sup.Stop()
		}
		br.a.sink.CompareAndSwap(br.sa, nil)
		br.b.sink.CompareAndSwap(br.sb, nil)
	})
}

// Echo sends what the caller says on l back to the caller, until ctx is
// done (it returns ctx.Err()) or the leg is closed (ErrLegClosed).
func (e *Engine) Echo(ctx context.Context, l *Leg) error {
	stop, err := e.StartEcho(l)
	if err != nil {
		return err
	}
	defer stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-l.closing:
		return ErrLegClosed
	}
}

// StartEcho sends what the caller says on l back to the caller until
// stop is called or the leg is closed; stop is idempotent. Echo is the
// blocking form.
func (e *Engine) StartEcho(l *Leg) (stop func(), err error) {
	if l.cfg.Load() == nil {
		return nil, ErrLegNotStarted
	}
	s := &sink{to: l}
	if !l.sink.CompareAndSwap(nil, s) {
		return nil, ErrLegBusy
	}
	return func() { l.sink.CompareAndSwap(s, nil) }, nil
}

// Play sends the prompt on l in the leg's codec as 20 ms packets paced by
// the clock. It returns nil when the prompt is done, ctx.Err() when ctx is
// done first, or ErrLegClosed. While a prompt plays, a bridge's packets
// towards l are dropped: the prompt has the floor. A codec change by
// Update takes effect at the next frame. Held legs send nothing but the
// prompt's time passes.
func (e *Engine) Play(ctx context.Context, l *Leg, p *Prompt) error {
	if l.closed.Load() {
		return ErrLegClosed
	}
	if l.cfg.Load() == nil {
		return ErrLegNotStarted
	}
	l.playing.Add(1)
	defer l.playing.Add(-1)
	src := 1<<63 | e.nextID.Add(1)
	frames := len(p.pcmu) / FrameSamples
	var buf [12 + FrameSamples]byte
	start := time.Now()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for i := range frames {
		if i > 0 {
			timer.Reset(time.Until(start.Add(time.Duration(i) * 20 * time.Millisecond)))
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-l.closing:
				return ErrLegClosed
			case <-timer.C:
			}
		} else if err := ctx.Err(); err != nil {
			return err
		}
		cfg := l.cfg.Load()
		copy(buf[12:], p.frames(cfg.codec)[i*FrameSamples:])
		l.send(buf[:], cfg, src, uint16(i), uint32(i*FrameSamples), i == 0, cfg.pt, FrameSamples, time.Now())
	}
	return nil
}

// dtmfEndPackets is how many times the end of an event is sent (RFC 4733
// §2.5.1.4: the final packet is retransmitted, typically three times).
const dtmfEndPackets = 3

// SendDTMF sends digit on l as RFC 4733 events: one packet every 20 ms for
// dur (at least 40 ms), the last of them marked as the end and sent three
// times (RFC 4733 §2.5.1.4). It returns an error if the
// leg negotiated no telephone-event, the digit is not a DTMF digit, ctx is
// done (ctx.Err()) or the leg is closed (ErrLegClosed). While it runs,
// a bridge's packets towards l are dropped, as during Play.
func (e *Engine) SendDTMF(ctx context.Context, l *Leg, digit rune, dur time.Duration) error {
	code, err := EventCode(digit)
	if err != nil {
		return fmt.Errorf("media: %w", err)
	}
	if l.closed.Load() {
		return ErrLegClosed
	}
	cfg := l.cfg.Load()
	if cfg == nil {
		return ErrLegNotStarted
	}
	if cfg.eventPT == 0 {
		return errors.New("media: the leg negotiated no telephone-event")
	}
	l.playing.Add(1)
	defer l.playing.Add(-1)
	src := 1<<63 | e.nextID.Add(1)
	steps := max(int(dur/(20*time.Millisecond)), 2)
	var buf [12 + 4]byte
	start := time.Now()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for i := range steps + dtmfEndPackets - 1 {
		if i > 0 {
			timer.Reset(time.Until(start.Add(time.Duration(min(i, steps-1)) * 20 * time.Millisecond)))
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-l.closing:
				return ErrLegClosed
			case <-timer.C:
			}
		}
		n := min(i+1, steps)
		ev := Event{Code: code, End: i >= steps-1, Volume: 10, Duration: uint16(n * FrameSamples)}
		AppendEvent(buf[12:12], ev)
		cfg := l.cfg.Load()
		if cfg.eventPT == 0 {
			return errors.New("media: the leg negotiated no telephone-event")
		}
		// All packets of one event carry its start timestamp (§2.5.1.2);
		// the sequence number advances per packet.
		l.send(buf[:], cfg, src, uint16(i), 0, i == 0, cfg.eventPT, uint32(n*FrameSamples), time.Now())
	}
	return nil
}
