package acd

// Queue reports: each queue's figures per interval, computed from the
// ACD's events alone (the journal's stream "acd"), so that a report of
// any past day needs nothing but the event log.
//
// A call counts once in each queue it entered, in the interval in which
// it first entered that queue, however often it goes back there (a
// requeue after its operator's phone went, a blind transfer to another
// operator of the queue, an overflow chain that comes back). Its result
// in the queue is answered (the first connect; a connect that completes
// an attended transfer is no new answer), or else abandoned, timed out
// (overflow after the maximum wait), refused by a full queue (overflow)
// or transferred away while waiting — each at most once. Consultation
// calls between operators are no calls. A call transferred or
// overflowing into another queue counts there too, with the wait from
// its entry into that queue.

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"time"
)

// ReportIntervals are the interval lengths a report accepts.
var ReportIntervals = []time.Duration{15 * time.Minute, 30 * time.Minute, time.Hour}

// ReportLookback and ReportLookahead are how far before From and after
// To a report's events should reach: before, to know the operators'
// states and queues at From (a shift rarely lasts longer); after, to see
// the end of the calls and wrap-ups of the last interval.
const (
	ReportLookback  = 12 * time.Hour
	ReportLookahead = 4 * time.Hour
)

// maxReportIntervals bounds a report's size.
const maxReportIntervals = 20000

// ReportOptions say what a report covers.
type ReportOptions struct {
	// From and To bound the report: calls that entered a queue in
	// [From, To), operators' time within it.
	From, To time.Time
	// Interval is one of ReportIntervals, or 0 for one interval spanning
	// the whole report. Intervals follow the clock of Location from
	// midnight (09:00, 09:15…); the first and last are cut to From and To.
	Interval time.Duration
	// Thresholds are the queues' service-level thresholds (0 for a queue
	// not listed). Every queue listed is reported, with or without calls.
	Thresholds map[string]time.Duration
	// Location is the clock of the intervals (default time.Local).
	Location *time.Location
	// Now is when the events were read: an operator still in a state, or
	// a wrap-up not over, counts up to Now. Zero: the last event's time.
	Now time.Time
}

// Report is the queues' figures over a period.
type Report struct {
	From            time.Time `json:"from"`
	To              time.Time `json:"to"`
	IntervalSeconds float64   `json:"interval_seconds"`
	// Queues are sorted by name.
	Queues []QueueReport `json:"queues"`
}

// QueueReport is one queue's figures: over the whole period and per
// interval.
type QueueReport struct {
	Queue string `json:"queue"`
	// Outbound is set for a campaign's queue.
	Outbound           bool    `json:"outbound,omitempty"`
	SLThresholdSeconds float64 `json:"sl_threshold_seconds"`
	Total              Figures `json:"total"`
	// Intervals are in time order; intervals without calls or operator
	// time are left out.
	Intervals []Figures `json:"intervals"`
}

// Figures are a queue's figures over one interval (or the period).
//
// ServiceLevel is AnsweredInSL / (Answered + Abandoned − AbandonedInSL),
// as QueueCounters.ServiceLevel. ASA is the mean wait of answered calls.
// AHT is the mean handle time of handled calls: the operators' talk
// (up to a requeue, a transfer or the end) and their wrap-up after it,
// as the operators' agent_state events show it. AbandonRate is Abandoned
// / Offered. Occupancy is (talking + wrap_up + reserved) / (ready +
// reserved + talking + wrap_up) of the queue's operators: those whose
// start of work names the queue, and any offered one of its calls in the
// period; an operator of several queues counts in each. LongestWait is
// the longest wait of a call that was answered or left. Ratios are null
// when their denominator is 0.
type Figures struct {
	Start         time.Time `json:"start"`
	End           time.Time `json:"end"`
	Offered       int       `json:"offered"`
	Answered      int       `json:"answered"`
	AnsweredInSL  int       `json:"answered_in_sl"`
	Abandoned     int       `json:"abandoned"`
	AbandonedInSL int       `json:"abandoned_in_sl"`
	Timeouts      int       `json:"timeouts"`
	Full          int       `json:"full"`
	// Transferred counts calls transferred away while waiting.
	Transferred int `json:"transferred"`
	// Handled counts answered calls that their operators finished with
	// (the call ended, or they transferred it on).
	Handled      int      `json:"handled"`
	ServiceLevel *float64 `json:"service_level"`
	ASA          *float64 `json:"asa_seconds"`
	AHT          *float64 `json:"aht_seconds"`
	AbandonRate  *float64 `json:"abandon_rate"`
	Occupancy    *float64 `json:"occupancy"`
	LongestWait  float64  `json:"longest_wait_seconds"`
	// Operator-seconds of the queue's operators in each state.
	ReadySeconds    float64 `json:"ready_seconds"`
	ReservedSeconds float64 `json:"reserved_seconds"`
	TalkingSeconds  float64 `json:"talking_seconds"`
	WrapUpSeconds   float64 `json:"wrap_up_seconds"`
	PausedSeconds   float64 `json:"paused_seconds"`

	waitSum, handleSum, longest time.Duration
}

// Counters returns the figures' call counts as the ACD's daily counters
// (Completed, WaitSum and TalkSum are not compared and left zero).
func (f Figures) Counters() QueueCounters {
	return QueueCounters{Offered: f.Offered, Answered: f.Answered, AnsweredInSL: f.AnsweredInSL, Abandoned: f.Abandoned,
		AbandonedInSL: f.AbandonedInSL, Timeouts: f.Timeouts, Full: f.Full}
}

// add merges g's counts and sums into f.
func (f *Figures) add(g *Figures) {
	f.Offered += g.Offered
	f.Answered += g.Answered
	f.AnsweredInSL += g.AnsweredInSL
	f.Abandoned += g.Abandoned
	f.AbandonedInSL += g.AbandonedInSL
	f.Timeouts += g.Timeouts
	f.Full += g.Full
	f.Transferred += g.Transferred
	f.Handled += g.Handled
	f.ReadySeconds += g.ReadySeconds
	f.ReservedSeconds += g.ReservedSeconds
	f.TalkingSeconds += g.TalkingSeconds
	f.WrapUpSeconds += g.WrapUpSeconds
	f.PausedSeconds += g.PausedSeconds
	f.waitSum += g.waitSum
	f.handleSum += g.handleSum
	f.longest = max(f.longest, g.longest)
}

// finish computes the ratios from the counts.
func (f *Figures) finish() {
	ratio := func(num, den float64) *float64 {
		if den <= 0 {
			return nil
		}
		r := num / den
		return &r
	}
	if sl, ok := f.Counters().ServiceLevel(); ok {
		f.ServiceLevel = &sl
	}
	f.ASA = ratio(f.waitSum.Seconds(), float64(f.Answered))
	f.AHT = ratio(f.handleSum.Seconds(), float64(f.Handled))
	f.AbandonRate = ratio(float64(f.Abandoned), float64(f.Offered))
	busy := f.ReservedSeconds + f.TalkingSeconds + f.WrapUpSeconds
	f.Occupancy = ratio(busy, busy+f.ReadySeconds)
	f.LongestWait = f.longest.Seconds()
}

func (f *Figures) empty() bool {
	return f.Offered == 0 && f.Answered == 0 && f.Abandoned == 0 && f.Timeouts == 0 && f.Full == 0 && f.Transferred == 0 &&
		f.Handled == 0 && f.ReadySeconds == 0 && f.ReservedSeconds == 0 && f.TalkingSeconds == 0 && f.WrapUpSeconds == 0 &&
		f.PausedSeconds == 0
}

// stay is one call's stay in one queue.
type stay struct {
	fig *Figures // its entry interval's figures; nil: entered outside the report
	answered,
	abandoned,
	timedOut,
	full,
	transferred,
	handled bool
	handle    time.Duration
	connected map[string]time.Time // agent → connect time, for the talk before a requeue
}

// agentTrack is an operator's state as the events tell it.
type agentTrack struct {
	state  State
	since  time.Time
	queues map[string]bool
	// wrapFor is the stay whose operator part just ended (its wrap-up
	// comes next); wrapping is the stay whose wrap-up runs since wrapFrom.
	wrapFor, wrapping *stay
	wrapFrom          time.Time
}

// reporter builds a Report.
type reporter struct {
	opt    ReportOptions
	queues map[string]*queueBuild
	stays  map[[2]string]*stay
	agents map[string]*agentTrack
}

type queueBuild struct {
	outbound  bool
	intervals map[time.Time]*Figures // by the interval's aligned start
}

// BuildReport computes the queues' figures from events (the ACD's events
// in time order, reaching ReportLookback before opt.From and
// ReportLookahead after opt.To where the journal has them).
func BuildReport(events []Event, opt ReportOptions) (*Report, error) {
	if opt.Location == nil {
		opt.Location = time.Local
	}
	if opt.From.IsZero() || opt.To.IsZero() || !opt.To.After(opt.From) {
		return nil, fmt.Errorf("report from %v to %v: want a period with its end after its start", opt.From, opt.To)
	}
	if opt.Interval != 0 && !slices.Contains(ReportIntervals, opt.Interval) {
		return nil, fmt.Errorf("report interval %v: want 15m, 30m or 60m", opt.Interval)
	}
	if opt.Interval != 0 && opt.To.Sub(opt.From)/opt.Interval > maxReportIntervals {
		return nil, fmt.Errorf("report from %v to %v by %v: more than %d intervals; choose a shorter period or a longer interval",
			opt.From, opt.To, opt.Interval, maxReportIntervals)
	}
	r := &reporter{opt: opt, queues: map[string]*queueBuild{}, stays: map[[2]string]*stay{}, agents: map[string]*agentTrack{}}
	for q := range opt.Thresholds {
		r.queue(q)
	}
	events = slices.Clone(events)
	slices.SortStableFunc(events, func(a, b Event) int { return a.Time.Compare(b.Time) })
	// Operators belong to the queues they were offered calls of.
	for _, e := range events {
		if e.Kind == EventOffer && !e.Consult && r.inPeriod(e.Time) {
			r.agent(e.Agent).queues[e.Queue] = true
		}
	}
	for _, e := range events {
		if e.Kind == EventAgentState {
			r.agentState(e)
			continue
		}
		if e.Consult || e.Call == "" || e.Queue == "" {
			continue
		}
		r.call(e)
	}
	end := opt.Now
	if end.IsZero() && len(events) > 0 {
		end = events[len(events)-1].Time
	}
	for _, ag := range r.agents {
		r.agentTime(ag, end)
		if ag.wrapping != nil && end.After(ag.wrapFrom) {
			ag.wrapping.handle += end.Sub(ag.wrapFrom)
		}
	}
	for _, st := range r.stays {
		if st.fig != nil && st.handled {
			st.fig.Handled++
			st.fig.handleSum += st.handle
		}
	}
	return r.result(), nil
}

func (r *reporter) inPeriod(t time.Time) bool { return !t.Before(r.opt.From) && t.Before(r.opt.To) }

func (r *reporter) queue(name string) *queueBuild {
	q := r.queues[name]
	if q == nil {
		q = &queueBuild{intervals: map[time.Time]*Figures{}}
		r.queues[name] = q
	}
	return q
}

func (r *reporter) agent(login string) *agentTrack {
	ag := r.agents[login]
	if ag == nil {
		ag = &agentTrack{queues: map[string]bool{}}
		r.agents[login] = ag
	}
	return ag
}

// bounds returns the interval holding t: its aligned start, and its
// start and end cut to the report's period.
func (r *reporter) bounds(t time.Time) (key, start, end time.Time) {
	if r.opt.Interval == 0 {
		return r.opt.From, r.opt.From, r.opt.To
	}
	lt := t.In(r.opt.Location)
	y, m, d := lt.Date()
	midnight := time.Date(y, m, d, 0, 0, 0, 0, r.opt.Location)
	key = midnight.Add(lt.Sub(midnight) / r.opt.Interval * r.opt.Interval)
	end = key.Add(r.opt.Interval)
	if next := time.Date(y, m, d+1, 0, 0, 0, 0, r.opt.Location); next.Before(end) {
		end = next
	}
	start = key
	if start.Before(r.opt.From) {
		start = r.opt.From
	}
	if end.After(r.opt.To) {
		end = r.opt.To
	}
	return key, start, end
}

// figures returns the figures of queue q's interval holding t (in the
// report's period).
func (r *reporter) figures(q string, t time.Time) *Figures {
	qb := r.queue(q)
	key, start, end := r.bounds(t)
	f := qb.intervals[key]
	if f == nil {
		f = &Figures{Start: start, End: end}
		qb.intervals[key] = f
	}
	return f
}

// call applies a call's event to its stay in the event's queue.
func (r *reporter) call(e Event) {
	k := [2]string{e.Call, e.Queue}
	st := r.stays[k]
	isNew := st == nil
	if isNew {
		st = &stay{}
		r.stays[k] = st
		// Only an entry (or a refusal at the door) starts a counted stay:
		// a call first seen later entered before the events begin.
		if (e.Kind == EventEnter || e.Kind == EventFull) && r.inPeriod(e.Time) {
			st.fig = r.figures(e.Queue, e.Time)
			st.fig.Offered++
			if e.Outbound {
				r.queue(e.Queue).outbound = true
			}
		}
	}
	f := st.fig
	if f == nil {
		f = &Figures{} // outside the report: figures go nowhere
	}
	th := r.opt.Thresholds[e.Queue]
	waited := func() { f.longest = max(f.longest, e.Wait) }
	switch e.Kind {
	case EventFull:
		if !st.answered && !st.full {
			st.full = true
			f.Full++
		}
	case EventConnect:
		if st.connected == nil {
			st.connected = map[string]time.Time{}
		}
		st.connected[e.Agent] = e.Time
		if st.answered || e.Reason == "transfer" {
			return
		}
		st.answered = true
		f.Answered++
		if e.Wait <= th {
			f.AnsweredInSL++
		}
		f.waitSum += e.Wait
		waited()
	case EventRequeue:
		if at, ok := st.connected[e.Agent]; ok {
			st.handle += e.Time.Sub(at)
			delete(st.connected, e.Agent)
		}
	case EventAbandon:
		if st.answered || st.abandoned {
			return
		}
		st.abandoned = true
		f.Abandoned++
		if e.Wait <= th {
			f.AbandonedInSL++
		}
		waited()
	case EventTimeout:
		if st.answered || st.timedOut {
			return
		}
		st.timedOut = true
		f.Timeouts++
		waited()
	case EventComplete, EventTransfer:
		if e.Agent != "" {
			// An operator's part ended: its talk, then its wrap-up.
			delete(st.connected, e.Agent)
			st.handle += e.Talk
			st.handled = true
			r.agent(e.Agent).wrapFor = st
			return
		}
		if e.Kind == EventTransfer && !st.answered && !st.transferred {
			st.transferred = true
			f.Transferred++
			waited()
		}
	}
}

// agentState applies an operator's state change: its time in the state
// it leaves, its queues at the start of work, and wrap-ups.
func (r *reporter) agentState(e Event) {
	ag := r.agent(e.Agent)
	r.agentTime(ag, e.Time)
	if e.State.Working() && !e.Prev.Working() && len(e.Queues) > 0 {
		for _, q := range e.Queues {
			ag.queues[q] = true
		}
	}
	if ag.wrapping != nil && e.State != StateWrapUp {
		ag.wrapping.handle += e.Time.Sub(ag.wrapFrom)
		ag.wrapping = nil
	}
	if ag.wrapFor != nil {
		if e.State == StateWrapUp {
			ag.wrapping, ag.wrapFrom = ag.wrapFor, e.Time
		}
		ag.wrapFor = nil // no wrap-up (none configured, or logged out)
	}
	ag.state, ag.since = e.State, e.Time
}

// agentTime adds ag's time in its state up to t to its queues' intervals.
func (r *reporter) agentTime(ag *agentTrack, t time.Time) {
	from := ag.since
	if ag.state == StateUnknown || from.IsZero() || !t.After(from) {
		return
	}
	if from.Before(r.opt.From) {
		from = r.opt.From
	}
	if t.After(r.opt.To) {
		t = r.opt.To
	}
	for from.Before(t) {
		_, _, end := r.bounds(from)
		if end.After(t) {
			end = t
		}
		secs := end.Sub(from).Seconds()
		for q := range ag.queues {
			f := r.figures(q, from)
			switch ag.state {
			case StateReady:
				f.ReadySeconds += secs
			case StateReserved:
				f.ReservedSeconds += secs
			case StateTalking:
				f.TalkingSeconds += secs
			case StateWrapUp:
				f.WrapUpSeconds += secs
			case StatePaused:
				f.PausedSeconds += secs
			}
		}
		from = end
	}
}

func (r *reporter) result() *Report {
	rep := &Report{From: r.opt.From, To: r.opt.To, IntervalSeconds: r.opt.Interval.Seconds(), Queues: []QueueReport{}}
	for _, name := range slices.Sorted(maps.Keys(r.queues)) {
		qb := r.queues[name]
		qr := QueueReport{Queue: name, Outbound: qb.outbound, SLThresholdSeconds: r.opt.Thresholds[name].Seconds(),
			Total: Figures{Start: r.opt.From, End: r.opt.To}, Intervals: []Figures{}}
		for _, k := range slices.SortedFunc(maps.Keys(qb.intervals), func(a, b time.Time) int { return cmp.Compare(a.UnixNano(), b.UnixNano()) }) {
			f := qb.intervals[k]
			if f.empty() {
				continue
			}
			qr.Total.add(f)
			f.finish()
			qr.Intervals = append(qr.Intervals, *f)
		}
		qr.Total.finish()
		rep.Queues = append(rep.Queues, qr)
	}
	return rep
}
