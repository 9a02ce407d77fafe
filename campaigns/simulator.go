package campaigns

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/obzvon/obzvon/acd"
)

// SimConfig describes one simulated campaign day. The simulator is a
// discrete-event simulation on a virtual clock that drives the production
// Pacer: every tick it builds a State exactly as the dialer does and starts
// as many calls as Decide answers.
//
// The reference scenario (DefaultSimConfig): talk time lognormal with mean
// 120 s and coefficient of variation 1, then 15 s wrap-up; a dial is
// answered live after U(3,15) s with probability LiveProb; of the rest 50 %
// ring out at 20 s, 30 % reach an answering machine (U(3,15) s plus 3 s of
// detection) and 20 % are busy after U(1,5) s; a live answer waits at most
// the grace period (2 s) for an agent, else it is abandoned.
//
// AMD replaces the reference's detection with the appliance's as a run
// measured it (make bench-campaign): a live answer too waits for the
// detector's decision before it can go to an agent, and its grace period
// starts at that decision, as in dialer/campaign.go.
type SimConfig struct {
	Agents   int
	LiveProb float64
	Pacer    PacerConfig
	// Warmup runs before measuring (estimates learn, the day counters
	// restart when it ends); Duration is the measured day.
	Warmup, Duration time.Duration
	Seed             uint64
	// Tick is how often the pacer is asked (default 250 ms).
	Tick time.Duration
	// TalkMean and TalkCV describe the lognormal talk time; Wrap is the
	// fixed wrap-up.
	TalkMean time.Duration
	TalkCV   float64
	Wrap     time.Duration
	// HandleScale multiplies talk times of calls connected after
	// HandleScaleAt (measured from the start of the day, after warm-up);
	// 0 means no change.
	HandleScale   float64
	HandleScaleAt time.Duration
	// LiveProbAfter, when set, replaces LiveProb for dials from
	// LiveProbAt on (measured from the start of the day, after warm-up):
	// the list's answer rate changes mid-day.
	LiveProbAfter float64
	LiveProbAt    time.Duration
	// Logouts are bursts of agents leaving for a while.
	Logouts []SimLogout
	// Inbound, when set, adds blended inbound traffic on the same agents.
	Inbound *SimInbound
	// Trunk limits (0: none).
	Channels int
	CPS      float64
	// Scale divides the called side's times (ring to a live answer, ring
	// timeout, a machine's answer and detection, busy): 10 is the scaled
	// day of make bench-campaign (with TalkMean and Wrap divided too).
	// 0 means 1.
	Scale float64
	// AMD, when set, is answering-machine detection as the appliance runs
	// it; nil is the reference's (a live answer goes to an agent at once,
	// a machine is detected 3 s after its answer, divided by Scale).
	AMD *SimAMD
	// TalkExp draws talk times from an exponential distribution of mean
	// TalkMean (TalkCV is then not used), as obzvon-load's trunk does.
	TalkExp bool
	// Priors seed the pacer's estimates, as a campaign's settings do
	// (prior_live, prior_ring, prior_talk, prior_wrap); zero fields take
	// DefaultPriors.
	Priors Priors
	// DayFromWarmup counts the warm-up in the measured day's abandonment
	// window, as for a campaign started that day (make bench-campaign);
	// by default the warm-up is the end of the day before.
	DayFromWarmup bool
}

// SimAMD is answering-machine detection's time from the answer to its
// decision. Both are real durations, never divided by SimConfig.Scale: the
// detector listens to the far end's audio as it comes, so a day scaled
// down in time still waits as long for it.
type SimAMD struct {
	// Live is the time to pass a live answer on (verdict human, or
	// unknown after the initial silence): the call is in flight meanwhile,
	// then waits at most the grace period for an agent.
	Live time.Duration
	// Machine is the time to recognise a machine, which is then hung up.
	Machine time.Duration
}

// SimLogout makes Count agents log out At (after warm-up) as soon as they
// finish their current call, for For.
type SimLogout struct {
	At, For time.Duration
	Count   int
}

// SimInbound is Poisson inbound traffic with exponential handle times
// (talk; the campaign's wrap-up follows) and a service-level target.
type SimInbound struct {
	CallsPerHour float64
	HandleTime   time.Duration
	Target       acd.Target
}

// DefaultSimConfig returns the reference scenario for n agents at live
// answer probability p in the given mode: 30 min warm-up, 8 h measured.
func DefaultSimConfig(mode Mode, n int, p float64) SimConfig {
	pc := PacerConfig{Mode: mode}
	if mode == ModeRatio {
		pc.Ratio = 2
	}
	return SimConfig{
		Agents: n, LiveProb: p, Pacer: pc,
		Warmup: 30 * time.Minute, Duration: 8 * time.Hour, Seed: 1,
		Tick: 250 * time.Millisecond, TalkMean: 120 * time.Second, TalkCV: 1, Wrap: 15 * time.Second,
	}
}

// SimResult are the measured figures of one simulated day (after warm-up).
type SimResult struct {
	// Occupancy is (talk + wrap-up) / logged-in time over all agents.
	Occupancy float64
	// OutboundOccupancy counts only outbound talk and wrap-up.
	OutboundOccupancy float64
	// Abandon is abandoned / live answers over the measured day.
	Abandon float64
	// ContactsPerAgentHour is connected live answers per logged-in hour.
	ContactsPerAgentHour float64
	// IdlePerConnect is idle agent seconds per connected outbound call.
	IdlePerConnect                   float64
	Dials, Live, Abandoned, Connects int
	// InboundOffered and InboundInTime count inbound calls and those
	// answered within the target time; InboundSL is their ratio.
	InboundOffered, InboundInTime int
	InboundSL                     float64
	// MaxExcessProgressive is the largest (calls in flight - ready agents)
	// seen right after a progressive decision; it must never be positive.
	MaxExcessProgressive int
	// MaxChannels is the largest number of channels in use.
	MaxChannels int
}

type simEventKind uint8

const (
	evTick simEventKind = iota
	evCallEnd
	evTalkEnd
	evWrapEnd
	evAbandonCheck
	evInboundArrival
	evLogout
	evLogin
)

type simEvent struct {
	t    float64
	seq  uint64
	kind simEventKind
	id   int // call id, agent index, waiting id, logout index
}

type eventHeap []simEvent

func (h eventHeap) less(i, j int) bool {
	if h[i].t != h[j].t {
		return h[i].t < h[j].t
	}
	return h[i].seq < h[j].seq
}

func (h *eventHeap) push(e simEvent) {
	*h = append(*h, e)
	a := *h
	i := len(a) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !a.less(i, p) {
			break
		}
		a[i], a[p] = a[p], a[i]
		i = p
	}
}

func (h *eventHeap) pop() simEvent {
	a := *h
	top := a[0]
	n := len(a) - 1
	a[0] = a[n]
	a = a[:n]
	i := 0
	for {
		l, r := 2*i+1, 2*i+2
		m := i
		if l < n && a.less(l, m) {
			m = l
		}
		if r < n && a.less(r, m) {
			m = r
		}
		if m == i {
			break
		}
		a[i], a[m] = a[m], a[i]
		i = m
	}
	*h = a
	return top
}

type simAgent struct {
	state         acd.State
	since         float64
	inbound       bool // current call is inbound
	pendingLogout bool
	logoutFor     float64
	talkStart     float64
}

type simCall struct {
	id      int
	dialAt  float64
	outcome Outcome
}

type simWaiter struct {
	id   int
	at   float64
	done bool
}

type simulator struct {
	cfg   SimConfig
	rng   *rand.Rand
	pacer *Pacer
	est   *Estimates
	ev    eventHeap
	seq   uint64
	now   float64
	start float64 // end of warm-up
	end   float64

	agents   []simAgent
	calls    []simCall
	nextCall int
	waiting  []simWaiter // live outbound answers waiting for an agent, FIFO
	inQueue  []float64   // inbound arrival times, FIFO
	starts   []float64   // recent call start times (CPS)
	inUse    int

	// ledger is the production abandonment ledger on the virtual clock,
	// whose wall time starts so that the measured day begins at midnight:
	// the warm-up is the end of the day before (DayFromWarmup: the day
	// begins with the warm-up).
	ledger *AbandonLedger
	epoch  time.Time
	state  State
	inb    Inbound

	talkMu, talkSigma float64

	// accounting after warm-up
	busyT, outBusyT, loggedT, idleT float64
	res                             SimResult
}

// Simulate runs one simulated day and returns its figures. It fails only on
// a bad configuration.
func Simulate(cfg SimConfig) (SimResult, error) {
	s, err := newSimulator(cfg)
	if err != nil {
		return SimResult{}, err
	}
	s.run()
	return s.res, nil
}

// newSimulator checks cfg and sets up its day, ready to run.
func newSimulator(cfg SimConfig) (*simulator, error) {
	if cfg.Agents <= 0 {
		return nil, fmt.Errorf("simulate: agents %d: must be > 0", cfg.Agents)
	}
	if !(cfg.LiveProb > 0 && cfg.LiveProb <= 1) {
		return nil, fmt.Errorf("simulate: live probability %v: must be in (0, 1]", cfg.LiveProb)
	}
	if cfg.Duration <= 0 {
		return nil, fmt.Errorf("simulate: duration %v: must be > 0", cfg.Duration)
	}
	if cfg.Tick <= 0 {
		cfg.Tick = 250 * time.Millisecond
	}
	if cfg.TalkMean <= 0 {
		cfg.TalkMean = 120 * time.Second
	}
	if cfg.TalkCV <= 0 {
		cfg.TalkCV = 1
	}
	if cfg.Wrap < 0 {
		cfg.Wrap = 0
	}
	if a := cfg.AMD; a != nil && (a.Live < 0 || a.Machine < 0) {
		return nil, fmt.Errorf("simulate: AMD decision times live %v, machine %v: must be >= 0", a.Live, a.Machine)
	}
	pacer, err := NewPacer(cfg.Pacer)
	if err != nil {
		return nil, fmt.Errorf("simulate: %w", err)
	}
	s := &simulator{
		cfg:   cfg,
		rng:   rand.New(rand.NewPCG(cfg.Seed, 0x0b2b0)),
		pacer: pacer,
		est:   NewEstimates(cfg.Priors),
		start: cfg.Warmup.Seconds(),
		end:   (cfg.Warmup + cfg.Duration).Seconds(),
	}
	s.ledger = NewAbandonLedger(time.UTC)
	s.epoch = simDayStart.Add(-cfg.Warmup)
	if cfg.DayFromWarmup {
		s.epoch = simDayStart
	}
	sig2 := math.Log(1 + cfg.TalkCV*cfg.TalkCV)
	s.talkSigma = math.Sqrt(sig2)
	s.talkMu = math.Log(cfg.TalkMean.Seconds()) - sig2/2
	s.agents = make([]simAgent, cfg.Agents)
	for i := range s.agents {
		s.agents[i] = simAgent{state: acd.StateReady}
	}
	s.state.Estimates = s.est
	s.state.Agents = make([]Agent, 0, cfg.Agents)
	if cfg.Inbound != nil {
		s.inb = Inbound{CallsPerHour: cfg.Inbound.CallsPerHour, HandleTime: cfg.Inbound.HandleTime, Target: cfg.Inbound.Target}
		s.state.Inbound = &s.inb
		s.schedule(s.rng.ExpFloat64()*3600/cfg.Inbound.CallsPerHour, evInboundArrival, 0)
	}
	for i, l := range cfg.Logouts {
		s.schedule(s.start+l.At.Seconds(), evLogout, i)
	}
	s.schedule(0, evTick, 0)
	return s, nil
}

func (s *simulator) schedule(t float64, k simEventKind, id int) {
	s.seq++
	s.ev.push(simEvent{t: t, seq: s.seq, kind: k, id: id})
}

func (s *simulator) run() {
	warm := false
	for len(s.ev) > 0 {
		e := s.ev.pop()
		if e.t > s.end {
			break
		}
		if !warm && e.t >= s.start {
			s.account(s.start)
			warm = true
		}
		s.account(e.t)
		s.now = e.t
		switch e.kind {
		case evTick:
			s.tick()
			s.schedule(s.now+s.cfg.Tick.Seconds(), evTick, 0)
		case evCallEnd:
			s.callEnd(e.id)
		case evTalkEnd:
			s.talkEnd(e.id)
		case evWrapEnd:
			s.wrapEnd(e.id)
		case evAbandonCheck:
			s.abandonCheck(e.id)
		case evInboundArrival:
			s.inboundArrival()
		case evLogout:
			s.logout(e.id)
		case evLogin:
			a := &s.agents[e.id]
			a.state, a.since = acd.StateReady, s.now
			s.agentFree(e.id)
		}
	}
	s.account(s.end)
	s.finish()
}

// account integrates agent time from the last accounting point to t.
func (s *simulator) account(t float64) {
	if t <= s.start || t <= s.now {
		return
	}
	from := math.Max(s.now, s.start)
	dt := t - from
	for i := range s.agents {
		a := &s.agents[i]
		switch a.state {
		case acd.StateReady:
			s.loggedT += dt
			s.idleT += dt
		case acd.StateTalking, acd.StateWrapUp:
			s.loggedT += dt
			s.busyT += dt
			if !a.inbound {
				s.outBusyT += dt
			}
		}
	}
	// Advance s.now so that the next call does not double count.
	s.now = t
}

// simDayStart is the virtual wall-clock midnight at which measuring starts.
var simDayStart = time.Date(2026, time.January, 5, 0, 0, 0, 0, time.UTC)

// wall returns the virtual wall-clock time of the simulation clock.
func (s *simulator) wall() time.Time { return s.epoch.Add(secs(s.now)) }

func (s *simulator) measuring() bool { return s.now >= s.start }

func (s *simulator) tick() {
	st := &s.state
	st.Agents = st.Agents[:0]
	ready := 0
	for i := range s.agents {
		a := &s.agents[i]
		if a.state == acd.StatePaused || a.state == acd.StateUnknown {
			continue
		}
		if a.state == acd.StateReady {
			ready++
		}
		st.Agents = append(st.Agents, Agent{State: a.state, InState: secs(s.now - a.since), Inbound: a.inbound})
	}
	st.Calls = st.Calls[:0]
	for _, c := range s.calls {
		st.Calls = append(st.Calls, Call{Ringing: secs(s.now - c.dialAt)})
	}
	st.WaitingLive = 0
	for _, w := range s.waiting {
		if !w.done {
			st.WaitingLive++
		}
	}
	if st.Inbound != nil {
		s.inb.Waiting = len(s.inQueue)
	}
	// CPS window.
	k := 0
	for _, t := range s.starts {
		if t > s.now-1 {
			s.starts[k] = t
			k++
		}
	}
	s.starts = s.starts[:k]
	st.Trunk = Trunk{Channels: s.cfg.Channels, InUse: s.inUse, CPS: s.cfg.CPS, StartedLastSecond: len(s.starts)}
	st.Day, st.Month = s.ledger.Windows(s.wall())

	d := s.pacer.Decide(st)
	for i := 0; i < d.Dial; i++ {
		s.dial()
	}
	if d.Mode == ModeProgressive {
		if ex := len(s.calls) - (ready - st.WaitingLive); ex > s.res.MaxExcessProgressive {
			s.res.MaxExcessProgressive = ex
		}
	}
}

func secs(x float64) time.Duration { return time.Duration(x * float64(time.Second)) }

func (s *simulator) uniform(a, b float64) float64 { return a + (b-a)*s.rng.Float64() }

func (s *simulator) dial() {
	o, dur := s.outcome()
	id := s.nextCall
	s.nextCall++
	s.calls = append(s.calls, simCall{id: id, dialAt: s.now, outcome: o})
	s.starts = append(s.starts, s.now)
	s.inUse++
	if s.inUse > s.res.MaxChannels {
		s.res.MaxChannels = s.inUse
	}
	if s.measuring() {
		s.res.Dials++
	}
	s.schedule(s.now+dur, evCallEnd, id)
}

// outcome draws how a call dialed now ends and the seconds from the dial
// until it leaves the "in flight" state: a live answer once detection (if
// any) passed it on, a machine once detected, the others when they fail.
func (s *simulator) outcome() (Outcome, float64) {
	var o Outcome
	var dur float64
	p := s.cfg.LiveProb
	if s.cfg.LiveProbAfter > 0 && s.now >= s.start+s.cfg.LiveProbAt.Seconds() {
		p = s.cfg.LiveProbAfter
	}
	// detect is the reference's detection time after a machine's answer,
	// scaled with the called side; amd is the appliance's, which is not.
	var detect, amd float64
	if s.rng.Float64() < p {
		o, dur = OutcomeLive, s.uniform(3, 15)
		if s.cfg.AMD != nil {
			amd = s.cfg.AMD.Live.Seconds()
		}
	} else {
		switch u := s.rng.Float64(); {
		case u < 0.5:
			o, dur = OutcomeNoAnswer, 20
		case u < 0.8:
			o, dur = OutcomeMachine, s.uniform(3, 15)
			detect = 3
			if s.cfg.AMD != nil {
				detect, amd = 0, s.cfg.AMD.Machine.Seconds()
			}
		default:
			o, dur = OutcomeBusy, s.uniform(1, 5)
		}
	}
	dur += detect
	if s.cfg.Scale > 0 {
		dur /= s.cfg.Scale
	}
	return o, dur + amd
}

func (s *simulator) callEnd(id int) {
	var c simCall
	for i := range s.calls {
		if s.calls[i].id == id {
			c = s.calls[i]
			s.calls[i] = s.calls[len(s.calls)-1]
			s.calls = s.calls[:len(s.calls)-1]
			break
		}
	}
	s.est.ObserveDial(c.outcome, secs(s.now-c.dialAt))
	if c.outcome != OutcomeLive {
		s.inUse--
		return
	}
	if s.measuring() {
		s.res.Live++
	}
	if i := s.readyAgent(); i >= 0 {
		s.ledger.Record(s.wall(), false)
		s.connect(i, false)
		return
	}
	s.waiting = append(s.waiting, simWaiter{id: id, at: s.now})
	s.schedule(s.now+s.cfg.Pacer.withDefaults().Grace.Seconds(), evAbandonCheck, id)
}

// readyAgent returns the longest-idle ready agent, or -1.
func (s *simulator) readyAgent() int {
	best, bestT := -1, math.Inf(1)
	for i := range s.agents {
		if a := &s.agents[i]; a.state == acd.StateReady && a.since < bestT {
			best, bestT = i, a.since
		}
	}
	return best
}

func (s *simulator) connect(i int, inbound bool) {
	a := &s.agents[i]
	a.state, a.since, a.inbound, a.talkStart = acd.StateTalking, s.now, inbound, s.now
	var talk float64
	if inbound {
		talk = s.rng.ExpFloat64() * s.cfg.Inbound.HandleTime.Seconds()
	} else {
		talk = s.talkTime()
		if s.cfg.HandleScale > 0 && s.now >= s.start+s.cfg.HandleScaleAt.Seconds() {
			talk *= s.cfg.HandleScale
		}
		if s.measuring() {
			s.res.Connects++
		}
	}
	s.schedule(s.now+talk, evTalkEnd, i)
}

// talkTime draws an outbound call's talk time in seconds.
func (s *simulator) talkTime() float64 {
	if s.cfg.TalkExp {
		return s.rng.ExpFloat64() * s.cfg.TalkMean.Seconds()
	}
	return math.Exp(s.talkMu + s.talkSigma*s.rng.NormFloat64())
}

func (s *simulator) talkEnd(i int) {
	a := &s.agents[i]
	if !a.inbound {
		s.est.ObserveTalk(secs(s.now - a.since))
		s.inUse--
	}
	a.state, a.since = acd.StateWrapUp, s.now
	s.schedule(s.now+s.cfg.Wrap.Seconds(), evWrapEnd, i)
}

func (s *simulator) wrapEnd(i int) {
	a := &s.agents[i]
	if !a.inbound {
		s.est.ObserveWrap(secs(s.now - a.since))
	}
	a.inbound = false
	if a.pendingLogout {
		a.pendingLogout = false
		a.state, a.since = acd.StatePaused, s.now
		s.schedule(s.now+a.logoutFor, evLogin, i)
		return
	}
	a.state, a.since = acd.StateReady, s.now
	s.agentFree(i)
}

// agentFree gives a newly ready agent work: inbound first, then a live
// outbound answer waiting for an agent.
func (s *simulator) agentFree(i int) {
	if len(s.inQueue) > 0 {
		arr := s.inQueue[0]
		s.inQueue = s.inQueue[1:]
		s.inboundAnswered(arr)
		s.connect(i, true)
		return
	}
	for k := range s.waiting {
		if !s.waiting[k].done {
			s.waiting[k].done = true
			s.compactWaiting()
			s.ledger.Record(s.wall(), false)
			s.connect(i, false)
			return
		}
	}
}

func (s *simulator) compactWaiting() {
	k := 0
	for _, w := range s.waiting {
		if !w.done {
			s.waiting[k] = w
			k++
		}
	}
	s.waiting = s.waiting[:k]
}

func (s *simulator) abandonCheck(id int) {
	for k := range s.waiting {
		if s.waiting[k].id == id && !s.waiting[k].done {
			s.waiting[k].done = true
			s.compactWaiting()
			s.ledger.Record(s.wall(), true)
			s.inUse--
			if s.measuring() {
				s.res.Abandoned++
			}
			return
		}
	}
}

func (s *simulator) inboundArrival() {
	in := s.cfg.Inbound
	s.schedule(s.now+s.rng.ExpFloat64()*3600/in.CallsPerHour, evInboundArrival, 0)
	if s.measuring() {
		s.res.InboundOffered++
	}
	if i := s.readyAgent(); i >= 0 {
		s.inboundAnswered(s.now)
		s.connect(i, true)
		return
	}
	s.inQueue = append(s.inQueue, s.now)
}

func (s *simulator) inboundAnswered(arrived float64) {
	if arrived >= s.start && s.now-arrived <= s.cfg.Inbound.Target.AnswerTime {
		s.res.InboundInTime++
	}
}

func (s *simulator) logout(idx int) {
	l := s.cfg.Logouts[idx]
	n := 0
	for i := range s.agents {
		if n >= l.Count {
			break
		}
		a := &s.agents[i]
		if a.state == acd.StatePaused || a.pendingLogout {
			continue
		}
		n++
		if a.state == acd.StateReady {
			a.state, a.since = acd.StatePaused, s.now
			s.schedule(s.now+l.For.Seconds(), evLogin, i)
			continue
		}
		a.pendingLogout, a.logoutFor = true, l.For.Seconds()
	}
}

func (s *simulator) finish() {
	r := &s.res
	if s.loggedT > 0 {
		r.Occupancy = s.busyT / s.loggedT
		r.OutboundOccupancy = s.outBusyT / s.loggedT
		r.ContactsPerAgentHour = float64(r.Connects) / (s.loggedT / 3600)
	}
	if r.Live > 0 {
		r.Abandon = float64(r.Abandoned) / float64(r.Live)
	}
	if r.Connects > 0 {
		r.IdlePerConnect = s.idleT / float64(r.Connects)
	}
	if r.InboundOffered > 0 {
		r.InboundSL = float64(r.InboundInTime) / float64(r.InboundOffered)
	}
}
