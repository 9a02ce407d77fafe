package dialer

// The operators' desk: operators' work sessions (the session leg kept up
// to the phone for the whole shift, or ring mode), the ACD events they
// cause, and the operations the API offers operators and supervisors.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/obzvon/obzvon/acd"
	"github.com/obzvon/obzvon/journal"
	"github.com/obzvon/obzvon/metrics"
)

// Errors of the desk.
var (
	// ErrNotRegistered: the operator's phone is not registered, so no call
	// can reach it.
	ErrNotRegistered = errors.New("the operator's phone is not registered")
	// ErrNoDesk: the appliance runs without an ACD.
	ErrNoDesk = errors.New("no ACD configured")
	// ErrNoCall: the operator has no call to act on.
	ErrNoCall = errors.New("no call in progress")
	// ErrNotAnOperator: the account takes no calls (no operator role) or
	// is disabled.
	ErrNotAnOperator = errors.New("the account does not take calls")
)

// AgentDirectory is what the desk reads of accounts and appeals.
// *journal.Journal implements it.
type AgentDirectory interface {
	Account(ctx context.Context, login string) (*journal.Account, error)
	// HasOpenAppeal reports whether phone has an appeal in work or
	// deferred (such callers get a queue's OpenAppealPriority).
	HasOpenAppeal(ctx context.Context, phone string) (bool, error)
}

// EventStore keeps ACD events. *journal.Journal implements it.
type EventStore interface {
	AppendEvents(ctx context.Context, stream string, evs []journal.Event) error
}

// ACDStream is the journal stream the ACD's events go to.
const ACDStream = "acd"

// SessionStatus is the state of an operator's session leg.
type SessionStatus int

// Session statuses.
const (
	// SessionDown: no session leg (also ring mode, where there is none).
	SessionDown SessionStatus = iota
	// SessionConnecting: the phone is being called for the session leg.
	SessionConnecting
	// SessionUp: the session leg is up.
	SessionUp
)

// String returns "down", "connecting" or "up".
func (s SessionStatus) String() string {
	switch s {
	case SessionConnecting:
		return "connecting"
	case SessionUp:
		return "up"
	}
	return "down"
}

// MarshalText writes the status's name.
func (s SessionStatus) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// DeskOptions configure the desk.
type DeskOptions struct {
	// ACD configures the distributor the desk creates (its Sink is the
	// desk: leave it nil).
	ACD acd.Options
	// Directory gives accounts (roles, extension, queues) and appeals.
	Directory AgentDirectory
	// Events stores the ACD's events (nil: not stored).
	Events EventStore
	// Metrics counts queue results and waits (nil: none).
	Metrics *metrics.ACD
	// OnEvent, if set, sees every ACD event (e.g. to push it to browsers).
	// It is called with the ACD's lock held: it must not block.
	OnEvent func(acd.Event)
}

// Desk runs operators' work on a Server.
type Desk struct {
	s   *Server
	opt DeskOptions
	acd *acd.ACD
	log *slog.Logger

	mu       sync.Mutex
	sessions map[string]*agentSession // by login
	onCall   map[string]deskCall      // by login: the customer call connected to the operator
	// supervisions by supervisor's login
	supervisions map[string]*supervision

	evCh    chan acd.Event
	evDone  chan struct{}
	started bool
	runCtx  context.Context
	stop    context.CancelFunc
}

type agentSession struct {
	login    string
	delivery acd.Delivery
	status   SessionStatus
	leg      *OutboundLeg
	cancel   context.CancelFunc
	done     chan struct{}
	started  time.Time
	err      string    // why the last session failed, for the desktop
	referAt  time.Time // when the phone last transferred by REFER
}

// newDesk creates the ACD and the desk around it.
func newDesk(s *Server, opt DeskOptions) (*Desk, error) {
	ctx, stop := context.WithCancel(context.Background())
	d := &Desk{s: s, opt: opt, log: s.log, sessions: map[string]*agentSession{}, onCall: map[string]deskCall{},
		supervisions: map[string]*supervision{},
		evCh:         make(chan acd.Event, 8192), evDone: make(chan struct{}), runCtx: ctx, stop: stop}
	ao := opt.ACD
	ao.Sink = d
	if ao.ObserveDecision == nil && opt.Metrics != nil {
		ao.ObserveDecision = opt.Metrics.Decision
	}
	a, err := acd.New(ao)
	if err != nil {
		stop()
		return nil, err
	}
	d.acd = a
	for _, q := range ao.Queues {
		opt.Metrics.AddQueue(q.Name)
	}
	opt.Metrics.RegisterSnapshot(d.metricsSnapshot)
	return d, nil
}

// ACD is the distributor (for campaigns to add their queues and read
// their operators).
func (d *Desk) ACD() *acd.ACD { return d.acd }

// start runs the ACD's clock and the event writer.
func (d *Desk) start() {
	d.started = true
	go d.acd.Run(d.runCtx)
	go d.writeEvents()
}

// close logs every operator out, hangs up the session legs and flushes
// the events.
func (d *Desk) close() {
	d.mu.Lock()
	sess := make([]*agentSession, 0, len(d.sessions))
	for _, s := range d.sessions {
		sess = append(sess, s)
	}
	d.mu.Unlock()
	for _, s := range sess {
		_ = d.acd.Logout(s.login, "shutdown")
		if s.cancel != nil {
			s.cancel()
		}
		if s.done != nil {
			<-s.done
		}
	}
	d.stop()
	if d.started {
		close(d.evCh)
		<-d.evDone
	}
}

// Record is the ACD's event sink: it keeps sessions in step with agent
// states, counts metrics and queues the event for the journal. It runs
// under the ACD's lock and does not block.
func (d *Desk) Record(e acd.Event) {
	// A call counts once in its queue's figures: consultations between
	// operators and events of a call answered there already (Again) do
	// not count, as in the ACD's own counters and the queue reports.
	counted := !e.Consult && !e.Again
	switch e.Kind {
	case acd.EventAgentState:
		if e.State == acd.StateLoggedOut {
			// A logged-out operator keeps no session leg, whatever logged it out.
			d.mu.Lock()
			if s := d.sessions[e.Agent]; s != nil && s.cancel != nil {
				s.cancel()
			}
			d.mu.Unlock()
		}
	case acd.EventConnect:
		if counted {
			d.opt.Metrics.QueueCall(e.Queue, metrics.QueueAnswered)
			d.opt.Metrics.Answered(e.Queue, e.Wait)
		}
	case acd.EventAbandon:
		if counted {
			d.opt.Metrics.QueueCall(e.Queue, metrics.QueueAbandoned)
		}
	case acd.EventTimeout:
		if counted {
			d.opt.Metrics.QueueCall(e.Queue, metrics.QueueTimeout)
		}
	case acd.EventFull:
		if counted {
			d.opt.Metrics.QueueCall(e.Queue, metrics.QueueFull)
		}
	case acd.EventTransfer:
		if counted && e.Talk == 0 && e.Agent == "" {
			d.opt.Metrics.QueueCall(e.Queue, metrics.QueueTransferred)
		}
	}
	if d.opt.OnEvent != nil {
		d.opt.OnEvent(e)
	}
	select {
	case d.evCh <- e:
	default:
		d.log.Error("acd event dropped: the journal writer is behind", "kind", e.Kind.String(), attrHint, "ACD events are lost while the journal is slow: check the journal disk and journal write errors")
	}
}

// writeEvents appends queued events to the journal in batches.
func (d *Desk) writeEvents() {
	defer close(d.evDone)
	batch := make([]journal.Event, 0, 256)
	for e := range d.evCh {
		batch = append(batch[:0], encodeEvent(e))
	more:
		for len(batch) < cap(batch) {
			select {
			case e, ok := <-d.evCh:
				if !ok {
					break more
				}
				batch = append(batch, encodeEvent(e))
			default:
				break more
			}
		}
		if d.opt.Events == nil {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := d.opt.Events.AppendEvents(ctx, ACDStream, batch); err != nil {
			d.log.Error("acd events not written", "events", len(batch), "error", err, attrHint, "check the journal disk and journal write errors")
		}
		cancel()
	}
}

func encodeEvent(e acd.Event) journal.Event {
	b, _ := json.Marshal(e)
	return journal.Event{Time: e.Time, Data: b}
}

// agentConfig builds the ACD's view of an account.
func (d *Desk) agentConfig(ctx context.Context, login string, delivery acd.Delivery) (acd.AgentConfig, error) {
	a, err := d.opt.Directory.Account(ctx, login)
	if err != nil {
		return acd.AgentConfig{}, err
	}
	level := 0
	for _, r := range a.Roles {
		switch r {
		case journal.RoleOperatorL1, journal.RoleRepL1:
			level = max(level, 1)
		case journal.RoleOperatorL2, journal.RoleRepL2, journal.RoleRepL3:
			level = 2
		}
	}
	if a.Disabled || level == 0 {
		return acd.AgentConfig{}, fmt.Errorf("%s: %w", login, ErrNotAnOperator)
	}
	cfg := acd.AgentConfig{Login: a.Login, Extension: a.Extension, Level: level, Delivery: delivery}
	for _, q := range a.Queues {
		m := parseMember(q)
		if !d.acd.HasQueue(m.Queue) {
			d.log.Warn("operator serves a queue that is not configured", "agent", login, "queue", m.Queue, attrHint, "add the queue to the config or remove it from the account (obzvon agent)")
			continue
		}
		cfg.Queues = append(cfg.Queues, m)
	}
	return cfg, nil
}

// parseMember reads an account's queue entry: "NAME" or "NAME:PENALTY".
func parseMember(s string) acd.Member {
	name, pen, ok := strings.Cut(s, ":")
	m := acd.Member{Queue: name}
	if ok {
		if p, err := strconv.Atoi(pen); err == nil && p >= 0 {
			m.Penalty = p
		}
	}
	return m
}

// StartWork begins an operator's work ("Начало работы"). With session
// delivery the appliance calls the operator's registered phone once with
// auto-answer hints and keeps that leg up; the operator becomes ready
// when it answers (StartWork returns at once with the session
// connecting). With ring delivery the operator is ready at once and each
// call rings the phone.
func (d *Desk) StartWork(ctx context.Context, login string, delivery acd.Delivery) error {
	if delivery == acd.DeliveryUnknown {
		delivery = acd.DeliverySession
	}
	cfg, err := d.agentConfig(ctx, login, delivery)
	if err != nil {
		return fmt.Errorf("start work: %w", err)
	}
	if d.s.reg == nil || len(d.s.reg.Lookup(login)) == 0 {
		return fmt.Errorf("start work %s: %w", login, ErrNotRegistered)
	}
	d.mu.Lock()
	if s := d.sessions[login]; s != nil && s.status != SessionDown {
		d.mu.Unlock()
		return nil // already working or connecting: nothing to do
	}
	s := &agentSession{login: login, delivery: delivery, started: time.Now()}
	d.sessions[login] = s
	if delivery == acd.DeliveryRing {
		s.status = SessionUp
		d.mu.Unlock()
		if err := d.acd.Login(cfg); err != nil && !errors.Is(err, acd.ErrAlreadyWorking) {
			return fmt.Errorf("start work: %w", err)
		}
		return nil
	}
	sctx, cancel := context.WithCancel(d.runCtx)
	s.status, s.cancel, s.done = SessionConnecting, cancel, make(chan struct{})
	d.mu.Unlock()
	go d.runSession(sctx, s, cfg)
	return nil
}

// autoAnswer are the hints that make phones answer a session leg at once:
// Call-Info answer-after (Snom, Yealink, Grandstream, baresip), Alert-Info
// (Polycom, Cisco), intercom style.
func (d *Desk) autoAnswer() []sip.Header {
	host := d.s.cfg.SIP.ExternalHost
	if host == "" {
		host = d.s.cfg.SIP.Host
	}
	return []sip.Header{
		sip.NewHeader("Call-Info", "<sip:"+host+">;answer-after=0"),
		sip.NewHeader("Alert-Info", "<http://"+host+"/>;info=alert-autoanswer;delay=0"),
	}
}

// runSession calls the operator's phone and keeps the session leg until
// the work ends or the phone goes away. A phone that hangs up right after
// transferring a customer by REFER is called back for a new session leg.
func (d *Desk) runSession(ctx context.Context, s *agentSession, cfg acd.AgentConfig) {
	defer close(s.done)
	log := d.log.With("agent", s.login)
	loggedIn := false
	for attempt := 0; ; attempt++ {
		out, err := d.s.Dial(ctx, "reg:"+s.login, DialOptions{RingTimeout: d.s.cfg.ACD.SessionRingTimeout.Duration,
			From: "obzvon", Headers: d.autoAnswer()})
		if err != nil {
			log.Info("session leg not established", "error", err)
			if loggedIn {
				_ = d.acd.AgentGone(s.login, "phone did not answer the session call")
			}
			d.setSession(s, SessionDown, nil, "телефон не ответил")
			return
		}
		d.setSession(s, SessionUp, out, "")
		if !loggedIn {
			if err := d.acd.Login(cfg); err != nil {
				log.Warn("session leg up but login refused", "error", err, attrHint, "the phone is up but the operator cannot log in: check the account (obzvon agent list) and its queues")
				out.Hangup(context.Background())
				d.setSession(s, SessionDown, nil, err.Error())
				return
			}
			loggedIn = true
			log.Info("session leg up; operator ready")
		}
		again := d.watchSession(ctx, s, out, log)
		out.Hangup(context.Background())
		if !again || attempt >= 3 {
			return
		}
		log.Info("the phone hung up after a transfer; calling it back for the session leg")
		d.setSession(s, SessionConnecting, nil, "")
	}
}

// watchSession waits until the session leg ends. It returns true when
// the phone hung up just after a REFER (call it back), false otherwise
// (the operator is logged out or finished).
func (d *Desk) watchSession(ctx context.Context, s *agentSession, out *OutboundLeg, log *slog.Logger) bool {
	rtpTimeout := d.s.cfg.ACD.AgentRTPTimeout.Duration
	var tick <-chan time.Time
	if rtpTimeout > 0 {
		t := time.NewTicker(min(rtpTimeout/4, 5*time.Second))
		defer t.Stop()
		tick = t.C
	}
	upAt := time.Now()
	for {
		select {
		case <-ctx.Done():
			// Finished (or logged out): the caller sends BYE.
			d.setSession(s, SessionDown, nil, "")
			return false
		case <-out.Done():
			if d.referredRecently(s) {
				return true
			}
			log.Info("operator's phone ended the session leg")
			_ = d.acd.AgentGone(s.login, "phone hung up")
			d.setSession(s, SessionDown, nil, "телефон завершил сессию")
			return false
		case now := <-tick:
			last := out.Leg().Stats().LastReceived
			if last.IsZero() {
				last = upAt
			}
			if now.Sub(last) > rtpTimeout {
				log.Info("no RTP from the operator's phone; ending the session", "timeout", rtpTimeout.String())
				_ = d.acd.AgentGone(s.login, "no RTP from phone")
				d.setSession(s, SessionDown, nil, "нет звука от телефона")
				return false
			}
		}
	}
}

func (d *Desk) setSession(s *agentSession, st SessionStatus, leg *OutboundLeg, why string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	s.status, s.leg = st, leg
	if why != "" {
		s.err = why
	}
}

// FinishWork ends an operator's work ("Завершить"). A call in progress
// finishes first; then the session leg is hung up.
func (d *Desk) FinishWork(ctx context.Context, login string) error {
	if err := d.acd.Logout(login, "finish"); err != nil && !errors.Is(err, acd.ErrUnknownAgent) {
		return fmt.Errorf("finish work: %w", err)
	}
	d.mu.Lock()
	s := d.sessions[login]
	d.mu.Unlock()
	if s == nil {
		return nil
	}
	if v, _ := d.acd.Agent(login); v.State == acd.StateLoggedOut || v.State == acd.StateUnknown {
		if s.cancel != nil {
			s.cancel()
		} else {
			d.setSession(s, SessionDown, nil, "")
		}
	}
	return nil
}

// sessionLeg returns the operator's session leg, or nil.
func (d *Desk) sessionLeg(login string) *OutboundLeg {
	d.mu.Lock()
	defer d.mu.Unlock()
	if s := d.sessions[login]; s != nil && s.status == SessionUp {
		return s.leg
	}
	return nil
}

// deskCall is a customer call connected to an operator: an inbound call
// of a queue or an answered campaign call.
type deskCall interface {
	// hangup ends the call from our side (by: who asked).
	hangup(by string)
	// callInfo describes the call for the operator's desktop.
	callInfo() CallInfo
}

// attach and detach track which customer call is connected to an operator.
func (d *Desk) attach(login string, c deskCall) {
	d.mu.Lock()
	d.onCall[login] = c
	d.mu.Unlock()
}

func (d *Desk) detach(login string, c deskCall) {
	d.mu.Lock()
	if d.onCall[login] == c {
		delete(d.onCall, login)
	}
	d.mu.Unlock()
}

// AgentStatus is an operator as the desktop shows it.
type AgentStatus struct {
	acd.AgentView
	Session SessionStatus `json:"session"`
	// SessionError says why the last session leg failed, if it did.
	SessionError string `json:"session_error,omitempty"`
	// Call is the customer call the operator is on, if any.
	Call *CallInfo `json:"call"`
}

// CallInfo describes a customer call for the operator's desktop.
type CallInfo struct {
	CallID    string `json:"call_id"`
	Caller    string `json:"caller"`
	Queue     string `json:"queue,omitempty"`
	Direction string `json:"direction"`
	Campaign  string `json:"campaign,omitempty"`
	ContactID string `json:"contact_id,omitempty"`
	AppealID  string `json:"appeal_id,omitempty"`
	// Consulting is the operator (login) an attended transfer of the
	// call is consulting now: the desktop offers «Соединить» and
	// «Вернуться к звонку» while it is set.
	Consulting  string    `json:"consulting,omitempty"`
	ConnectedAt time.Time `json:"connected_at,omitzero"`
	Recording   string    `json:"-"`
}

// Agent returns an operator's status.
func (d *Desk) Agent(login string) AgentStatus {
	v, _ := d.acd.Agent(login)
	return d.status(v)
}

func (d *Desk) status(v acd.AgentView) AgentStatus {
	st := AgentStatus{AgentView: v}
	d.mu.Lock()
	if s := d.sessions[v.Login]; s != nil {
		st.Session, st.SessionError = s.status, s.err
		if s.delivery == acd.DeliveryRing && s.status == SessionUp {
			st.Session = SessionDown
		}
		if st.Delivery == acd.DeliveryUnknown {
			st.Delivery = s.delivery
		}
	}
	c := d.onCall[v.Login]
	d.mu.Unlock()
	if c != nil {
		info := c.callInfo()
		st.Call = &info
	}
	return st
}

// Agents returns every operator known since start, by login.
func (d *Desk) Agents() []AgentStatus {
	snap := d.acd.Snapshot()
	out := make([]AgentStatus, 0, len(snap.Agents))
	for _, v := range snap.Agents {
		out = append(out, d.status(v))
	}
	return out
}

// Queues returns the queues' figures.
func (d *Desk) Queues() []acd.QueueView { return d.acd.Snapshot().Queues }

// Pause pauses an operator with a reason.
func (d *Desk) Pause(login, reason string) error { return d.acd.Pause(login, reason) }

// Ready makes an operator ready (after a pause or to end wrap-up early).
func (d *Desk) Ready(login string) error { return d.acd.Ready(login) }

// ExtendWrapUp gives an operator more wrap-up time.
func (d *Desk) ExtendWrapUp(login string, by time.Duration) error {
	return d.acd.ExtendWrapUp(login, by)
}

// PauseReasons lists the configured pause reasons.
func (d *Desk) PauseReasons() []string { return slices.Clone(d.s.cfg.ACD.PauseReasons) }

// HangupCall ends the customer call of an operator (the desktop's
// "завершить звонок"; on a session leg the phone's own hang-up would end
// the whole session).
func (d *Desk) HangupCall(login string) error {
	d.mu.Lock()
	c := d.onCall[login]
	d.mu.Unlock()
	if c == nil {
		return fmt.Errorf("hang up %s's call: %w", login, ErrNoCall)
	}
	c.hangup(hangupAgent)
	return nil
}

// Snapshot returns the ACD's metrics snapshot.
func (d *Desk) metricsSnapshot() metrics.ACDSnapshot {
	snap := d.acd.Snapshot()
	out := metrics.ACDSnapshot{Agents: map[string]int{}, StateSeconds: map[string]float64{}}
	for _, q := range snap.Queues {
		out.Queues = append(out.Queues, metrics.QueueGauges{Name: q.Name, Waiting: q.Waiting, ServiceLevel: q.ServiceLevel})
	}
	for _, a := range snap.Agents {
		out.Agents[a.State.String()]++
	}
	for _, st := range acd.States {
		out.StateSeconds[st.String()] = snap.StateSeconds[st]
	}
	return out
}
