package acd

import (
	"context"
	"math"
	"slices"
	"time"
)

// QueueCounters are a queue's figures since the start of the day.
//
// Service level is AnsweredInSL / (Answered + Abandoned −
// AbandonedInSL): calls answered within the threshold, over calls
// answered plus calls abandoned after the threshold (a caller who hangs
// up within the threshold counts neither way). Overflows (timeouts, a
// full queue) leave the queue and are counted apart.
type QueueCounters struct {
	Offered       int           `json:"offered"`
	Answered      int           `json:"answered"`
	AnsweredInSL  int           `json:"answered_in_sl"`
	Abandoned     int           `json:"abandoned"`
	AbandonedInSL int           `json:"abandoned_in_sl"`
	Timeouts      int           `json:"timeouts"`
	Full          int           `json:"full"`
	Completed     int           `json:"completed"`
	WaitSum       time.Duration `json:"wait_sum"`
	TalkSum       time.Duration `json:"talk_sum"`
}

// ServiceLevel returns the service level (see QueueCounters) and false
// when no call counts yet.
func (c QueueCounters) ServiceLevel() (float64, bool) {
	den := c.Answered + c.Abandoned - c.AbandonedInSL
	if den <= 0 {
		return 0, false
	}
	return float64(c.AnsweredInSL) / float64(den), true
}

// AgentView is one agent as seen from outside.
type AgentView struct {
	Login     string        `json:"login"`
	Extension string        `json:"extension,omitempty"`
	Level     int           `json:"level,omitempty"`
	State     State         `json:"state"`
	Since     time.Time     `json:"state_since"`
	Reason    string        `json:"pause_reason,omitempty"`
	Delivery  Delivery      `json:"delivery"`
	Queues    []Member      `json:"-"`
	Call      string        `json:"call_id,omitempty"`
	Queue     string        `json:"queue,omitempty"`
	Caller    string        `json:"-"`
	Outbound  bool          `json:"outbound,omitempty"`
	WrapUntil time.Time     `json:"wrap_until,omitzero"`
	Calls     int           `json:"calls_today"`
	Pending   string        `json:"pending,omitempty"` // "pause:REASON" or "logout" after the call
	InState   time.Duration `json:"-"`
}

// QueueView is one queue as seen from outside.
type QueueView struct {
	Name         string        `json:"name"`
	Kind         QueueKind     `json:"-"`
	Waiting      int           `json:"waiting"`
	LongestWait  time.Duration `json:"-"`
	Ready        int           `json:"ready_agents"`
	Working      int           `json:"working_agents"`
	Today        QueueCounters `json:"today"`
	AHT          time.Duration `json:"-"`
	SLThreshold  time.Duration `json:"-"`
	SLTarget     float64       `json:"-"`
	ServiceLevel float64       `json:"-"` // NaN when no call counts yet
	// CallsPerHour is the arrival rate over the last 15 minutes.
	CallsPerHour float64 `json:"-"`
	// Members are the logins of the agents serving the queue, working or not.
	Members []string `json:"-"`
}

// Snapshot is the ACD at one moment.
type Snapshot struct {
	Time   time.Time
	Agents []AgentView // by login
	Queues []QueueView // by name
	// StateSeconds is the agent-time spent in each state so far (closed
	// intervals and the open ones up to Time), indexed by State.
	StateSeconds [len(stateNames)]float64
}

// Snapshot returns the current agents and queues.
func (a *ACD) Snapshot() Snapshot {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	a.roll(now)
	s := Snapshot{Time: now}
	for i, d := range a.stateTime {
		s.StateSeconds[i] = d.Seconds()
	}
	for _, ag := range a.byLogin {
		s.Agents = append(s.Agents, a.view(ag, now))
		if ag.state != StateUnknown {
			s.StateSeconds[ag.state] += now.Sub(ag.since).Seconds()
		}
	}
	names := make([]string, 0, len(a.queues))
	for n := range a.queues {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		q := a.queues[n]
		q.trim(now)
		v := QueueView{Name: n, Kind: q.cfg.Kind, Today: q.day, AHT: time.Duration(q.aht.v * float64(time.Second)),
			SLThreshold: q.cfg.SLThreshold, SLTarget: q.cfg.SLTarget, ServiceLevel: math.NaN(),
			CallsPerHour: float64(len(q.arrivals)) * float64(time.Hour) / float64(rateWindow)}
		if sl, ok := q.day.ServiceLevel(); ok {
			v.ServiceLevel = sl
		}
		for _, e := range a.waiting {
			if e.q == q {
				v.Waiting++
				if w := now.Sub(e.entered); w > v.LongestWait {
					v.LongestWait = w
				}
			}
		}
		for _, ag := range a.byLogin {
			if _, ok := ag.members[n]; ok {
				v.Members = append(v.Members, ag.cfg.Login)
			}
			if _, ok := ag.members[n]; ok && ag.state.Working() {
				v.Working++
				if ag.state == StateReady {
					v.Ready++
				}
			}
		}
		s.Queues = append(s.Queues, v)
	}
	return s
}

// Agent returns one agent's view; ok is false for an agent never logged in.
func (a *ACD) Agent(login string) (AgentView, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	ag := a.agents[login]
	if ag == nil {
		return AgentView{Login: login, State: StateLoggedOut}, false
	}
	return a.view(ag, a.now()), true
}

func (a *ACD) view(ag *agent, now time.Time) AgentView {
	v := AgentView{Login: ag.cfg.Login, Extension: ag.cfg.Extension, Level: ag.cfg.Level, State: ag.state,
		Since: ag.since, Reason: ag.reason, Delivery: ag.cfg.Delivery, Queues: ag.cfg.Queues, Calls: ag.callsToday,
		InState: now.Sub(ag.since)}
	if e := ag.entry; e != nil {
		v.Call, v.Queue, v.Caller, v.Outbound = e.ID, e.Queue, e.Caller, e.q.cfg.Kind == KindOutbound
	}
	if ag.state == StateWrapUp {
		v.WrapUntil = ag.wrapTo
		if ag.wrapQ != nil {
			v.Queue, v.Outbound = ag.wrapQ.cfg.Name, ag.wrapQ.cfg.Kind == KindOutbound
		}
	}
	switch {
	case ag.pendingLogout:
		v.Pending = "logout"
	case ag.pendingPause != "":
		v.Pending = "pause:" + ag.pendingPause
	}
	return v
}

// WaitingCalls returns the ids of the calls waiting in queue, in order.
func (a *ACD) WaitingCalls(queue string) []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var ids []string
	for _, e := range a.waiting {
		if e.Queue == queue {
			ids = append(ids, e.ID)
		}
	}
	return ids
}

// estimate is the expected wait of waiting call e (see EstimateWait).
//
// The place it estimates for is not only e's place in its queue:
// operators who also serve other queues take those queues' callers in
// the order all calls wait in (a.waiting), so a caller of another queue
// ahead of e holds up e's operators too. It counts with the share of its
// queue's working operators who also serve e's queue (all of them when
// the queues share their operators, none when they have their own: then
// this is e's place in its queue).
func (a *ACD) estimate(e *entry) (time.Duration, bool) {
	q := e.q
	if q.aht.n == 0 {
		return 0, false
	}
	// The calls ahead of e: of its queue, for one agent (a transfer), and
	// per other queue (few: a small array, no allocation).
	type other struct {
		q           *queue
		n           int // its calls ahead of e
		all, shared int // its working agents, and those serving q too
	}
	var buf [8]other
	others := buf[:0]
	ahead := 0.0
	for _, w := range a.waiting {
		if w == e {
			break
		}
		switch {
		case w.Agent != "":
			// For one operator (a transfer): ahead if it serves q.
			if ag := a.agents[w.Agent]; ag != nil && ag.state.Working() && ag.state != StatePaused {
				if _, ok := ag.members[q.cfg.Name]; ok {
					ahead++
				}
			}
		case w.q == q:
			ahead++
		default:
			i := slices.IndexFunc(others, func(o other) bool { return o.q == w.q })
			if i < 0 {
				others = append(others, other{q: w.q})
				i = len(others) - 1
			}
			others[i].n++
		}
	}
	ready, working := 0, 0
	for _, ag := range a.byLogin {
		if !ag.state.Working() || ag.state == StatePaused {
			continue
		}
		_, inQ := ag.members[q.cfg.Name]
		for i := range others {
			if _, ok := ag.members[others[i].q.cfg.Name]; ok {
				others[i].all++
				if inQ {
					others[i].shared++
				}
			}
		}
		if !inQ {
			continue
		}
		working++
		if ag.state == StateReady {
			ready++
		}
	}
	for _, o := range others {
		if o.all > 0 {
			ahead += float64(o.n) * float64(o.shared) / float64(o.all)
		}
	}
	pos := 1 + int(math.Round(ahead))
	return EstimateWait(pos, ready, working, time.Duration(q.aht.v*float64(time.Second))), true
}

// EstimateWait is the expected wait of the caller at position pos
// (1-based) in a queue served by working agents (ready ones among them)
// whose calls take aht (talk plus wrap-up) on average: with every agent
// busy, one frees up every aht/working on average, so the caller waits
// for pos − ready of them. It is the M/M/N view of the head of the
// queue; the queue's own recent service feeds aht (an exponentially
// weighted mean of its completed calls, α = 0.1). With no working agent
// the estimate is one aht per position. The ACD's pos counts the callers
// of other queues ahead that the same agents serve (see estimate).
func EstimateWait(pos, ready, working int, aht time.Duration) time.Duration {
	ahead := pos - ready
	if ahead <= 0 {
		return 0
	}
	return time.Duration(float64(ahead) * float64(aht) / float64(max(working, 1)))
}

// ewma is an exponentially weighted moving average.
type ewma struct {
	alpha float64
	v     float64
	n     int
}

func (e *ewma) add(x float64) {
	if e.n == 0 {
		e.v = x
	} else {
		e.v += e.alpha * (x - e.v)
	}
	e.n++
}

// Run calls Tick at each deadline until ctx is done.
func (a *ACD) Run(ctx context.Context) {
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		next := a.Tick()
		d := time.Hour
		if !next.IsZero() {
			d = max(time.Until(next), time.Millisecond)
		}
		t.Reset(d)
		select {
		case <-ctx.Done():
			return
		case <-a.wake:
			if !t.Stop() {
				select {
				case <-t.C:
				default:
				}
			}
		case <-t.C:
		}
	}
}
