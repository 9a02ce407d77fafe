package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/obzvon/obzvon/journal"
)

// Event is a message pushed to open desktops over GET /api/v1/events
// (server-sent events). Publishers: the API itself (appeal.changed), the
// ACD (agent.state, call.offered, call.connected, call.ended,
// queue.stats) and the campaigns.
type Event struct {
	// Type names the event, e.g. "agent.state"; the browser listens by it.
	Type string
	// To is the one login to send it to; "" sends it to every session
	// that Roles allow.
	To string
	// Roles, when not empty, limit the receivers to accounts holding one
	// of them (with To set, both must hold).
	Roles []journal.Role
	// Data is sent as the event's JSON data. Keep personal data out of
	// events meant for many (a caller's number goes To the operator).
	Data any
}

// Limits of the event stream.
const (
	// eventBuffer is how many events wait for a slow stream; a stream
	// that falls further behind is closed, and the browser reconnects
	// and reloads what it shows.
	eventBuffer = 256
	// maxStreamsPerLogin bounds the open streams (tabs) of one account.
	maxStreamsPerLogin = 16
	// eventRetry is the reconnect delay the browser is told, in ms.
	eventRetry = 3000
	// eventPing is how often an idle stream sends a comment (so proxies
	// keep it open) and checks that its session still lives.
	eventPing = 15 * time.Second
)

// Events fans events out to the open streams. It is safe for concurrent
// use; Publish never blocks.
type Events struct {
	mu      sync.Mutex
	subs    map[*stream]struct{}
	seq     uint64
	closed  bool
	dropped uint64
	log     *slog.Logger
}

// NewEvents returns an empty hub; log (nil: discard) gets streams closed
// for falling behind.
func NewEvents(log *slog.Logger) *Events {
	if log == nil {
		log = discardLogger
	}
	return &Events{subs: map[*stream]struct{}{}, log: log}
}

// stream is one open GET /api/v1/events.
type stream struct {
	login string
	roles []journal.Role
	ch    chan []byte
	// gone is closed when the hub drops the stream (behind, or Close).
	gone chan struct{}
	once sync.Once
}

func (st *stream) drop() { st.once.Do(func() { close(st.gone) }) }

func (st *stream) wants(ev *Event) bool {
	if ev.To != "" && ev.To != st.login {
		return false
	}
	return len(ev.Roles) == 0 || slices.ContainsFunc(st.roles, func(r journal.Role) bool { return slices.Contains(ev.Roles, r) })
}

// Publish sends ev to every open stream it is meant for. A stream whose
// buffer is full is closed rather than waited for.
func (e *Events) Publish(ev Event) {
	if e == nil || ev.Type == "" {
		return
	}
	e.publish(ev.Type, ev.Data, func(st *stream) bool { return st.wants(&ev) })
}

// publish sends an event to the streams match selects.
func (e *Events) publish(typ string, v any, match func(*stream) bool) {
	data, err := json.Marshal(v)
	if err != nil {
		e.log.Error("event not sent: data does not marshal", "type", typ, keyError, err)
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return
	}
	e.seq++
	frame := sseFrame(e.seq, typ, data)
	for st := range e.subs {
		if !match(st) {
			continue
		}
		select {
		case st.ch <- frame:
		default:
			delete(e.subs, st)
			st.drop()
			e.dropped++
			e.log.Warn("event stream closed: fell behind", keyAccount, st.login, "buffer", eventBuffer)
		}
	}
}

// sseFrame formats one event (data is one line of JSON).
func sseFrame(id uint64, typ string, data []byte) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "id: %d\nevent: %s\ndata: ", id, typ)
	b.Write(data)
	b.WriteString("\n\n")
	return b.Bytes()
}

// Streams returns how many streams are open.
func (e *Events) Streams() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.subs)
}

// Close ends every stream and refuses new ones (server shutdown: open
// streams would otherwise hold http.Server.Shutdown until its deadline).
func (e *Events) Close() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.closed = true
	for st := range e.subs {
		delete(e.subs, st)
		st.drop()
	}
}

// errTooManyStreams refuses a stream over maxStreamsPerLogin.
var errTooManyStreams = &badRequestError{http.StatusTooManyRequests, fmt.Sprintf("more than %d open event streams for this account: close other tabs", maxStreamsPerLogin)}

func (e *Events) subscribe(login string, roles []journal.Role) (*stream, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, &badRequestError{http.StatusServiceUnavailable, "shutting down"}
	}
	n := 0
	for st := range e.subs {
		if st.login == login {
			n++
		}
	}
	if n >= maxStreamsPerLogin {
		return nil, errTooManyStreams
	}
	st := &stream{login: login, roles: slices.Clone(roles), ch: make(chan []byte, eventBuffer), gone: make(chan struct{})}
	e.subs[st] = struct{}{}
	return st, nil
}

func (e *Events) unsubscribe(st *stream) {
	e.mu.Lock()
	delete(e.subs, st)
	e.mu.Unlock()
	st.drop()
}

// peek reports whether the session with id is live, without counting
// the check as use (an open desktop must not keep an idle session alive).
func (st *sessionStore) peek(id string) bool {
	t := st.now()
	st.mu.Lock()
	defer st.mu.Unlock()
	s := st.m[hashID(id)]
	return s != nil && !st.expired(s, t)
}

// helloEvent is the first event of every stream: the browser reloads
// what it shows on it, since events missed while disconnected are not
// replayed.
type helloEvent struct {
	Login string `json:"login"`
}

// sessionEndedEvent is the last event of a stream whose session ended
// (logout, expiry, account disabled).
type sessionEndedEvent struct {
	Reason string `json:"reason"`
}

// events serves GET /api/v1/events: a text/event-stream of the events
// meant for the caller, until the client goes, the session ends or the
// server stops.
func (s *server) events(w http.ResponseWriter, r *http.Request, p *principal) {
	if p.sess == nil {
		// A stream lives as long as a desktop tab: it is tied to the
		// browser's session (which can end it), not to a token.
		s.fail(w, r, &forbiddenError{"the event stream is for desktop sessions: log in with a browser"})
		return
	}
	st, err := s.hub.subscribe(p.login, p.roles)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer s.hub.unsubscribe(st)
	var cookie string
	if c, err := r.Cookie(SessionCookie); err == nil {
		cookie = c.Value
	}
	rc := http.NewResponseController(w)
	// A stream outlives the server's write timeout by design.
	_ = rc.SetWriteDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	hello, _ := json.Marshal(helloEvent{Login: p.login})
	if _, err := fmt.Fprintf(w, "retry: %d\n\n%s", eventRetry, sseFrame(0, "hello", hello)); err != nil {
		return
	}
	if rc.Flush() != nil {
		return
	}
	ping := time.NewTicker(s.eventPing)
	defer ping.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-st.gone:
			return
		case frame := <-st.ch:
			if _, err := w.Write(frame); err != nil {
				return
			}
		case <-ping.C:
			if cookie != "" && !s.sessions.peek(cookie) {
				b, _ := json.Marshal(sessionEndedEvent{Reason: "expired"})
				_, _ = w.Write(sseFrame(0, "session.ended", b))
				_ = rc.Flush()
				return
			}
			if _, err := w.Write([]byte(": ping " + strconv.FormatInt(s.now().Unix(), 10) + "\n\n")); err != nil {
				return
			}
		}
		if rc.Flush() != nil {
			return
		}
	}
}
