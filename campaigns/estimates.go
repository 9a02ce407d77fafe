package campaigns

import (
	"math"
	"time"
)

// Outcome is how a dialed call left the "in flight" state.
type Outcome int

// Outcomes of a dial attempt.
const (
	// OutcomeUnknown is the zero value; it is never a valid outcome.
	OutcomeUnknown Outcome = iota
	// OutcomeLive is a live answer by a person.
	OutcomeLive
	// OutcomeNoAnswer is a ring timeout.
	OutcomeNoAnswer
	// OutcomeBusy is a busy or congestion signal.
	OutcomeBusy
	// OutcomeMachine is an answering machine, detected after the answer.
	OutcomeMachine
	// OutcomeFailed is any other failure (invalid number, trunk error).
	OutcomeFailed
	// OutcomeAbandoned is a live answer no agent took within the grace
	// period. It is a call result for retry rules, never a dial outcome
	// for the estimates (those see OutcomeLive).
	OutcomeAbandoned
)

var outcomeNames = [...]string{"unknown", "live", "no_answer", "busy", "machine", "failed", "abandoned"}

// String returns the outcome's name as used in configs and metrics labels.
func (o Outcome) String() string {
	if o < 0 || int(o) >= len(outcomeNames) {
		return "unknown"
	}
	return outcomeNames[o]
}

// ParseOutcome parses an outcome name as printed by String.
func ParseOutcome(s string) (Outcome, bool) {
	for i, n := range outcomeNames {
		if i > 0 && n == s {
			return Outcome(i), true
		}
	}
	return OutcomeUnknown, false
}

// dist is an empirical distribution over fixed bins with exponential
// forgetting: each observation weighs a little more than the one before,
// so the estimate follows drift (a handle time that doubles mid-day) with a
// memory of about `memory` observations. Within a bin the mass is uniform.
type dist struct {
	edges  []float64 // len = bins+1, seconds, increasing
	w      []float64 // weight per bin
	total  float64
	inc    float64 // weight of the next observation
	growth float64 // inc multiplier per observation
	cum    []float64
	avg    float64 // mean, valid when !dirty
	dirty  bool
	// Bin lookup: linear bins of width step from 0, or log bins (edge 0,
	// then first·ratio^k) when step is 0.
	step, first, logRatio float64
}

func newLinearDist(step, max, memory float64) *dist {
	d := newDist(linearEdges(step, max), memory)
	d.step = step
	return d
}

func newLogDist(first, max float64, perDecade int, memory float64) *dist {
	d := newDist(logEdges(first, max, perDecade), memory)
	d.first, d.logRatio = first, math.Log(10)/float64(perDecade)
	return d
}

func newDist(edges []float64, memory float64) *dist {
	return &dist{
		edges:  edges,
		w:      make([]float64, len(edges)-1),
		cum:    make([]float64, len(edges)),
		inc:    1,
		growth: 1 / (1 - 1/memory),
		dirty:  true,
	}
}

func linearEdges(step, max float64) []float64 {
	n := int(math.Ceil(max / step))
	e := make([]float64, n+1)
	for i := range e {
		e[i] = float64(i) * step
	}
	return e
}

// logEdges returns 0, then first·r^k up to max.
func logEdges(first, max float64, perDecade int) []float64 {
	e := []float64{0}
	r := math.Pow(10, 1/float64(perDecade))
	for x := first; x < max*r; x *= r {
		e = append(e, x)
	}
	return e
}

func (d *dist) bin(x float64) int {
	lo, hi := 0, len(d.w)-1
	if x <= d.edges[0] {
		return 0
	}
	if x >= d.edges[len(d.edges)-1] {
		return hi
	}
	// Direct index from the bin layout, then a fix-up step for rounding.
	var i int
	switch {
	case d.step > 0:
		i = int(x / d.step)
	case d.logRatio > 0:
		if x < d.first {
			return 0
		}
		i = 1 + int(math.Log(x/d.first)/d.logRatio)
	default:
		i = -1
	}
	if i >= 0 {
		i = min(max(i, 0), hi)
		for i > 0 && d.edges[i] > x {
			i--
		}
		for i < hi && d.edges[i+1] <= x {
			i++
		}
		return i
	}
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if d.edges[mid] <= x {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return lo
}

// add records one observation of x seconds with weight scale (1 for a
// real observation; priors use more).
func (d *dist) add(x, scale float64) {
	if math.IsNaN(x) || x < 0 {
		x = 0
	}
	w := d.inc * scale
	d.w[d.bin(x)] += w
	d.total += w
	d.inc *= d.growth
	if d.inc > 1e100 {
		for i := range d.w {
			d.w[i] /= d.inc
		}
		d.total /= d.inc
		d.inc = 1
	}
	d.dirty = true
}

func (d *dist) refresh() {
	if !d.dirty {
		return
	}
	d.cum[0] = 0
	m := 0.0
	for i, w := range d.w {
		d.cum[i+1] = d.cum[i] + w
		m += w * (d.edges[i] + d.edges[i+1]) / 2
	}
	d.avg = 0
	if d.total > 0 {
		d.avg = m / d.total
	}
	d.dirty = false
}

// cdf returns P(X <= x).
func (d *dist) cdf(x float64) float64 {
	d.refresh()
	if d.total <= 0 || x < 0 {
		return 0
	}
	last := d.edges[len(d.edges)-1]
	if x >= last {
		return 1
	}
	i := d.bin(x)
	lo, hi := d.edges[i], d.edges[i+1]
	f := (d.cum[i] + d.w[i]*(x-lo)/(hi-lo)) / d.total
	if f > 1 {
		return 1
	}
	return f
}

// quantile returns the smallest x with cdf(x) >= q.
func (d *dist) quantile(q float64) float64 {
	d.refresh()
	if d.total <= 0 {
		return 0
	}
	target := q * d.total
	for i, w := range d.w {
		if d.cum[i+1] >= target && w > 0 {
			return d.edges[i] + (d.edges[i+1]-d.edges[i])*(target-d.cum[i])/w
		}
	}
	return d.edges[len(d.edges)-1]
}

// mean returns the mean using bin midpoints.
func (d *dist) mean() float64 {
	d.refresh()
	return d.avg
}

// Priors are the assumptions a campaign starts from before it has seen
// outcomes of its own. Zero fields take the defaults of DefaultPriors.
type Priors struct {
	// LiveProb is the expected fraction of dials answered by a person.
	LiveProb float64
	// LiveRing is the typical time from dial to a live answer.
	LiveRing time.Duration
	// NoAnswerTimeout is the ring timeout of the trunk.
	NoAnswerTimeout time.Duration
	// Talk is the expected talk time; Wrap the expected wrap-up time.
	Talk, Wrap time.Duration
}

// DefaultPriors returns priors typical of survey campaigns: 25 % live
// answers after about 9 s, 20 s ring timeout, 3 min talk, 15 s wrap-up.
func DefaultPriors() Priors {
	return Priors{LiveProb: 0.25, LiveRing: 9 * time.Second, NoAnswerTimeout: 20 * time.Second,
		Talk: 3 * time.Minute, Wrap: 15 * time.Second}
}

// Estimates holds one campaign's learned distributions: live-answer
// probability, ring time to a live answer, time to any other outcome, talk
// time and wrap-up time. They start from priors and follow the campaign's
// own outcomes with a bounded memory. An Estimates is not safe for
// concurrent use; the dialer owns one per campaign.
type Estimates struct {
	liveW, allW float64 // forgetting-weighted counts of live and all outcomes
	outInc      float64
	outGrowth   float64
	outcomes    int // raw number of observed outcomes (cold start)
	talks       int
	live        *dist // ring time of live answers
	other       *dist // time to a non-live outcome
	talk        *dist
	wrap        *dist
}

// Memories of the estimates, in observations.
const (
	outcomeMemory = 1500
	ringMemory    = 1500
	talkMemory    = 300
	priorWeight   = 20 // pseudo-observations the priors are worth
)

// NewEstimates returns estimates seeded with p (zero fields from
// DefaultPriors).
func NewEstimates(p Priors) *Estimates {
	def := DefaultPriors()
	if !(p.LiveProb > 0 && p.LiveProb < 1) {
		p.LiveProb = def.LiveProb
	}
	if p.LiveRing <= 0 {
		p.LiveRing = def.LiveRing
	}
	if p.NoAnswerTimeout <= 0 {
		p.NoAnswerTimeout = def.NoAnswerTimeout
	}
	if p.Talk <= 0 {
		p.Talk = def.Talk
	}
	if p.Wrap <= 0 {
		p.Wrap = def.Wrap
	}
	e := &Estimates{
		outInc:    1,
		outGrowth: 1 / (1 - 1.0/outcomeMemory),
		live:      newLinearDist(0.5, 180, ringMemory),
		other:     newLinearDist(0.5, 180, ringMemory),
		talk:      newLogDist(1, 6*3600, 40, talkMemory),
		wrap:      newLinearDist(0.5, 900, talkMemory),
	}
	e.liveW = p.LiveProb * priorWeight
	e.allW = priorWeight
	// Spread each prior over a plausible range: live answers over
	// [0.3, 1.7]·ring, other outcomes between 0 and the ring timeout, talk
	// time as a lognormal with a coefficient of variation of 1, wrap-up
	// within ±30 %.
	const k = 20
	lr := p.LiveRing.Seconds()
	to := p.NoAnswerTimeout.Seconds()
	sigma := math.Sqrt(math.Log(2))
	mu := math.Log(p.Talk.Seconds()) - sigma*sigma/2
	for i := 0; i < k; i++ {
		u := (float64(i) + 0.5) / k
		e.live.add(lr*(0.3+1.4*u), priorWeight/k)
		e.other.add(to*u, priorWeight/k)
		e.talk.add(math.Exp(mu+sigma*normQuantile(u)), priorWeight/k)
		e.wrap.add(p.Wrap.Seconds()*(0.7+0.6*u), priorWeight/k)
	}
	return e
}

// ObserveDial records how a dial attempt ended and how long after the dial:
// live answers update the live-answer probability and the ring-to-answer
// distribution, other outcomes the time-to-outcome distribution.
// OutcomeUnknown and OutcomeAbandoned are ignored.
func (e *Estimates) ObserveDial(o Outcome, after time.Duration) {
	s := after.Seconds()
	switch o {
	case OutcomeLive:
		e.liveW += e.outInc
		e.live.add(s, 1)
	case OutcomeNoAnswer, OutcomeBusy, OutcomeMachine, OutcomeFailed:
		e.other.add(s, 1)
	default:
		return
	}
	e.allW += e.outInc
	e.outInc *= e.outGrowth
	if e.outInc > 1e100 {
		e.liveW /= e.outInc
		e.allW /= e.outInc
		e.outInc = 1
	}
	e.outcomes++
}

// ObserveTalk records a finished talk time (connect to hang-up).
func (e *Estimates) ObserveTalk(d time.Duration) { e.talk.add(d.Seconds(), 1); e.talks++ }

// ObserveWrap records a finished wrap-up time.
func (e *Estimates) ObserveWrap(d time.Duration) { e.wrap.add(d.Seconds(), 1) }

// Outcomes returns the number of dial outcomes observed (priors excluded).
func (e *Estimates) Outcomes() int { return e.outcomes }

// LiveProb returns the estimated probability that a dial is answered live.
func (e *Estimates) LiveProb() float64 { return e.liveW / e.allW }

// MeanTalk returns the estimated mean talk time.
func (e *Estimates) MeanTalk() time.Duration {
	return time.Duration(e.talk.mean() * float64(time.Second))
}

// MeanHandle returns the estimated mean handle time (talk plus wrap-up).
func (e *Estimates) MeanHandle() time.Duration {
	return time.Duration((e.talk.mean() + e.wrap.mean()) * float64(time.Second))
}

// normQuantile returns the standard normal quantile (Acklam's rational
// approximation, relative error below 1.2e-9).
func normQuantile(p float64) float64 {
	const (
		a1, a2, a3, a4, a5, a6 = -3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00
		b1, b2, b3, b4, b5     = -5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01, -1.328068155288572e+01
		c1, c2, c3, c4, c5, c6 = -7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00
		d1, d2, d3, d4         = 7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00
		plow                   = 0.02425
	)
	switch {
	case p <= 0:
		return math.Inf(-1)
	case p >= 1:
		return math.Inf(1)
	case p < plow:
		q := math.Sqrt(-2 * math.Log(p))
		return (((((c1*q+c2)*q+c3)*q+c4)*q+c5)*q + c6) / ((((d1*q+d2)*q+d3)*q+d4)*q + 1)
	case p <= 1-plow:
		q := p - 0.5
		r := q * q
		return (((((a1*r+a2)*r+a3)*r+a4)*r+a5)*r + a6) * q / (((((b1*r+b2)*r+b3)*r+b4)*r+b5)*r + 1)
	default:
		q := math.Sqrt(-2 * math.Log(1-p))
		return -(((((c1*q+c2)*q+c3)*q+c4)*q+c5)*q + c6) / ((((d1*q+d2)*q+d3)*q+d4)*q + 1)
	}
}
