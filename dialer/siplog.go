package dialer

// The SIP libraries' logs (sipgo, diago) go through siplogHandler: at info
// and above it drops message bodies and personal fields (a packet that
// does not parse was logged whole at ERROR, with the caller's name and
// number: ~33 KB a packet), and it rate-limits repeated lines (issue 11
// item 6). Debug records pass unchanged: debug logging is for a developer
// at a test bench, never on in production.

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo/sip"
)

// Repeated-line limits: per message text, sipLogBurst lines, then one a
// sipLogEvery; suppressed lines are counted in the next one let through.
const (
	sipLogBurst    = 5
	sipLogEvery    = 10 * time.Second
	sipLogMaxKeys  = 256
	sipLogMaxValue = 160 // longer string values are cut
)

// personalKeys are attribute keys whose values are SIP content: headers
// naming people and numbers, whole messages, bodies.
var personalKeys = map[string]bool{
	"data": true, "body": true, "msg": true, "message": true, "sip": true,
	"req": true, "res": true, "request": true, "response": true,
	"from": true, "to": true, "req.from": true, "req.to": true, "res.from": true, "res.to": true,
	"contact": true, "uri": true, "recipient": true, "caller": false,
}

// siplogHandler filters and rate-limits records on their way to next.
type siplogHandler struct {
	next  slog.Handler
	attrs []slog.Attr // added by WithAttrs, already filtered
	state *siplogState
}

type siplogState struct {
	now  func() time.Time
	mu   sync.Mutex
	keys map[string]*siplogKey
}

type siplogKey struct {
	tokens     float64
	at         time.Time
	suppressed int
}

func newSIPLogHandler(next slog.Handler, now func() time.Time) *siplogHandler {
	return &siplogHandler{next: next, state: &siplogState{now: now, keys: map[string]*siplogKey{}}}
}

func (h *siplogHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

func (h *siplogHandler) WithAttrs(as []slog.Attr) slog.Handler {
	out := make([]slog.Attr, 0, len(h.attrs)+len(as))
	out = append(out, h.attrs...)
	out = append(out, as...) // filtered per record: the level is not known yet
	return &siplogHandler{next: h.next, attrs: out, state: h.state}
}

func (h *siplogHandler) WithGroup(name string) slog.Handler {
	return &siplogHandler{next: h.next.WithGroup(name), attrs: h.attrs, state: h.state}
}

func (h *siplogHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level < slog.LevelInfo {
		nr := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
		nr.AddAttrs(h.attrs...)
		r.Attrs(func(a slog.Attr) bool { nr.AddAttrs(a); return true })
		return h.next.Handle(ctx, nr)
	}
	suppressed, ok := h.state.allow(r.Level.String() + " " + r.Message)
	if !ok {
		return nil
	}
	nr := slog.NewRecord(r.Time, r.Level, clean(r.Message), r.PC)
	for _, a := range h.attrs {
		nr.AddAttrs(scrub(a))
	}
	r.Attrs(func(a slog.Attr) bool { nr.AddAttrs(scrub(a)); return true })
	if suppressed > 0 {
		nr.AddAttrs(slog.Int("suppressed", suppressed))
	}
	return h.next.Handle(ctx, nr)
}

// allow is a token bucket per message; it returns how many lines of that
// message were dropped since the last one let through.
func (s *siplogState) allow(key string) (int, bool) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.keys[key]
	if k == nil && len(s.keys) >= sipLogMaxKeys {
		key = "other"
		k = s.keys[key]
	}
	if k == nil {
		k = &siplogKey{tokens: sipLogBurst, at: now}
		s.keys[key] = k
	}
	k.tokens = min(sipLogBurst, k.tokens+float64(now.Sub(k.at))/float64(sipLogEvery))
	k.at = now
	if k.tokens < 1 {
		k.suppressed++
		return 0, false
	}
	k.tokens--
	n := k.suppressed
	k.suppressed = 0
	return n, true
}

// scrub drops SIP content from an attribute: values of personal keys,
// any value holding a line break (a message or a part of one), and cuts
// long values.
func scrub(a slog.Attr) slog.Attr {
	if a.Value.Kind() == slog.KindGroup {
		g := a.Value.Group()
		out := make([]any, 0, len(g))
		for _, x := range g {
			out = append(out, scrub(x))
		}
		return slog.Group(a.Key, out...)
	}
	if personalKeys[strings.ToLower(a.Key)] {
		return slog.String(a.Key, "[dropped]")
	}
	v := a.Value.Resolve()
	var s string
	switch v.Kind() {
	case slog.KindString:
		s = v.String()
	case slog.KindAny:
		switch x := v.Any().(type) {
		case error:
			s = x.Error()
		case fmt.Stringer:
			if _, isMsg := x.(sip.Message); isMsg {
				return slog.String(a.Key, "[dropped]")
			}
			s = x.String()
		default:
			return a
		}
	default:
		return a
	}
	return slog.String(a.Key, clean(s))
}

// clean keeps the first line of s, cut to sipLogMaxValue bytes; a SIP
// message's first line is its request or status line, whose URI may name
// a number: that is cut at the first '@' or ';'.
func clean(s string) string {
	cut := false
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s, cut = s[:i], true
	}
	if len(s) > sipLogMaxValue {
		s, cut = s[:sipLogMaxValue], true
	}
	if i := strings.Index(s, "sip:"); i >= 0 {
		s, cut = s[:i+4], true
	}
	if cut {
		s += "…"
	}
	return s
}

// sipLogSink is what the SIP libraries' package-global default logger
// (sip.SetDefaultLogger, set once per process) writes to: the handler of
// the server started last.
var (
	sipLogSink   atomic.Pointer[slog.Handler]
	sipLogGlobal sync.Once
)

type sinkHandler struct{}

func (sinkHandler) Enabled(ctx context.Context, l slog.Level) bool {
	if h := sipLogSink.Load(); h != nil {
		return (*h).Enabled(ctx, l)
	}
	return false
}

func (sinkHandler) Handle(ctx context.Context, r slog.Record) error {
	if h := sipLogSink.Load(); h != nil {
		return (*h).Handle(ctx, r)
	}
	return nil
}

func (s sinkHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &sinkWith{attrs: as}
}

func (s sinkHandler) WithGroup(string) slog.Handler { return s }

// sinkWith carries attributes given to the global logger (sipgo adds
// "caller") to whichever handler is current at Handle time.
type sinkWith struct{ attrs []slog.Attr }

func (w *sinkWith) Enabled(ctx context.Context, l slog.Level) bool {
	return sinkHandler{}.Enabled(ctx, l)
}
func (w *sinkWith) Handle(ctx context.Context, r slog.Record) error {
	h := sipLogSink.Load()
	if h == nil {
		return nil
	}
	return (*h).WithAttrs(w.attrs).Handle(ctx, r)
}
func (w *sinkWith) WithAttrs(as []slog.Attr) slog.Handler {
	return &sinkWith{attrs: append(append([]slog.Attr(nil), w.attrs...), as...)}
}
func (w *sinkWith) WithGroup(string) slog.Handler { return w }

// sipLibraryLogger routes the SIP libraries' logs through a filtering,
// rate-limiting handler over log's, and returns the logger to hand to
// diago.
func sipLibraryLogger(log *slog.Logger) *slog.Logger {
	h := slog.Handler(newSIPLogHandler(log.Handler(), time.Now))
	sipLogSink.Store(&h)
	sipLogGlobal.Do(func() { sip.SetDefaultLogger(slog.New(sinkHandler{})) })
	return slog.New(h)
}
