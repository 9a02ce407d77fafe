package acd

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"
)

// Options configure an ACD.
type Options struct {
	// Queues are the queues and campaigns calls can wait in.
	Queues []QueueConfig
	// PauseReasons are the reasons an agent may give for a pause
	// (обед, обучение, техперерыв…). PauseNoAnswer is always allowed.
	PauseReasons []string
	// SessionLease is how long an offer to an agent on a session leg may
	// take to connect before it lapses (default 5 s: the connect is a
	// switch in the media engine and takes milliseconds).
	SessionLease time.Duration
	// RingLease is the same for ring delivery: it must exceed the ring
	// timeout (default 45 s).
	RingLease time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Rand drives the random strategy (default a random seed).
	Rand *rand.Rand
	// Sink receives every event; nil drops them.
	Sink EventSink
	// Location decides where "today" starts for the daily counters
	// (default time.Local).
	Location *time.Location
	// ObserveDecision, if set, gets the wall time of each routing pass
	// that offered at least one call (for the decision-latency metric).
	ObserveDecision func(time.Duration)
}

// ACD is the automatic call distributor: agents and their states, calls
// waiting in queues, and the routing that offers calls to agents. It is
// pure logic on an injected clock: the dialer connects the calls it
// offers and reports back. Safe for concurrent use.
//
// Time-driven changes (leases that lapse, wrap-ups that end, tiers that
// open) happen in Tick; Run calls it at each NextDeadline.
type ACD struct {
	mu      sync.Mutex
	opt     Options
	now     func() time.Time
	rnd     *rand.Rand
	queues  map[string]*queue
	agents  map[string]*agent
	byLogin []*agent // sorted by login: deterministic scans and round robin
	entries map[string]*entry
	waiting []*entry // sorted by order()
	seq     int64
	headSeq int64
	ready   int
	held    int // agents held for a call being placed for them (Hold)
	day     int // yyyymmdd of the daily counters

	// stateTime accumulates agent-seconds spent in each state by
	// agents' closed intervals (open ones are added by Snapshot).
	stateTime [len(stateNames)]time.Duration

	wake chan struct{}
}

type queue struct {
	cfg    QueueConfig
	rrLast string
	day    QueueCounters
	aht    ewma // talk + wrap-up of completed calls, seconds
	// arrivals are the entry times of the last rateWindow (callers, not
	// consultations), for the arrival rate blending needs.
	arrivals []time.Time
}

// rateWindow is the window of the arrival rate.
const rateWindow = 15 * time.Minute

// arrive notes an arrival at now and drops those older than the window.
func (q *queue) arrive(now time.Time) {
	q.trim(now)
	q.arrivals = append(q.arrivals, now)
}

func (q *queue) trim(now time.Time) {
	i := 0
	for i < len(q.arrivals) && now.Sub(q.arrivals[i]) > rateWindow {
		i++
	}
	q.arrivals = q.arrivals[i:]
}

type agent struct {
	cfg      AgentConfig
	members  map[string]int // queue → penalty
	state    State
	since    time.Time
	reason   string
	idleFrom time.Time // for longest idle: start of work or end of last call
	entry    *entry    // offered or connected call
	lease    time.Time
	// hold is the id of the outbound call being placed for this agent
	// (Hold): while it rings the agent is reserved for it alone.
	hold   string
	wrapTo time.Time
	wrapQ  *queue // queue of the call being wrapped up
	// After the current call: pause with this reason / log out.
	pendingPause  string
	pendingLogout bool
	callsToday    int
}

type entryState int

const (
	entryWaiting entryState = iota + 1
	entryOffered
	entryConnected
)

type entry struct {
	Entry
	q         *queue
	seq       int64
	entered   time.Time
	state     entryState
	agent     *agent
	ticket    *Ticket
	connected time.Time
	answered  bool // counted as answered once, even if requeued later
	origPos   int
}

// New returns an ACD with the queues of opt.
func New(opt Options) (*ACD, error) {
	if opt.SessionLease <= 0 {
		opt.SessionLease = 5 * time.Second
	}
	if opt.RingLease <= 0 {
		opt.RingLease = 45 * time.Second
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Rand == nil {
		opt.Rand = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	if opt.Location == nil {
		opt.Location = time.Local
	}
	a := &ACD{opt: opt, now: opt.Now, rnd: opt.Rand, queues: map[string]*queue{}, agents: map[string]*agent{},
		entries: map[string]*entry{}, wake: make(chan struct{}, 1)}
	for _, qc := range opt.Queues {
		if qc.Name == "" {
			return nil, fmt.Errorf("acd: a queue without a name")
		}
		if _, dup := a.queues[qc.Name]; dup {
			return nil, fmt.Errorf("acd: queue %q configured twice", qc.Name)
		}
		if qc.Strategy == StrategyUnknown {
			qc.Strategy = StrategyLongestIdle
		}
		if qc.Priority == 0 {
			qc.Priority = DefaultPriority(qc.Kind)
		}
		a.queues[qc.Name] = &queue{cfg: qc, aht: ewma{alpha: 0.1}}
	}
	a.day = dayOf(a.now(), opt.Location)
	return a, nil
}

// AddQueue adds a queue (a campaign started after New). Adding a queue
// that exists replaces its rules, keeping its counters.
func (a *ACD) AddQueue(qc QueueConfig) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if qc.Strategy == StrategyUnknown {
		qc.Strategy = StrategyLongestIdle
	}
	if qc.Priority == 0 {
		qc.Priority = DefaultPriority(qc.Kind)
	}
	if q, ok := a.queues[qc.Name]; ok {
		q.cfg = qc
		return
	}
	a.queues[qc.Name] = &queue{cfg: qc, aht: ewma{alpha: 0.1}}
}

// HasQueue reports whether a queue of that name exists.
func (a *ACD) HasQueue(name string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	_, ok := a.queues[name]
	return ok
}

// Wake returns a channel that receives when the next deadline may have
// moved earlier (Run waits on it).
func (a *ACD) Wake() <-chan struct{} { return a.wake }

func (a *ACD) poke() {
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

func (a *ACD) emit(e Event) {
	if en := a.entries[e.Call]; en != nil && en.Consult {
		e.Consult = true
	}
	if a.opt.Sink != nil {
		a.opt.Sink.Record(e)
	}
}

// setState moves ag to st (with reason) and records the event.
func (a *ACD) setState(ag *agent, st State, reason string, now time.Time) {
	prev := ag.state
	if prev == st && ag.reason == reason {
		return
	}
	if prev != StateUnknown {
		a.stateTime[prev] += now.Sub(ag.since)
	}
	if prev == StateReady {
		a.ready--
	}
	if st == StateReady {
		a.ready++
	}
	if st != StateReserved && ag.hold != "" {
		ag.hold = ""
		a.held--
	}
	ag.state, ag.since, ag.reason = st, now, reason
	ev := Event{Time: now, Kind: EventAgentState, Agent: ag.cfg.Login, State: st, Prev: prev, Reason: reason}
	if st.Working() && !prev.Working() {
		for _, m := range ag.cfg.Queues {
			ev.Queues = append(ev.Queues, m.Queue)
		}
	}
	a.emit(ev)
}

// roll resets the daily counters at the first call of a new day.
func (a *ACD) roll(now time.Time) {
	d := dayOf(now, a.opt.Location)
	if d == a.day {
		return
	}
	a.day = d
	for _, q := range a.queues {
		q.day = QueueCounters{}
	}
	for _, ag := range a.agents {
		ag.callsToday = 0
	}
}

func dayOf(t time.Time, loc *time.Location) int {
	y, m, d := t.In(loc).Date()
	return y*10000 + int(m)*100 + d
}

// Login starts an agent's work: it becomes ready for calls of its queues.
// For session delivery the dialer calls Login once the session leg is up.
func (a *ACD) Login(cfg AgentConfig) error {
	if cfg.Login == "" {
		return fmt.Errorf("acd: login: %w", ErrUnknownAgent)
	}
	if cfg.Delivery != DeliverySession && cfg.Delivery != DeliveryRing {
		return fmt.Errorf("acd: login %s: delivery must be session or ring", cfg.Login)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	a.roll(now)
	ag := a.agents[cfg.Login]
	if ag != nil && ag.state.Working() {
		return fmt.Errorf("acd: login %s: %w", cfg.Login, ErrAlreadyWorking)
	}
	if ag == nil {
		ag = &agent{state: StateUnknown}
		a.agents[cfg.Login] = ag
		i, _ := slices.BinarySearchFunc(a.byLogin, cfg.Login, func(x *agent, l string) int { return cmp.Compare(x.cfg.Login, l) })
		a.byLogin = slices.Insert(a.byLogin, i, ag)
	}
	ag.cfg = cfg
	ag.members = make(map[string]int, len(cfg.Queues))
	for _, m := range cfg.Queues {
		ag.members[m.Queue] = m.Penalty
	}
	ag.pendingPause, ag.pendingLogout = "", false
	ag.idleFrom = now
	a.setState(ag, StateReady, "", now)
	a.match(now)
	return nil
}

// UpdateMembership replaces a working agent's queues (e.g. a campaign
// started after the agent began work).
func (a *ACD) UpdateMembership(login string, queues []Member) {
	a.mu.Lock()
	defer a.mu.Unlock()
	ag := a.agents[login]
	if ag == nil {
		return
	}
	ag.cfg.Queues = queues
	ag.members = make(map[string]int, len(queues))
	for _, m := range queues {
		ag.members[m.Queue] = m.Penalty
	}
	a.match(a.now())
}

// Logout ends an agent's work. A reserved call goes back to its place in
// the queue; a call in progress finishes first (the agent is logged out
// when it ends, without wrap-up).
func (a *ACD) Logout(login, reason string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	ag := a.agents[login]
	if ag == nil {
		return fmt.Errorf("acd: logout %s: %w", login, ErrUnknownAgent)
	}
	switch ag.state {
	case StateLoggedOut:
		return nil
	case StateTalking:
		ag.pendingLogout = true
		return nil
	case StateReserved:
		a.revoke(ag, now, false)
	}
	a.setState(ag, StateLoggedOut, reason, now)
	a.poke()
	return nil
}

// AgentGone logs the agent out at once because its phone is gone (the
// session leg dropped or its RTP stopped). A call offered to it or
// connected to it goes back to the head of its queue; its ticket gets
// NoticeRevoked.
func (a *ACD) AgentGone(login, reason string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	ag := a.agents[login]
	if ag == nil {
		return fmt.Errorf("acd: agent gone %s: %w", login, ErrUnknownAgent)
	}
	if ag.state == StateLoggedOut {
		return nil
	}
	if ag.entry != nil {
		a.revoke(ag, now, true)
	}
	ag.pendingPause, ag.pendingLogout = "", false
	a.setState(ag, StateLoggedOut, reason, now)
	a.match(now)
	return nil
}

// revoke takes ag's call back: an offered call returns to its place in
// the queue, a connected call (when head) to the head.
func (a *ACD) revoke(ag *agent, now time.Time, head bool) {
	e := ag.entry
	ag.entry = nil
	if e == nil {
		return
	}
	wasConnected := e.state == entryConnected
	e.agent = nil
	if wasConnected || head {
		a.headSeq--
		e.seq = a.headSeq
	}
	a.requeue(e)
	kind := EventNoAnswer
	if wasConnected {
		kind = EventRequeue
	}
	a.emit(Event{Time: now, Kind: kind, Agent: ag.cfg.Login, Queue: e.Queue, Call: e.ID, Reason: "agent gone",
		Wait: now.Sub(e.entered), Outbound: e.q.cfg.Kind == KindOutbound})
	e.ticket.notify(Notice{Kind: NoticeRevoked, Agent: ag.cfg.Login})
}

// Pause stops offering calls to the agent, with a reason from the
// configured list. During a call the pause starts when the call's
// wrap-up ends.
func (a *ACD) Pause(login, reason string) error {
	if !a.validReason(reason) {
		return fmt.Errorf("acd: pause %s: %q: %w", login, reason, ErrBadReason)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	ag := a.agents[login]
	switch {
	case ag == nil:
		return fmt.Errorf("acd: pause %s: %w", login, ErrUnknownAgent)
	case !ag.state.Working():
		return fmt.Errorf("acd: pause %s: %w", login, ErrNotWorking)
	case ag.state.Busy():
		ag.pendingPause = reason
		return nil
	}
	ag.wrapQ = nil
	a.setState(ag, StatePaused, reason, now)
	a.poke()
	return nil
}

func (a *ACD) validReason(r string) bool {
	return r == PauseNoAnswer || slices.Contains(a.opt.PauseReasons, r)
}

// Ready makes a paused agent ready, or ends its wrap-up early; during a
// call it cancels a pending pause.
func (a *ACD) Ready(login string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	ag := a.agents[login]
	switch {
	case ag == nil:
		return fmt.Errorf("acd: ready %s: %w", login, ErrUnknownAgent)
	case !ag.state.Working():
		return fmt.Errorf("acd: ready %s: %w", login, ErrNotWorking)
	case ag.state.Busy():
		ag.pendingPause = ""
		return nil
	case ag.state == StateReady:
		return nil
	}
	ag.idleFrom = now // back from a pause or a wrap-up: idle from now
	ag.wrapQ = nil
	a.setState(ag, StateReady, "", now)
	a.match(now)
	return nil
}

// ExtendWrapUp gives an agent in wrap-up d more time.
func (a *ACD) ExtendWrapUp(login string, d time.Duration) error {
	if d <= 0 || d > time.Hour {
		return fmt.Errorf("acd: extend wrap-up %s by %v: want 1s..1h: %w", login, d, ErrBadMove)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	ag := a.agents[login]
	switch {
	case ag == nil:
		return fmt.Errorf("acd: extend wrap-up %s: %w", login, ErrUnknownAgent)
	case ag.state != StateWrapUp:
		return fmt.Errorf("acd: extend wrap-up %s in state %s: %w", login, ag.state, ErrBadMove)
	}
	ag.wrapTo = ag.wrapTo.Add(d)
	return nil
}

// HoldReason is the reason shown for an agent held by Hold.
const HoldReason = "outbound call"

// Hold reserves a working agent that is not on a call (ready, paused or
// in wrap-up) for the outbound call id being placed for it — a preview
// dial, a callback, a «Перезвонить» — for at most lease: the time the
// far end may ring plus the time its answer may take to reach the agent.
// While held the agent takes no other call; when call id is enqueued with
// Entry.Agent naming it, it is offered at once. Release (the call failed
// or ended unconnected) or the lease's end makes the agent ready again,
// or paused with the reason it had.
func (a *ACD) Hold(login, id string, lease time.Duration) error {
	if id == "" || lease <= 0 {
		return fmt.Errorf("acd: hold %s: a call id and a lease > 0 are required: %w", login, ErrBadMove)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	ag := a.agents[login]
	switch {
	case ag == nil:
		return fmt.Errorf("acd: hold %s: %w", login, ErrUnknownAgent)
	case !ag.state.Working():
		return fmt.Errorf("acd: hold %s: %w", login, ErrNotWorking)
	case ag.state.Busy():
		return fmt.Errorf("acd: hold %s in state %s: %w", login, ag.state, ErrBadMove)
	}
	if ag.state == StatePaused {
		// Back to the pause once the call is over.
		ag.pendingPause = ag.reason
	}
	ag.wrapQ = nil
	a.setState(ag, StateReserved, HoldReason, now)
	ag.hold, ag.lease = id, now.Add(lease)
	a.held++
	a.poke()
	return nil
}

// Release ends the hold of agent login for call id (the call was not
// answered, or was answered by a machine). It is a no-op when the hold is
// over: the call was offered to the agent, or the lease ended.
func (a *ACD) Release(login, id string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	ag := a.agents[login]
	if ag == nil || ag.hold != id || ag.entry != nil {
		return
	}
	a.endCall(ag, now, false)
	a.match(now)
}

// Enqueue puts a call in its queue and returns its ticket, on which
// offers arrive. A full queue refuses it with ErrQueueFull (recorded as
// an overflow event).
func (a *ACD) Enqueue(e Entry) (*Ticket, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	a.roll(now)
	q := a.queues[e.Queue]
	if q == nil {
		return nil, fmt.Errorf("acd: enqueue in %q: %w", e.Queue, ErrUnknownQueue)
	}
	if e.ID == "" {
		return nil, fmt.Errorf("acd: enqueue a call without an id: %w", ErrUnknownEntry)
	}
	if _, dup := a.entries[e.ID]; dup {
		return nil, fmt.Errorf("acd: enqueue %s: %w", e.ID, ErrDuplicateEntry)
	}
	outbound := q.cfg.Kind == KindOutbound
	if q.cfg.MaxLen > 0 && a.waitingIn(q) >= q.cfg.MaxLen {
		if !e.Consult && !e.Answered {
			q.day.Offered++
			q.day.Full++
		}
		a.emit(Event{Time: now, Kind: EventFull, Queue: q.cfg.Name, Call: e.ID, Outbound: outbound, Consult: e.Consult, Again: e.Answered})
		return nil, fmt.Errorf("acd: enqueue %s in %s: %w", e.ID, q.cfg.Name, ErrQueueFull)
	}
	a.seq++
	en := &entry{Entry: e, q: q, seq: a.seq, entered: now, ticket: newTicket(e.ID), answered: e.Answered}
	en.ticket.onOffer = e.OnOffer
	a.entries[e.ID] = en
	a.requeue(en)
	en.origPos = a.position(en)
	if !e.Consult && !e.Answered {
		q.day.Offered++
		q.arrive(now)
	}
	est, _ := a.estimate(en)
	a.emit(Event{Time: now, Kind: EventEnter, Queue: q.cfg.Name, Call: e.ID, Position: en.origPos, Wait: est, Outbound: outbound,
		Again: e.Answered})
	a.match(now)
	return en.ticket, nil
}

// requeue inserts e among the waiting calls by its order.
func (a *ACD) requeue(e *entry) {
	e.state = entryWaiting
	i, _ := slices.BinarySearchFunc(a.waiting, e, compareEntries)
	a.waiting = slices.Insert(a.waiting, i, e)
}

// compareEntries orders waiting calls: higher queue priority, then higher
// call priority, then earlier place (seq).
func compareEntries(x, y *entry) int {
	if c := cmp.Compare(y.q.cfg.Priority, x.q.cfg.Priority); c != 0 {
		return c
	}
	if c := cmp.Compare(y.Priority, x.Priority); c != 0 {
		return c
	}
	return cmp.Compare(x.seq, y.seq)
}

func (a *ACD) unwait(e *entry) {
	if i := slices.Index(a.waiting, e); i >= 0 {
		a.waiting = slices.Delete(a.waiting, i, i+1)
	}
}

func (a *ACD) waitingIn(q *queue) int {
	n := 0
	for _, e := range a.waiting {
		if e.q == q {
			n++
		}
	}
	return n
}

// position is e's 1-based place among the waiting calls of its queue.
func (a *ACD) position(e *entry) int {
	n := 1
	for _, w := range a.waiting {
		if w == e {
			return n
		}
		if w.q == e.q {
			n++
		}
	}
	return n
}

// Position returns a waiting call's place in its queue and the estimated
// wait (0, false when there is no estimate yet). ok is false when the
// call is not waiting.
func (a *ACD) Position(id string) (pos int, ewt time.Duration, haveEstimate, ok bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	e := a.entries[id]
	if e == nil || e.state != entryWaiting {
		return 0, 0, false, false
	}
	ewt, haveEstimate = a.estimate(e)
	return a.position(e), ewt, haveEstimate, true
}

// Leave takes a call out of the ACD before it was connected: the caller
// hung up (OutcomeAbandoned) or the queue's maximum wait passed
// (OutcomeTimeout). An outstanding offer is withdrawn and its agent made
// ready again. It returns how long the call waited.
func (a *ACD) Leave(id string, o Outcome) (time.Duration, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	a.roll(now)
	e := a.entries[id]
	if e == nil {
		return 0, fmt.Errorf("acd: leave %s: %w", id, ErrUnknownEntry)
	}
	if e.state == entryConnected {
		return 0, fmt.Errorf("acd: leave %s: connected; use Hangup: %w", id, ErrBadMove)
	}
	pos := 0
	if e.state == entryWaiting {
		pos = a.position(e)
		a.unwait(e)
	}
	if ag := e.agent; ag != nil {
		// The offer is withdrawn: not the agent's doing.
		ag.entry, e.agent = nil, nil
		a.endCall(ag, now, false)
	}
	delete(a.entries, id)
	wait := now.Sub(e.entered)
	kind := EventAbandon
	switch o {
	case OutcomeTimeout:
		kind = EventTimeout
		if !e.answered && !e.Consult {
			e.q.day.Timeouts++
		}
	case OutcomeTransferred:
		kind = EventTransfer
	default:
		o = OutcomeAbandoned
		if !e.answered && !e.Consult {
			e.q.day.Abandoned++
			if wait <= e.q.cfg.SLThreshold {
				e.q.day.AbandonedInSL++
			}
		}
	}
	a.emit(Event{Time: now, Kind: kind, Queue: e.Queue, Call: id, Position: pos, Wait: wait, Outbound: e.q.cfg.Kind == KindOutbound,
		Consult: e.Consult, Again: e.answered})
	a.match(now)
	return wait, nil
}

// Connected confirms that an offered call is connected to its agent.
// It fails with ErrStaleOffer when the offer lapsed or was withdrawn in
// the meantime: disconnect and keep waiting for the next notice.
func (a *ACD) Connected(id, login string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	e := a.entries[id]
	if e == nil || e.state != entryOffered || e.agent == nil || e.agent.cfg.Login != login || now.After(e.agent.lease) {
		return fmt.Errorf("acd: connected %s to %s: %w", id, login, ErrStaleOffer)
	}
	ag := e.agent
	e.state, e.connected = entryConnected, now
	wait := now.Sub(e.entered)
	again := e.answered
	if !e.answered && !e.Consult {
		e.answered = true
		e.q.day.Answered++
		if wait <= e.q.cfg.SLThreshold {
			e.q.day.AnsweredInSL++
		}
		e.q.day.WaitSum += wait
	}
	a.setState(ag, StateTalking, "", now)
	a.emit(Event{Time: now, Kind: EventConnect, Agent: login, Queue: e.Queue, Call: id, Wait: wait, Position: e.origPos,
		Outbound: e.q.cfg.Kind == KindOutbound, Again: again})
	return nil
}

// OfferFailed reports that an offered call could not be connected. The
// call returns to its place in the queue; the agent stays ready
// (FailError), pauses "не отвечает" (FailNoAnswer) or is logged out
// (FailAgentGone).
func (a *ACD) OfferFailed(id, login string, cause FailCause) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	e := a.entries[id]
	if e == nil || e.state != entryOffered || e.agent == nil || e.agent.cfg.Login != login {
		return fmt.Errorf("acd: offer of %s to %s failed: %w", id, login, ErrStaleOffer)
	}
	a.failOffer(e, cause, now)
	a.match(now)
	return nil
}

func (a *ACD) failOffer(e *entry, cause FailCause, now time.Time) {
	ag := e.agent
	ag.entry, e.agent = nil, nil
	a.requeue(e)
	reason := "error"
	switch cause {
	case FailNoAnswer:
		reason = "no answer"
		ag.pendingPause, ag.pendingLogout = "", false
		a.setState(ag, StatePaused, PauseNoAnswer, now)
	case FailAgentGone:
		reason = "agent gone"
		a.setState(ag, StateLoggedOut, reason, now)
	default:
		a.endCall(ag, now, false)
	}
	a.emit(Event{Time: now, Kind: EventNoAnswer, Agent: ag.cfg.Login, Queue: e.Queue, Call: e.ID, Reason: reason,
		Wait: now.Sub(e.entered), Outbound: e.q.cfg.Kind == KindOutbound})
}

// endCall puts an agent whose call is over (or never connected) where it
// goes next: logged out, paused or ready.
// resetIdle restarts the agent's idle time (after a real call).
func (a *ACD) endCall(ag *agent, now time.Time, resetIdle bool) {
	switch {
	case ag.pendingLogout:
		ag.pendingLogout = false
		a.setState(ag, StateLoggedOut, "", now)
	case ag.pendingPause != "":
		r := ag.pendingPause
		ag.pendingPause = ""
		a.setState(ag, StatePaused, r, now)
	default:
		if resetIdle {
			ag.idleFrom = now
		}
		a.setState(ag, StateReady, "", now)
	}
}

// Hangup ends a connected call; by says who hung up ("caller", "agent",
// "system"). The agent goes to wrap-up for its queue's wrap-up time.
func (a *ACD) Hangup(id, by string) error {
	return a.finish(id, by, OutcomeCompleted)
}

// TransferOut ends a call's stay with its agent (or in its queue)
// because it is transferred to target; the dialer then enqueues it
// again where it goes. A connected agent goes to wrap-up.
func (a *ACD) TransferOut(id, target string) error {
	a.mu.Lock()
	e := a.entries[id]
	connected := e != nil && e.state == entryConnected
	a.mu.Unlock()
	if e != nil && !connected {
		_, err := a.leaveTransfer(id, target)
		return err
	}
	return a.finish(id, target, OutcomeTransferred)
}

func (a *ACD) leaveTransfer(id, target string) (time.Duration, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	e := a.entries[id]
	if e == nil || e.state == entryConnected {
		return 0, fmt.Errorf("acd: transfer %s: %w", id, ErrUnknownEntry)
	}
	if e.state == entryWaiting {
		a.unwait(e)
	}
	if ag := e.agent; ag != nil {
		// The offer is withdrawn: not the agent's doing.
		ag.entry, e.agent = nil, nil
		a.endCall(ag, now, false)
	}
	delete(a.entries, id)
	wait := now.Sub(e.entered)
	a.emit(Event{Time: now, Kind: EventTransfer, Queue: e.Queue, Call: id, Reason: target, Wait: wait, Outbound: e.q.cfg.Kind == KindOutbound,
		Consult: e.Consult, Again: e.answered})
	a.match(now)
	return wait, nil
}

func (a *ACD) finish(id, by string, o Outcome) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	a.roll(now)
	e := a.entries[id]
	if e == nil || e.state != entryConnected {
		return fmt.Errorf("acd: hang up %s: %w", id, ErrUnknownEntry)
	}
	ag := e.agent
	delete(a.entries, id)
	talk := now.Sub(e.connected)
	q := e.q
	if !e.Consult {
		q.day.Completed++
		q.day.TalkSum += talk
	}
	kind := EventComplete
	if o == OutcomeTransferred {
		kind = EventTransfer
	}
	a.emit(Event{Time: now, Kind: kind, Agent: ag.cfg.Login, Queue: e.Queue, Call: id, Reason: by,
		Wait: e.connected.Sub(e.entered), Talk: talk, Outbound: q.cfg.Kind == KindOutbound, Consult: e.Consult})
	ag.entry, e.agent = nil, nil
	if !e.Consult {
		ag.callsToday++
		q.aht.add((talk + q.cfg.WrapUp).Seconds())
	}
	if ag.pendingLogout || q.cfg.WrapUp <= 0 {
		a.endCall(ag, now, true)
	} else {
		ag.wrapTo, ag.wrapQ = now.Add(q.cfg.WrapUp), q
		a.setState(ag, StateWrapUp, "", now)
		a.poke()
	}
	a.match(now)
	return nil
}

// Tick applies what the clock decides: offers whose lease lapsed fail as
// unanswered, wrap-ups that are over end, and calls waiting long enough
// for level-2 agents are offered to them. It returns the next time Tick
// has work (zero: none scheduled).
func (a *ACD) Tick() time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	a.roll(now)
	for _, ag := range a.byLogin {
		switch ag.state {
		case StateReserved:
			if e := ag.entry; e != nil && now.After(ag.lease) {
				e.ticket.notify(Notice{Kind: NoticeRevoked, Agent: ag.cfg.Login})
				a.failOffer(e, FailNoAnswer, now)
			} else if e == nil && ag.hold != "" && now.After(ag.lease) {
				a.endCall(ag, now, false)
			}
		case StateWrapUp:
			if !now.Before(ag.wrapTo) {
				ag.wrapQ = nil
				a.endCall(ag, now, true)
			}
		}
	}
	a.match(now)
	return a.nextDeadline(now)
}

// nextDeadline is the earliest future time Tick has something to do.
func (a *ACD) nextDeadline(now time.Time) time.Time {
	var next time.Time
	consider := func(t time.Time) {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	for _, ag := range a.byLogin {
		switch ag.state {
		case StateReserved:
			consider(ag.lease.Add(time.Millisecond))
		case StateWrapUp:
			consider(ag.wrapTo)
		}
	}
	if a.ready+a.held > 0 {
		for _, e := range a.waiting {
			if l2 := e.q.cfg.Level2After; l2 > 0 {
				if t := e.entered.Add(l2); t.After(now) {
					consider(t)
				}
			}
		}
	}
	return next
}

// CompleteTransfer ends an attended transfer: call (connected to agent A)
// and consult (A's consultation call, connected to agent B) become one:
// the caller is now connected to B, A goes to wrap-up, and the consult
// entry is gone. B's talk time counts from the consult's connect.
func (a *ACD) CompleteTransfer(callID, consultID string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	e, c := a.entries[callID], a.entries[consultID]
	if e == nil || c == nil || e.state != entryConnected || c.state != entryConnected {
		return fmt.Errorf("acd: complete transfer of %s to %s: %w", callID, consultID, ErrUnknownEntry)
	}
	from, to := e.agent, c.agent
	talk := now.Sub(e.connected)
	q := e.q
	q.day.TalkSum += talk
	a.emit(Event{Time: now, Kind: EventTransfer, Agent: from.cfg.Login, Queue: e.Queue, Call: callID, Reason: to.cfg.Login,
		Wait: e.connected.Sub(e.entered), Talk: talk, Outbound: q.cfg.Kind == KindOutbound})
	delete(a.entries, consultID)
	e.agent, e.connected = to, c.connected
	to.entry = e
	from.entry = nil
	from.callsToday++
	a.emit(Event{Time: now, Kind: EventConnect, Agent: to.cfg.Login, Queue: e.Queue, Call: callID, Reason: "transfer",
		Wait: now.Sub(e.entered), Outbound: q.cfg.Kind == KindOutbound, Again: true})
	if from.pendingLogout || q.cfg.WrapUp <= 0 {
		a.endCall(from, now, true)
	} else {
		from.wrapTo, from.wrapQ = now.Add(q.cfg.WrapUp), q
		a.setState(from, StateWrapUp, "", now)
		a.poke()
	}
	a.match(now)
	return nil
}
