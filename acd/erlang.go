package acd

import (
	"errors"
	"fmt"
	"math"
)

// Erlang models of a queue served by N identical agents with Poisson arrivals
// and exponential handle times (M/M/N). Erlang C assumes callers never hang
// up while waiting; Erlang A (M/M/N+M, Palm's model) gives each caller an
// exponential patience and so predicts abandonment too.
//
// All computations run on ratios (the Erlang B recursion and the stationary
// distribution normalised at state N) and never form a factorial or a power
// of the load, so they stay accurate for thousands of agents.

// Sentinel errors of the Erlang models.
var (
	// ErrBadLoad reports a negative, infinite or NaN offered load or rate.
	ErrBadLoad = errors.New("erlang: offered load must be a finite number >= 0")
	// ErrBadAgents reports a negative number of agents.
	ErrBadAgents = errors.New("erlang: number of agents must be >= 0")
	// ErrBadHandleTime reports a handle time that is not a finite positive number.
	ErrBadHandleTime = errors.New("erlang: handle time must be a finite number > 0")
	// ErrBadTarget reports a service-level target outside (0, 1) or a
	// negative answer time.
	ErrBadTarget = errors.New("erlang: service-level target must be in (0, 1) with answer time >= 0")
	// ErrBadPatience reports a patience that is not a finite positive number.
	ErrBadPatience = errors.New("erlang: patience must be a finite number > 0")
	// ErrUnreachable reports a target no number of agents up to the limit meets.
	ErrUnreachable = errors.New("erlang: target not reachable within the agent limit")
)

// maxQueue bounds the queue lengths Erlang A sums over.
const maxQueue = 1 << 20

// MaxAgents bounds the searches of AgentsForTarget and AgentsForTargetA.
const MaxAgents = 100000

// Queue describes the traffic offered to a group of agents.
type Queue struct {
	// CallsPerHour is the arrival rate of calls.
	CallsPerHour float64
	// HandleTime is the mean handle time (talk plus wrap-up) in seconds.
	HandleTime float64
	// Patience is the mean time a caller waits before hanging up, in
	// seconds. Zero means callers never hang up (Erlang C).
	Patience float64
}

// Load returns the offered traffic in Erlangs: the arrival rate times the
// mean handle time.
func (q Queue) Load() float64 { return q.CallsPerHour / 3600 * q.HandleTime }

func (q Queue) validate() error {
	if q.CallsPerHour < 0 || math.IsNaN(q.CallsPerHour) || math.IsInf(q.CallsPerHour, 0) {
		return fmt.Errorf("calls per hour %v: %w", q.CallsPerHour, ErrBadLoad)
	}
	if !(q.HandleTime > 0) || math.IsInf(q.HandleTime, 0) {
		return fmt.Errorf("handle time %v: %w", q.HandleTime, ErrBadHandleTime)
	}
	if q.Patience < 0 || math.IsNaN(q.Patience) || math.IsInf(q.Patience, 0) {
		return fmt.Errorf("patience %v: %w", q.Patience, ErrBadPatience)
	}
	return nil
}

// Target is a service-level objective: Fraction of calls answered within
// AnswerTime seconds (80/20 is {0.8, 20}).
type Target struct {
	Fraction   float64
	AnswerTime float64
}

func (t Target) validate() error {
	if !(t.Fraction > 0 && t.Fraction < 1) || !(t.AnswerTime >= 0) || math.IsInf(t.AnswerTime, 0) {
		return fmt.Errorf("target %v/%v: %w", t.Fraction, t.AnswerTime, ErrBadTarget)
	}
	return nil
}

// Result holds the steady-state figures of a queue served by Agents agents.
type Result struct {
	// Agents is the number of agents the figures are for.
	Agents int
	// Load is the offered traffic in Erlangs.
	Load float64
	// PWait is the probability that an arriving caller has to wait.
	PWait float64
	// ServiceLevel is the fraction of all offered calls answered within the
	// target's answer time (abandoned calls count as not answered in time).
	ServiceLevel float64
	// ASA is the average speed of answer, in seconds, over answered calls.
	ASA float64
	// Occupancy is the fraction of the agents' time spent handling calls.
	Occupancy float64
	// Abandon is the fraction of callers who hang up before being answered
	// (always zero for Erlang C).
	Abandon float64
	// Stable is false when the load is at or above the number of agents in
	// Erlang C: the queue grows without bound, PWait is 1, ASA is +Inf and
	// ServiceLevel is 0.
	Stable bool
}

// ErlangB returns the blocking probability of a loss system with n servers
// and an offered load of a Erlangs, computed with the stable recursion
// B(0) = 1, B(k) = a·B(k-1) / (k + a·B(k-1)).
func ErlangB(n int, a float64) (float64, error) {
	if n < 0 {
		return 0, fmt.Errorf("agents %d: %w", n, ErrBadAgents)
	}
	if a < 0 || math.IsNaN(a) || math.IsInf(a, 0) {
		return 0, fmt.Errorf("load %v: %w", a, ErrBadLoad)
	}
	b := 1.0
	for k := 1; k <= n; k++ {
		b = a * b / (float64(k) + a*b)
	}
	return b, nil
}

// ErlangC returns the probability that a caller waits in an M/M/n queue
// offered a Erlangs. It is 1 when a >= n (the queue is unstable) and 0 when
// a is 0.
func ErlangC(n int, a float64) (float64, error) {
	b, err := ErlangB(n, a)
	if err != nil {
		return 0, err
	}
	if a == 0 {
		return 0, nil
	}
	if a >= float64(n) {
		return 1, nil
	}
	return float64(n) * b / (float64(n) - a*(1-b)), nil
}

// EvaluateC returns the Erlang C figures of q served by n agents, with the
// service level measured against answerTime seconds. q.Patience is ignored.
func EvaluateC(q Queue, n int, answerTime float64) (Result, error) {
	if err := q.validate(); err != nil {
		return Result{}, err
	}
	if n < 0 {
		return Result{}, fmt.Errorf("agents %d: %w", n, ErrBadAgents)
	}
	if answerTime < 0 || math.IsNaN(answerTime) {
		return Result{}, fmt.Errorf("answer time %v: %w", answerTime, ErrBadTarget)
	}
	a := q.Load()
	r := Result{Agents: n, Load: a}
	if a >= float64(n) && a > 0 {
		r.PWait, r.ASA, r.Occupancy = 1, math.Inf(1), 1
		return r, nil
	}
	c, err := ErlangC(n, a)
	if err != nil {
		return Result{}, err
	}
	r.Stable = true
	r.PWait = c
	if n > 0 {
		r.Occupancy = a / float64(n)
		gap := float64(n) - a
		r.ServiceLevel = 1 - c*math.Exp(-gap*answerTime/q.HandleTime)
		r.ASA = c * q.HandleTime / gap
	} else {
		r.ServiceLevel = 1 // no calls, no agents: nothing waits
	}
	return r, nil
}

// AgentsForTarget returns the smallest number of agents whose Erlang C
// service level meets t, with its figures. It fails with ErrUnreachable
// above MaxAgents.
func AgentsForTarget(q Queue, t Target) (Result, error) {
	if err := t.validate(); err != nil {
		return Result{}, err
	}
	if err := q.validate(); err != nil {
		return Result{}, err
	}
	start := int(math.Floor(q.Load())) + 1
	if q.Load() == 0 {
		start = 0
	}
	for n := start; n <= MaxAgents; n++ {
		r, err := EvaluateC(q, n, t.AnswerTime)
		if err != nil {
			return Result{}, err
		}
		if r.Stable && r.ServiceLevel >= t.Fraction {
			return r, nil
		}
	}
	return Result{}, fmt.Errorf("load %.1f Erlangs: %w", q.Load(), ErrUnreachable)
}

// EvaluateA returns the Erlang A (M/M/n+M) figures of q served by n agents,
// with callers of mean patience q.Patience seconds and the service level
// measured against answerTime seconds. Unlike Erlang C it is stable for any
// load: impatient callers bound the queue.
func EvaluateA(q Queue, n int, answerTime float64) (Result, error) {
	if err := q.validate(); err != nil {
		return Result{}, err
	}
	if !(q.Patience > 0) {
		return Result{}, fmt.Errorf("patience %v: %w", q.Patience, ErrBadPatience)
	}
	if n < 0 {
		return Result{}, fmt.Errorf("agents %d: %w", n, ErrBadAgents)
	}
	if answerTime < 0 || math.IsNaN(answerTime) {
		return Result{}, fmt.Errorf("answer time %v: %w", answerTime, ErrBadTarget)
	}
	a := q.Load()
	r := Result{Agents: n, Load: a, Stable: true}
	if a == 0 {
		r.ServiceLevel = 1
		return r, nil
	}
	mu := 1 / q.HandleTime
	lambda := a * mu
	theta := 1 / q.Patience
	nf := float64(n)

	// Stationary distribution relative to pi_N = 1. Below N the chain is
	// the Erlang loss chain: pi_{k-1} = pi_k · k/a. Above N, with j callers
	// queued: pi_{N+j} = pi_{N+j-1} · lambda / (N·mu + j·theta).
	below := 0.0 // sum of pi_k for k < N
	p := 1.0
	for k := n; k >= 1; k-- {
		p *= float64(k) / a
		below += p
		if p < 1e-300 {
			break
		}
	}
	// Queue tail: terms grow while lambda > N·mu + j·theta, then fall
	// faster than geometrically. Keep them for the waiting-time sums.
	tail := make([]float64, 0, 64) // tail[j] = pi_{N+j}, j >= 0
	tail = append(tail, 1)
	sumTail, sumQ := 1.0, 0.0
	t := 1.0
	// The cap only binds for a load far above N with patience far longer
	// than the handle time, where the figures are all but 100 % waiting.
	for j := 1; j < maxQueue; j++ {
		t *= lambda / (nf*mu + float64(j)*theta)
		tail = append(tail, t)
		sumTail += t
		sumQ += float64(j) * t
		if float64(j)*theta > lambda && t < 1e-17*sumTail {
			break
		}
	}
	total := below + sumTail
	r.PWait = sumTail / total
	r.Abandon = theta * (sumQ / total) / lambda
	r.Occupancy = 0
	if n > 0 {
		r.Occupancy = a * (1 - r.Abandon) / nf
	}

	// A caller arriving with j callers ahead waits through j+1 advances of
	// the queue; in each, with i callers ahead, the next event comes at rate
	// N·mu + (i+1)·theta (a departure ahead, an abandonment ahead, or its own
	// abandonment) and is an advance with probability (N·mu+i·theta)/(that).
	// The event times do not depend on which event it is, so the caller is
	// served with probability prod(...) after a sum of exponentials. Sum over
	// arrival states: served[j] weights, wait moments, and the probability
	// of service within answerTime by uniformisation.
	served := 0.0
	waitServed := 0.0
	// weights w[i]: probability mass of tagged callers with i advances
	// still needed (i = j+1), already multiplied by their path probability.
	m := len(tail)
	w := make([]float64, m+1)
	meanT := 0.0
	for j := 0; j < m; j++ {
		prob := tail[j] / total
		// The product of advance probabilities telescopes to
		// N·mu / (N·mu + (j+1)·theta).
		rate := nf*mu + float64(j+1)*theta
		pathP := nf * mu / rate
		meanT += 1 / rate
		served += prob * pathP
		waitServed += prob * pathP * meanT
		w[j+1] = prob * pathP
	}
	pServedInTime := 1 - r.PWait // callers who do not wait
	if answerTime > 0 && n > 0 {
		pServedInTime += deathWithin(w, nf*mu, theta, answerTime)
	}
	served += 1 - r.PWait
	r.ServiceLevel = pServedInTime
	if served > 0 {
		r.ASA = waitServed / served
	}
	return r, nil
}

// deathWithin returns the mass absorbed at 0 by time t of a pure-death chain
// started with mass w[i] at state i, where state i leaves at rate
// base + i·theta. Computed by uniformisation with the Poisson weights built
// iteratively in log-free form.
func deathWithin(w []float64, base, theta, t float64) float64 {
	m := len(w) - 1
	for m > 0 && w[m] < 1e-18 {
		m--
	}
	if m == 0 {
		return 0
	}
	lam := base + float64(m)*theta
	if lam <= 0 {
		return 0
	}
	v := make([]float64, m+1)
	copy(v, w[:m+1])
	// Conditional distribution of a state i is not needed; we track the mass
	// vector and the absorbed mass, stepping by Poisson(lam·t) jumps.
	lt := lam * t
	kMax := int(lt + 10*math.Sqrt(lt) + 20)
	// Poisson weights computed from the mode outward to avoid underflow.
	pw := poissonWeights(lt, kMax)
	absorbed := 0.0
	result := 0.0
	next := make([]float64, m+1)
	for k := 0; k <= kMax; k++ {
		result += pw[k] * absorbed
		// One uniformised step.
		for i := range next {
			next[i] = 0
		}
		for i := 1; i <= m; i++ {
			if v[i] == 0 {
				continue
			}
			out := (base + float64(i)*theta) / lam
			next[i-1] += v[i] * out
			next[i] += v[i] * (1 - out)
		}
		absorbed += next[0]
		next[0] = 0
		v, next = next, v
	}
	return result
}

// poissonWeights returns P(K = k) for k = 0..kMax with K ~ Poisson(lt),
// computed from the mode in both directions so that large means do not
// underflow exp(-lt).
func poissonWeights(lt float64, kMax int) []float64 {
	pw := make([]float64, kMax+1)
	mode := int(lt)
	if mode > kMax {
		mode = kMax
	}
	pw[mode] = 1
	for k := mode + 1; k <= kMax; k++ {
		pw[k] = pw[k-1] * lt / float64(k)
	}
	for k := mode - 1; k >= 0; k-- {
		pw[k] = pw[k+1] * float64(k+1) / lt
	}
	s := 0.0
	for _, x := range pw {
		s += x
	}
	for k := range pw {
		pw[k] /= s
	}
	return pw
}

// AgentsForTargetA returns the smallest number of agents whose Erlang A
// service level meets t, with its figures. It fails with ErrUnreachable
// above MaxAgents.
func AgentsForTargetA(q Queue, t Target) (Result, error) {
	if err := t.validate(); err != nil {
		return Result{}, err
	}
	if err := q.validate(); err != nil {
		return Result{}, err
	}
	if q.Load() == 0 {
		return EvaluateA(q, 0, t.AnswerTime)
	}
	// The service level grows with the number of agents: double until the
	// target is met, then bisect, so large groups cost O(log N)
	// evaluations.
	meets := func(n int) (Result, bool, error) {
		r, err := EvaluateA(q, n, t.AnswerTime)
		return r, err == nil && r.ServiceLevel >= t.Fraction, err
	}
	lo, hi := 0, max(1, int(q.Load()))
	for {
		_, ok, err := meets(hi)
		if err != nil {
			return Result{}, err
		}
		if ok {
			break
		}
		if hi >= MaxAgents {
			return Result{}, fmt.Errorf("load %.1f Erlangs: %w", q.Load(), ErrUnreachable)
		}
		lo, hi = hi, min(2*hi, MaxAgents)
	}
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		_, ok, err := meets(mid)
		if err != nil {
			return Result{}, err
		}
		if ok {
			hi = mid
		} else {
			lo = mid
		}
	}
	r, _, err := meets(hi)
	return r, err
}
