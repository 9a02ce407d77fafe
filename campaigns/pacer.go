package campaigns

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/obzvon/obzvon/acd"
)

// Mode is a campaign's pacing mode.
type Mode int

// Pacing modes.
const (
	// ModeUnknown is the zero value; a campaign must choose a mode.
	ModeUnknown Mode = iota
	// ModePreview never dials by itself: an agent previews the contact and
	// starts the call.
	ModePreview
	// ModeProgressive keeps at most one call in flight per ready agent, so
	// no live answer ever waits for an agent.
	ModeProgressive
	// ModeRatio keeps a fixed number of calls in flight per ready agent.
	ModeRatio
	// ModePredictive dials ahead of agents becoming free, from the learned
	// answer and handle-time distributions, within an abandonment target.
	ModePredictive
	// ModeAgentless plays a message or an IVR to whoever answers, bounded
	// only by channels, calls per second and IVR capacity.
	ModeAgentless
)

var modeNames = [...]string{"unknown", "preview", "progressive", "ratio", "predictive", "agentless"}

// String returns the mode's name as written in configs.
func (m Mode) String() string {
	if m < 0 || int(m) >= len(modeNames) {
		return "unknown"
	}
	return modeNames[m]
}

// ParseMode parses a mode name as printed by String.
func ParseMode(s string) (Mode, error) {
	for i, n := range modeNames {
		if i > 0 && n == s {
			return Mode(i), nil
		}
	}
	return ModeUnknown, fmt.Errorf("pacing mode %q: %w", s, ErrBadMode)
}

// Sentinel errors of the pacer's configuration.
var (
	// ErrBadMode reports an unknown pacing mode.
	ErrBadMode = errors.New("unknown pacing mode")
	// ErrBadPacerConfig reports a pacer setting out of range.
	ErrBadPacerConfig = errors.New("bad pacer setting")
	// ErrBadName reports an unknown name of an outcome, reason or block.
	ErrBadName = errors.New("unknown name")
)

// Agent is one agent the campaign may use, with how long it has been in
// its state.
type Agent struct {
	// State is the agent's ACD state. Ready agents can take a call;
	// reserved, talking and wrap_up agents are busy and will be free
	// soon; paused and logged_out agents are not counted at all.
	State   acd.State
	InState time.Duration
	// Inbound is true when the agent is on (or wrapping up) an inbound
	// call; blending keeps such agents for inbound while it needs them.
	Inbound bool
	// Login names the agent (empty when the source does not say): the
	// runner learns wrap-up times from the state of the operators its
	// calls reached.
	Login string
}

// Call is one outbound call in flight: dialed, not yet answered live or
// finished. Ringing is the time since the dial.
type Call struct {
	Ringing time.Duration
}

// Trunk is the capacity left on the trunks the campaign dials through.
type Trunk struct {
	// Channels is the number of channels the campaign may use (0: no limit).
	Channels int
	// InUse is the number of those channels busy now (calls in flight and
	// connected calls).
	InUse int
	// CPS is the calls-per-second limit (0: no limit). A fractional limit
	// below 1 allows one call whenever the last second had none, so it is
	// enforced at 1 per second; the dialer should space such calls itself.
	CPS float64
	// StartedLastSecond is the number of calls started in the last second.
	StartedLastSecond int
}

// Window counts live answers and abandoned calls over one window of time.
type Window struct {
	Live      int // live answers (connected plus abandoned)
	Abandoned int
}

// Rate returns Abandoned/Live, 0 when there were no live answers.
func (w Window) Rate() float64 {
	if w.Live <= 0 {
		return 0
	}
	return float64(w.Abandoned) / float64(w.Live)
}

// Inbound is the state of the inbound queues the campaign's agents also
// serve (blending).
type Inbound struct {
	// Waiting is the number of callers queued now.
	Waiting int
	// CallsPerHour is the current arrival rate.
	CallsPerHour float64
	// HandleTime is the mean inbound handle time.
	HandleTime time.Duration
	// Target is the service-level objective, e.g. 80 % within 20 s.
	Target acd.Target
	// Patience is the callers' mean patience; when set, the staffing comes
	// from Erlang A instead of Erlang C.
	Patience time.Duration
}

// State is everything the pacer decides from. The dialer builds it several
// times a second from live state; the simulator builds it from its virtual
// clock. Slices are read, never kept.
type State struct {
	// Agents are the agents the campaign may use now.
	Agents []Agent
	// Calls are the outbound calls in flight.
	Calls []Call
	// WaitingLive is the number of live answers waiting for an agent now
	// (each will be abandoned if none frees up within the grace period).
	WaitingLive int
	// Estimates are the campaign's learned distributions; nil means the
	// priors only (and so cold start).
	Estimates *Estimates
	// Day and Month are the abandonment so far today and over the rolling
	// 30 days.
	Day, Month Window
	// Trunk is the remaining trunk capacity.
	Trunk Trunk
	// Inbound is the blended inbound queue, nil when the campaign does not
	// blend.
	Inbound *Inbound
	// IVRActive is the number of answered calls in the IVR (agentless).
	IVRActive int
}

// PacerConfig configures a campaign's pacer. Zero fields take defaults.
type PacerConfig struct {
	Mode Mode
	// Ratio is the lines per ready agent in ModeRatio (default 2).
	Ratio float64
	// TargetAbandon is the abandonment limit, a fraction of live answers,
	// for the day and the rolling 30 days (default 0.03).
	TargetAbandon float64
	// Setpoint is the abandonment the predictive mode aims at, below the
	// target to leave room for chance (default 0.85 of the target).
	Setpoint float64
	// Gain scales the per-call abandonment risk the predictive mode
	// accepts relative to the setpoint before feedback (default 1).
	Gain float64
	// Feedback is the strength of the correction from the measured rate:
	// alpha is multiplied by exp(Feedback·(setpoint-rate)/setpoint), within
	// [0.02, 3] (default 3).
	Feedback float64
	// Grace is how long a live answer may wait for an agent (default 2 s).
	Grace time.Duration
	// MinOutcomes is the number of dial outcomes the predictive mode needs
	// before it trusts its estimates; until then it runs progressive
	// (default 100).
	MinOutcomes int
	// MinLiveForBudget is the number of live answers today after which a
	// day rate at or over the target ends predictive dialing for the day
	// (default 100).
	MinLiveForBudget int
	// IVRCapacity bounds simultaneous IVR sessions in ModeAgentless
	// (0: no limit).
	IVRCapacity int
	// MaxPerDecision bounds the calls started by one decision (default 50).
	MaxPerDecision int
}

// Validate checks the configuration and names the first bad setting.
func (c PacerConfig) Validate() error {
	switch {
	case c.Mode <= ModeUnknown || c.Mode > ModeAgentless:
		return fmt.Errorf("mode %d: %w", c.Mode, ErrBadMode)
	case c.Ratio < 0 || c.Ratio > 20 || math.IsNaN(c.Ratio):
		return fmt.Errorf("ratio %v: must be in [1, 20]: %w", c.Ratio, ErrBadPacerConfig)
	case c.Ratio != 0 && c.Ratio < 1:
		return fmt.Errorf("ratio %v: must be in [1, 20]: %w", c.Ratio, ErrBadPacerConfig)
	case c.TargetAbandon < 0 || c.TargetAbandon >= 1 || math.IsNaN(c.TargetAbandon):
		return fmt.Errorf("target abandon %v: must be in (0, 1): %w", c.TargetAbandon, ErrBadPacerConfig)
	case c.Setpoint < 0 || math.IsNaN(c.Setpoint) || (c.Setpoint > 0 && c.TargetAbandon > 0 && c.Setpoint > c.TargetAbandon):
		return fmt.Errorf("setpoint %v: must be in (0, target]: %w", c.Setpoint, ErrBadPacerConfig)
	case c.Grace < 0:
		return fmt.Errorf("grace %v: must be >= 0: %w", c.Grace, ErrBadPacerConfig)
	case c.MinOutcomes < 0 || c.MinLiveForBudget < 0 || c.IVRCapacity < 0 || c.MaxPerDecision < 0:
		return fmt.Errorf("negative count in pacer config: %w", ErrBadPacerConfig)
	}
	return nil
}

func (c PacerConfig) withDefaults() PacerConfig {
	if c.Ratio == 0 {
		c.Ratio = 2
	}
	if c.TargetAbandon == 0 {
		c.TargetAbandon = 0.03
	}
	if c.Setpoint == 0 {
		c.Setpoint = 0.85 * c.TargetAbandon
	}
	if c.Gain == 0 {
		c.Gain = 1
	}
	if c.Feedback == 0 {
		c.Feedback = 3
	}
	if c.Grace == 0 {
		c.Grace = 2 * time.Second
	}
	if c.MinOutcomes == 0 {
		c.MinOutcomes = 100
	}
	if c.MinLiveForBudget == 0 {
		c.MinLiveForBudget = 100
	}
	if c.MaxPerDecision == 0 {
		c.MaxPerDecision = 50
	}
	return c
}

// Reason says why a decision came out as it did.
type Reason int

// Reasons of a decision.
const (
	ReasonUnknown        Reason = iota // zero value
	ReasonPaced                        // the mode's own rule decided
	ReasonPreview                      // preview mode never dials by itself
	ReasonColdStart                    // predictive, too few outcomes yet: progressive
	ReasonBudgetSpent                  // predictive, the day's or the 30 days' abandonment budget spent: progressive
	ReasonNoAgents                     // no agent can be free in time
	ReasonChannels                     // limited by trunk channels
	ReasonCPS                          // limited by calls per second
	ReasonIVR                          // limited by IVR capacity
	ReasonInboundNeeds                 // blending keeps the agents for inbound
	ReasonMaxPerDecision               // limited by MaxPerDecision
)

var reasonNames = [...]string{"unknown", "paced", "preview", "cold_start", "budget_spent", "no_agents",
	"channels", "cps", "ivr", "inbound_needs", "max_per_decision"}

// String returns the reason's name, a bounded label for metrics.
func (r Reason) String() string {
	if r < 0 || int(r) >= len(reasonNames) {
		return "unknown"
	}
	return reasonNames[r]
}

// ParseReason parses a reason name as printed by String.
func ParseReason(s string) (Reason, error) {
	i, err := parseName(reasonNames[:], s, "pacing reason")
	return Reason(i), err
}

// Decision is the pacer's answer: start Dial calls now.
type Decision struct {
	Dial int
	// Mode is the mode that decided (predictive falls back to progressive
	// on cold start and when the day's or the 30 days' budget is spent).
	Mode   Mode
	Reason Reason
	// Risk is the predictive mode's estimated probability that the last
	// call it adds finds no agent if answered live (0 in other modes).
	Risk float64
	// Reserved is the number of agents kept for inbound.
	Reserved int
}

// Pacer decides how many calls a campaign starts now. Decide is a pure
// function of the configuration and the State it is given; the Pacer only
// keeps scratch buffers so that a decision does not allocate. A Pacer is not
// safe for concurrent use: use one per campaign.
type Pacer struct {
	cfg PacerConfig

	// scratch
	horizons [nHorizons]float64
	wrapQ    [nWrapQ]float64
	pmf      [nHorizons][]float64
	shift    [nHorizons]int
	lo       [nHorizons]int
	pw       []float64 // Poisson weights

	inKey  [4]float64 // blending cache key: rate, aht, target, patience
	inNeed int        // agents inbound needs on its own (Erlang C/A)
	// inArrivals is the inbound arrival rate per second that the
	// predictive model counts as demand (0 without blending).
	inArrivals float64
}

const (
	nHorizons = 6 // answer-time quantiles a new call is evaluated at
	nWrapQ    = 3 // wrap-up quantiles the talk-to-free convolution uses
	tinyProb  = 1e-6
	smallProb = 0.002
	// maxPoisson caps a pooled Poisson mean: beyond it the demand exceeds
	// any supply anyway, and the window stays small.
	maxPoisson = 2000
)

// NewPacer returns a pacer for cfg, or an error naming the bad setting.
func NewPacer(cfg PacerConfig) (*Pacer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Pacer{cfg: cfg.withDefaults()}, nil
}

// Config returns the pacer's configuration with defaults filled in.
func (p *Pacer) Config() PacerConfig { return p.cfg }

// Decide returns how many calls to start now for state s.
func (p *Pacer) Decide(s *State) Decision {
	d := Decision{Mode: p.cfg.Mode, Reason: ReasonPaced}
	ready := 0
	for _, a := range s.Agents {
		if a.State == acd.StateReady {
			ready++
		}
	}
	avail := ready - max(s.WaitingLive, 0)
	p.inArrivals = 0
	if s.Inbound != nil {
		d.Reserved = p.inboundReserve(s)
		avail -= d.Reserved
	}
	inflight := len(s.Calls)

	var want int
	switch p.cfg.Mode {
	case ModePreview:
		return Decision{Mode: ModePreview, Reason: ReasonPreview}
	case ModeProgressive:
		want = avail - inflight
	case ModeRatio:
		want = int(math.Floor(p.cfg.Ratio*float64(max(avail, 0)))) - inflight
	case ModeAgentless:
		want = math.MaxInt32
		if p.cfg.IVRCapacity > 0 {
			live := 1.0
			if s.Estimates != nil && s.Estimates.Outcomes() >= p.cfg.MinOutcomes {
				live = s.Estimates.LiveProb()
			}
			room := float64(p.cfg.IVRCapacity-s.IVRActive) - live*float64(inflight)
			want = int(math.Floor(room / math.Max(live, 0.01)))
			if want <= 0 {
				return Decision{Mode: ModeAgentless, Reason: ReasonIVR}
			}
		}
	case ModePredictive:
		est := s.Estimates
		switch {
		case est == nil || est.Outcomes() < p.cfg.MinOutcomes:
			d.Mode, d.Reason = ModeProgressive, ReasonColdStart
			want = avail - inflight
		case p.budgetSpent(s.Day) || p.budgetSpent(s.Month):
			d.Mode, d.Reason = ModeProgressive, ReasonBudgetSpent
			want = avail - inflight
		default:
			want, d.Risk = p.predict(s, est, avail)
		}
	default:
		return Decision{Mode: p.cfg.Mode, Reason: ReasonUnknown}
	}
	if want <= 0 {
		d.Dial = 0
		if d.Reason == ReasonPaced {
			d.Reason = ReasonNoAgents
			if d.Reserved > 0 && avail+d.Reserved > 0 {
				d.Reason = ReasonInboundNeeds
			}
		}
		return d
	}
	d.Dial = want
	if d.Dial > p.cfg.MaxPerDecision {
		d.Dial, d.Reason = p.cfg.MaxPerDecision, ReasonMaxPerDecision
	}
	if t := s.Trunk; t.Channels > 0 && d.Dial > t.Channels-t.InUse {
		d.Dial, d.Reason = max(t.Channels-t.InUse, 0), ReasonChannels
	}
	if t := s.Trunk; t.CPS > 0 {
		room := int(math.Floor(t.CPS)) - t.StartedLastSecond
		if t.CPS < 1 && t.StartedLastSecond == 0 {
			room = 1 // fractional CPS: one call when the last second was empty
		}
		if d.Dial > room {
			d.Dial, d.Reason = max(room, 0), ReasonCPS
		}
	}
	return d
}

// inboundReserve returns how many ready agents blending keeps for inbound,
// callers waiting now included.
//
// The bound is the staffing inbound would need on its own: Erlang C (or,
// with a patience, Erlang A) agents for the inbound traffic, less the agents
// on inbound calls now. Within that bound it keeps only as many idle agents
// as the shared pool needs: every agent who finishes a call goes to a
// waiting inbound caller first, then back to the reserve, then to outbound.
// With a reserve of r, the callers queued plus the reserve agents in use
// form an M/M/1 queue fed by inbound arrivals (rate lambda) and served by
// the pool's call completions (rate nu), so a caller waits past the target
// time with probability (lambda/nu)^r · exp(-(nu-lambda)·T); r is the
// smallest reserve that keeps this within half the allowed shortfall.
func (p *Pacer) inboundReserve(s *State) int {
	in := s.Inbound
	p.inArrivals = 0
	if !(in.CallsPerHour > 0) || !(in.HandleTime > 0) {
		return max(in.Waiting, 0)
	}
	busyIn, busyOut := 0, 0
	for _, a := range s.Agents {
		if a.State.Busy() || a.State == acd.StateWrapUp {
			if a.Inbound {
				busyIn++
			} else {
				busyOut++
			}
		}
	}
	t := in.Target
	if !(t.Fraction > 0 && t.Fraction < 1) || !(t.AnswerTime >= 0) {
		t = acd.Target{Fraction: 0.8, AnswerTime: 20}
	}
	need := len(s.Agents)
	if load := in.CallsPerHour * in.HandleTime.Seconds() / 3600; load < float64(len(s.Agents)) {
		// Inbound alone does not saturate every agent: size it (cached,
		// the inputs change rarely).
		key := [4]float64{in.CallsPerHour, in.HandleTime.Seconds(), t.Fraction*1e6 + t.AnswerTime, in.Patience.Seconds()}
		if key != p.inKey {
			q := acd.Queue{CallsPerHour: in.CallsPerHour, HandleTime: in.HandleTime.Seconds()}
			var r acd.Result
			var err error
			if in.Patience > 0 {
				q.Patience = in.Patience.Seconds()
				r, err = acd.AgentsForTargetA(q, t)
			} else {
				r, err = acd.AgentsForTarget(q, t)
			}
			if err != nil {
				r.Agents = len(s.Agents) // cannot be met: keep everyone
			}
			p.inKey, p.inNeed = key, r.Agents
		}
		need = p.inNeed
	}
	bound := max(need-busyIn, 0)

	lambda := in.CallsPerHour / 3600
	outHandle := in.HandleTime.Seconds()
	if s.Estimates != nil {
		outHandle = s.Estimates.MeanHandle().Seconds()
	}
	nu := float64(busyIn) / in.HandleTime.Seconds()
	if outHandle > 0 {
		nu += float64(busyOut) / outHandle
	}
	r := bound
	if nu > lambda {
		rho := lambda / nu
		allowed := (1 - t.Fraction) / 2
		tail := math.Exp(-(nu - lambda) * t.AnswerTime)
		r = 0
		for r < bound && tail > allowed {
			tail *= rho
			r++
		}
	}
	// Inbound callers who arrive while a new call rings take agents
	// first: the predictive model counts them as demand.
	p.inArrivals = lambda
	return r + max(in.Waiting, 0)
}

// predict is the predictive mode: it adds calls one by one while the next
// call, if answered live, would find an agent with probability at least
// 1 - alpha, where alpha follows the measured abandonment (feedback).
//
// For a new call answered at time h (evaluated at nHorizons quantiles of
// the ring-to-answer distribution), the supply is the agents free by
// h + grace: ready ones for certain, busy ones each with the conditional
// probability that their talk (and wrap-up) ends in time given their time
// in state. The demand ahead of it is the live answers waiting now, the
// calls in flight that answer live before h (given how long they have
// rung), and the calls this decision already added. Supply minus demand is
// a sum of independent Bernoulli terms; its distribution is computed
// exactly by convolution.
func (p *Pacer) predict(s *State, est *Estimates, avail int) (int, float64) {
	cfg := &p.cfg
	pl := est.LiveProb()
	if pl <= 0 {
		return 0, 0
	}
	alpha := p.alpha(s)
	grace := cfg.Grace.Seconds()
	for m := range p.horizons {
		p.horizons[m] = est.live.quantile((float64(m) + 0.5) / nHorizons)
	}
	for j := range p.wrapQ {
		p.wrapQ[j] = est.wrap.quantile((float64(j) + 0.5) / nWrapQ)
	}
	meanWrap := est.wrap.mean()
	meanTalk := est.talk.mean()

	// Terms with a small probability are pooled into one Poisson term per
	// side and horizon (Le Cam: the error is at most the sum of their
	// squares); near-certain terms move the certain shift.
	var smallSupply, smallDemand, deadline [nHorizons]float64
	for m := range p.horizons {
		p.resetPMF(m, len(s.Agents)+len(s.Calls)+cfg.MaxPerDecision+4)
		p.shift[m] = avail // certain supply minus certain demand
		deadline[m] = p.horizons[m] + grace
	}
	for _, a := range s.Agents {
		if a.State != acd.StateWrapUp && !a.State.Busy() {
			continue
		}
		e := a.InState.Seconds()
		d := est.wrap
		mean := meanWrap
		if a.State.Busy() { // reserved counts as a call just connected
			d, mean = est.talk, meanTalk
		}
		fe := d.cdf(e)
		surv := 1 - fe
		// cond returns P(X <= e+t | X > e); past the distribution's support
		// it assumes an exponential remainder with the distribution's mean.
		cond := func(t float64) float64 {
			switch {
			case t <= 0:
				return 0
			case surv < 1e-6:
				return 1 - math.Exp(-t/mean)
			}
			return (d.cdf(e+t) - fe) / surv
		}
		for m := range p.horizons {
			var q float64
			if a.State == acd.StateWrapUp {
				q = cond(deadline[m])
			} else {
				for _, w := range p.wrapQ {
					q += cond(deadline[m] - w)
				}
				q /= nWrapQ
			}
			switch {
			case q <= tinyProb:
			case q < smallProb:
				smallSupply[m] += q
			case q >= 1-tinyProb:
				p.shift[m]++
			default:
				p.pmf[m] = p.convolve(m, p.pmf[m], q, +1)
			}
		}
	}
	for _, c := range s.Calls {
		r := c.Ringing.Seconds()
		fr := est.live.cdf(r)
		alive := pl*(1-fr) + (1-pl)*(1-est.other.cdf(r))
		if alive <= 1e-12 {
			continue
		}
		for m, h := range p.horizons {
			q := pl * (est.live.cdf(r+h) - fr) / alive
			switch {
			case q <= tinyProb:
			case q < smallProb:
				smallDemand[m] += q
			case q >= 1-tinyProb:
				p.shift[m]--
			default:
				p.pmf[m] = p.convolve(m, p.pmf[m], q, -1)
			}
		}
	}
	for m := range p.horizons {
		p.pmf[m] = p.convolvePoisson(m, p.pmf[m], smallSupply[m], +1)
		// Inbound arrivals before the answer take freed agents first.
		smallDemand[m] += p.inArrivals * deadline[m]
		p.pmf[m] = p.convolvePoisson(m, p.pmf[m], smallDemand[m], -1)
	}

	// Add calls while the next one's risk stays within alpha.
	n := 0
	risk := 0.0
	limit := cfg.MaxPerDecision
	if t := s.Trunk; t.Channels > 0 {
		limit = min(limit, t.Channels-t.InUse)
	}
	for n < limit {
		r := 0.0
		for m := range p.horizons {
			r += p.probNoAgent(m)
		}
		r /= nHorizons
		if r > alpha {
			break
		}
		risk = r
		n++
		for m := range p.horizons {
			q := pl * est.live.cdf(p.horizons[m])
			p.pmf[m] = p.convolve(m, p.pmf[m], q, -1)
		}
	}
	return n, risk
}

// budgetSpent reports whether the abandonment budget of window w (the day,
// or the rolling 30 days) is spent: with enough live answers in it to
// judge, one more abandoned call would put it over the target.
func (p *Pacer) budgetSpent(day Window) bool {
	return day.Live >= p.cfg.MinLiveForBudget &&
		float64(day.Abandoned+1) > p.cfg.TargetAbandon*float64(day.Live)
}

// alpha returns the per-call abandonment risk the predictive mode accepts:
// the setpoint times the gain, corrected down (or up) by how far the
// smoothed day and 30-day rates are above (or below) the setpoint, and
// down again as the day's remaining budget (in calls) runs low.
func (p *Pacer) alpha(s *State) float64 {
	cfg := &p.cfg
	sp := cfg.Setpoint
	const pseudo = 150 // live answers of prior at the setpoint
	f := math.Inf(1)
	for _, w := range [2]Window{s.Day, s.Month} {
		rate := (float64(max(w.Abandoned, 0)) + sp*pseudo) / (float64(max(w.Live, 0)) + pseudo)
		f = math.Min(f, math.Exp(cfg.Feedback*(sp-rate)/sp))
	}
	f = math.Max(0.02, math.Min(f, maxBoost))
	if s.Day.Live >= cfg.MinLiveForBudget {
		headroom := cfg.TargetAbandon*float64(s.Day.Live) - float64(s.Day.Abandoned) - 1
		f *= math.Max(0, math.Min(1, headroom/budgetRamp))
	}
	return math.Min(sp*cfg.Gain*f, 0.5)
}

const (
	maxBoost   = 3 // largest upward correction of alpha
	budgetRamp = 4 // calls of day headroom below which alpha ramps to 0
)

// The supply-minus-demand pmf for horizon m lives in p.pmf[m]: index i
// holds P(X = p.lo[m] + i), where X leaves out the certain part kept in
// p.shift[m]. Each Bernoulli term extends the array by one.

func (p *Pacer) resetPMF(m, capHint int) {
	if cap(p.pmf[m]) < 2*capHint+64 {
		p.pmf[m] = make([]float64, 0, 2*capHint+64)
	}
	p.pmf[m] = p.pmf[m][:1]
	p.pmf[m][0] = 1
	p.lo[m] = 0
}

// convolve adds a Bernoulli(q) term with sign +1 (supply) or -1 (demand).
func (p *Pacer) convolve(m int, pm []float64, q float64, sign int) []float64 {
	pm = append(pm, 0)
	if sign > 0 {
		for i := len(pm) - 1; i >= 1; i-- {
			pm[i] = pm[i]*(1-q) + pm[i-1]*q
		}
		pm[0] *= 1 - q
		return pm
	}
	// Demand: the new value range starts one lower. Index i now means
	// value lo-1+i: new[i] = old[i]·q (value dropped by one) + old[i-1]·(1-q).
	for i := len(pm) - 1; i >= 1; i-- {
		pm[i] = pm[i]*q + pm[i-1]*(1-q)
	}
	pm[0] *= q
	p.lo[m]--
	return pm
}

// convolvePoisson adds a Poisson(lambda) term with sign +1 (supply) or -1
// (demand), over the window of counts where its mass is not negligible
// (weights computed from the mode outwards, so large means do not
// underflow).
func (p *Pacer) convolvePoisson(m int, pm []float64, lambda float64, sign int) []float64 {
	if !(lambda > 0) {
		return pm
	}
	lambda = math.Min(lambda, maxPoisson)
	spread := 6*math.Sqrt(lambda) + 6
	from := max(int(lambda-spread), 0)
	to := int(lambda + spread)
	k := to - from
	if cap(p.pw) < k+1 {
		p.pw = make([]float64, k+1)
	}
	w := p.pw[:k+1]
	mode := int(lambda) - from
	w[mode] = 1
	for i := mode + 1; i <= k; i++ {
		w[i] = w[i-1] * lambda / float64(from+i)
	}
	for i := mode - 1; i >= 0; i-- {
		w[i] = w[i+1] * float64(from+i+1) / lambda
	}
	total := 0.0
	for _, x := range w {
		total += x
	}
	for i := range w {
		w[i] /= total
	}
	// The window's first count is a certain shift.
	if sign > 0 {
		p.shift[m] += from
	} else {
		p.shift[m] -= from
	}
	n := len(pm)
	for i := 0; i < k; i++ {
		pm = append(pm, 0)
	}
	size := n + k
	if sign > 0 {
		// In place from the top: out[j] = sum_i w[i]·in[j-i].
		for j := size - 1; j >= 0; j-- {
			s := 0.0
			for i := max(0, j-n+1); i <= k && i <= j; i++ {
				s += w[i] * pm[j-i]
			}
			pm[j] = s
		}
		return pm
	}
	// Demand: shift the mass up by k (lo drops by k), then
	// out[j] = sum_i w[i]·in[j+i] from the bottom.
	copy(pm[k:], pm[:n])
	for i := 0; i < k; i++ {
		pm[i] = 0
	}
	p.lo[m] -= k
	for j := 0; j < size; j++ {
		s := 0.0
		for i := 0; i <= k && j+i < size; i++ {
			s += w[i] * pm[j+i]
		}
		pm[j] = s
	}
	return pm
}

// probNoAgent returns P(shift + X <= 0) for horizon m: the probability that
// a live answer at that horizon finds all supply taken.
func (p *Pacer) probNoAgent(m int) float64 {
	pm := p.pmf[m]
	// value v = lo + i; need shift + v <= 0  →  i <= -shift - lo.
	limit := -p.shift[m] - p.lo[m]
	if limit < 0 {
		return 0
	}
	if limit >= len(pm)-1 {
		return 1
	}
	s := 0.0
	for i := 0; i <= limit; i++ {
		s += pm[i]
	}
	return math.Min(s, 1)
}
