package acd

import "time"

// Routing: which waiting call goes to which ready agent.
//
// Calls are considered in order (queue priority, call priority, place);
// for each, the ready agents eligible for it are found — members of its
// queue (or the one agent a transfer names), level-2 members only once
// the call has waited the queue's Level2After — and among those of the
// lowest penalty the queue's strategy picks one. Calls no ready agent can
// take are skipped, so a call of another queue behind them is not held
// up. The pass stops when no agent is ready.

// match offers waiting calls to ready agents. Called with a.mu held after
// every change that can make a match possible.
func (a *ACD) match(now time.Time) {
	if a.ready+a.held == 0 || len(a.waiting) == 0 {
		return
	}
	var start time.Time
	if a.opt.ObserveDecision != nil {
		start = time.Now()
	}
	offered := false
	for i := 0; i < len(a.waiting) && a.ready+a.held > 0; i++ {
		e := a.waiting[i]
		ag := a.choose(e, now)
		if ag == nil {
			continue
		}
		a.waiting = append(a.waiting[:i], a.waiting[i+1:]...)
		i--
		a.offer(e, ag, now)
		offered = true
	}
	if offered && a.opt.ObserveDecision != nil {
		a.opt.ObserveDecision(time.Since(start))
	}
}

// eligible reports whether ready agent ag may take e now, and at what
// penalty.
func (a *ACD) eligible(ag *agent, e *entry, now time.Time) (int, bool) {
	if ag.hold != "" {
		return 0, ag.entry == nil && e.ID == ag.hold
	}
	if ag.state != StateReady {
		return 0, false
	}
	if e.Agent != "" {
		return 0, ag.cfg.Login == e.Agent
	}
	pen, ok := ag.members[e.Queue]
	if !ok {
		return 0, false
	}
	if e.q.cfg.Kind == KindOutbound && ag.cfg.Delivery == DeliveryRing {
		// A live campaign answer may wait 2 s: no time to ring a phone.
		return 0, false
	}
	if l2 := e.q.cfg.Level2After; l2 > 0 && ag.cfg.Level >= 2 && now.Sub(e.entered) < l2 {
		return 0, false
	}
	return pen, true
}

// choose picks the agent for e by its queue's strategy among the eligible
// ready agents of the lowest penalty, or nil.
func (a *ACD) choose(e *entry, now time.Time) *agent {
	var (
		best     *agent
		bestPen  int
		n        int // candidates at bestPen seen (random: reservoir sampling)
		strategy = e.q.cfg.Strategy
		rrAfter  = e.q.rrLast
		rrWrap   *agent // round robin: first candidate, when none is after rrLast
	)
	for _, ag := range a.byLogin {
		pen, ok := a.eligible(ag, e, now)
		if !ok {
			continue
		}
		if n > 0 && pen > bestPen {
			continue
		}
		if n == 0 || pen < bestPen {
			best, bestPen, n, rrWrap = nil, pen, 0, nil
		}
		n++
		switch strategy {
		case StrategyRoundRobin:
			// byLogin is sorted: take the first login after the last
			// one served, else wrap round to the first.
			if rrWrap == nil {
				rrWrap = ag
			}
			if best == nil && ag.cfg.Login > rrAfter {
				best = ag
			}
		case StrategyRandom:
			if a.rnd.IntN(n) == 0 {
				best = ag
			}
		case StrategyFewestCalls:
			if best == nil || ag.callsToday < best.callsToday ||
				ag.callsToday == best.callsToday && ag.idleFrom.Before(best.idleFrom) {
				best = ag
			}
		default: // longest idle
			if best == nil || ag.idleFrom.Before(best.idleFrom) {
				best = ag
			}
		}
	}
	if strategy == StrategyRoundRobin && best == nil {
		best = rrWrap
	}
	return best
}

// offer reserves ag for e (a lease) and tells e's ticket.
func (a *ACD) offer(e *entry, ag *agent, now time.Time) {
	lease := a.opt.SessionLease
	if ag.cfg.Delivery == DeliveryRing {
		lease = a.opt.RingLease
	}
	e.state, e.agent = entryOffered, ag
	if ag.hold != "" {
		ag.hold = ""
		a.held--
	}
	ag.entry, ag.lease = e, now.Add(lease)
	if e.Agent == "" {
		e.q.rrLast = ag.cfg.Login
	}
	a.setState(ag, StateReserved, "", now)
	a.emit(Event{Time: now, Kind: EventOffer, Agent: ag.cfg.Login, Queue: e.Queue, Call: e.ID,
		Wait: now.Sub(e.entered), Outbound: e.q.cfg.Kind == KindOutbound})
	e.ticket.notify(Notice{Kind: NoticeOffer, Agent: ag.cfg.Login, Extension: ag.cfg.Extension,
		Delivery: ag.cfg.Delivery, Deadline: ag.lease, At: now})
	a.poke()
}
