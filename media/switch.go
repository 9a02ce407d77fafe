package media

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Bridge is a connection made by Engine.Connect between two legs.
type Bridge struct {
	a, b   *Leg
	sa, sb *sink
	once   sync.Once
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
	if a == b {
		return nil, errors.New("media: cannot connect a leg to itself (use Echo)")
	}
	if a.closed.Load() || b.closed.Load() {
		return nil, ErrLegClosed
	}
	if rec != nil {
		rec.setCounter(&e.recBytes)
	}
	br := &Bridge{a: a, b: b, sa: &sink{to: b, rec: rec, ch: 0}, sb: &sink{to: a, rec: rec, ch: 1}}
	if !a.sink.CompareAndSwap(nil, br.sa) {
		return nil, ErrLegBusy
	}
	if !b.sink.CompareAndSwap(nil, br.sb) {
		a.sink.CompareAndSwap(br.sa, nil)
		return nil, ErrLegBusy
	}
	return br, nil
}

// Disconnect stops switching; the legs stay open and can be connected
// again. Packets already being forwarded may still arrive. The recorder
// is not closed. Disconnect is idempotent.
func (br *Bridge) Disconnect() {
	br.once.Do(func() {
		br.a.sink.CompareAndSwap(br.sa, nil)
		br.b.sink.CompareAndSwap(br.sb, nil)
	})
}

// Echo sends what the caller says on l back to the caller, until ctx is
// done (it returns ctx.Err()) or the leg is closed (ErrLegClosed).
func (e *Engine) Echo(ctx context.Context, l *Leg) error {
	if l.cfg.Load() == nil {
		return ErrLegNotStarted
	}
	s := &sink{to: l}
	if !l.sink.CompareAndSwap(nil, s) {
		return ErrLegBusy
	}
	defer l.sink.CompareAndSwap(s, nil)
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-l.closing:
		return ErrLegClosed
	}
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
