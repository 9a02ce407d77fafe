package dialer

// Inbound calls in a queue: the caller waits with music and
// announcements until the ACD offers an operator, is switched onto the
// operator's session leg (or rings the operator's phone in ring mode),
// goes back to the queue when the operator's phone is gone, and leaves
// to the queue's overflow after its maximum wait.

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/obzvon/obzvon/acd"
	"github.com/obzvon/obzvon/config"
	"github.com/obzvon/obzvon/journal"
	"github.com/obzvon/obzvon/media"
	"github.com/obzvon/obzvon/metrics"
)

// hangupAgent: the operator ended the call from the desktop.
const hangupAgent = "agent"

// maxOverflowHops bounds overflow chains (queue a → b → c …).
const maxOverflowHops = 4

// queueCall is one call's stay in the ACD.
type queueCall struct {
	c       *call
	d       *Desk
	id      string // the ACD entry id: the call record's id
	q       config.Queue
	tk      *acd.Ticket
	hold    *holdPlayer
	rec     *media.Recorder
	bridge  *media.Bridge
	agent   string       // the operator connected now
	out     *OutboundLeg // ring mode: the leg to the operator's phone
	greeted bool
	hops    int
	result  string // for the call record's QueueResult

	consult  *consultation   // an attended transfer in progress
	external *transferTarget // set by a blind transfer to a number
	replaced *OutboundLeg    // set by an attended transfer by REFER with Replaces

	preMu sync.Mutex
	pre   *preSwitch // switched at the ACD's decision, not yet taken
}

// preSwitch is a caller switched onto an operator's session leg at the
// moment the ACD offered it (switchAtOffer), before the call's goroutine
// takes the offer.
type preSwitch struct {
	agent  string
	bridge *media.Bridge
}

// switchAtOffer switches the caller onto the offered operator's session
// leg right at the ACD's decision (acd.Entry.OnOffer: under the ACD's
// lock; nothing here blocks), so the operator hears the caller without
// waiting for the call's goroutine to wake. That goroutine confirms the
// connect when it takes the offer (take), or undoes the switch. Ring
// mode, or a leg that is busy, is left to take.
func (qc *queueCall) switchAtOffer(n acd.Notice) {
	if n.Delivery == acd.DeliveryRing {
		return
	}
	out := qc.d.sessionLeg(n.Agent)
	if out == nil {
		return
	}
	var first func(media.FirstForward)
	if m := qc.d.opt.Metrics; m != nil && !n.At.IsZero() {
		offered, switched := n.At, time.Now()
		first = func(ff media.FirstForward) { m.SessionConnect(offered, switched, ff.Arrived, ff.Read, ff.Sent) }
	}
	br, err := qc.c.s.engine.ConnectWatch(qc.c.leg, out.Leg(), nil, first)
	if err != nil {
		return // take tries again and says what failed
	}
	qc.preMu.Lock()
	old := qc.pre
	qc.pre = &preSwitch{agent: n.Agent, bridge: br}
	qc.preMu.Unlock()
	if old != nil {
		old.bridge.Disconnect()
	}
}

// takePre returns the bridge switchAtOffer made to agent, or nil; a
// switch to another operator (an older offer) is undone.
func (qc *queueCall) takePre(agent string) *media.Bridge {
	qc.preMu.Lock()
	p := qc.pre
	qc.pre = nil
	qc.preMu.Unlock()
	if p == nil {
		return nil
	}
	if p.agent != agent {
		p.bridge.Disconnect()
		return nil
	}
	return p.bridge
}

// dropPre undoes a switch made at an offer the call never took.
func (qc *queueCall) dropPre() {
	if br := qc.takePre(""); br != nil {
		br.Disconnect()
	}
}

// runQueue carries an answered call through its queue; it returns the
// call's metrics result.
func (c *call) runQueue(r config.Route) string {
	d := c.s.desk
	q, ok := c.s.cfg.QueueByName(r.Queue)
	if d == nil || !ok {
		c.log.Warn("queue route without an ACD", "queue", r.Queue, attrHint, "the route names a queue but the ACD is not running: check the [acd] and [[queue]] sections of the config")
		if p := c.s.prompts["busy"]; p != nil {
			_ = c.s.engine.Play(c.ctx, c.leg, p)
		}
		c.hangup(hangupSystem)
		return metrics.ResultFailed
	}
	qc := &queueCall{c: c, d: d, id: c.rec.ID, q: q}
	c.mu.Lock()
	c.queue = qc
	c.mu.Unlock()
	c.rec.Queue, c.rec.QueueEntered = q.Name, time.Now()
	defer func() {
		qc.dropPre()
		qc.hold.stop()
		qc.disconnect("")
		if qc.rec != nil {
			if err := qc.rec.Close(); err != nil {
				c.log.Warn("recording incomplete", "error", err, attrHint, "check free space and the disk of data.recordings")
			}
		}
		c.rec.QueueResult = qc.result
		if c.rec.WaitMillis == 0 && qc.result != metrics.QueueAnswered {
			c.rec.WaitMillis = time.Since(c.rec.QueueEntered).Milliseconds()
		}
	}()
	if qc.run() {
		return metrics.ResultAnswered
	}
	return metrics.ResultAbandoned
}

// run is the queue loop; it reports whether an operator took the call.
func (qc *queueCall) run() bool {
	c := qc.c
	if !qc.enter() {
		return false
	}
	var maxWait <-chan time.Time
	if d := qc.q.MaxWait.Duration; d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		maxWait = t.C
	}
	var referWait <-chan time.Time // the phone hung up during its own transfer
	for {
		var agentGone <-chan struct{}
		if qc.out != nil && referWait == nil {
			agentGone = qc.out.Done()
		}
		var consultNotices <-chan acd.Notice
		if qc.consult != nil {
			consultNotices = qc.consult.tk.Notices()
		}
		select {
		case <-referWait:
			// The transfer never came: the operator's hang-up ends the call.
			referWait = nil
			_ = qc.d.acd.Hangup(qc.id, hangupAgent)
			qc.disconnect(hangupAgent)
			c.hangup(hangupCallee)
			return true
		case cmd := <-c.cmds:
			qc.handle(cmd)
			if qc.out == nil {
				referWait = nil
			}
			if tt := qc.external; tt != nil {
				qc.result = metrics.QueueTransferred
				qc.runExternal(*tt)
				return true
			}
			if out := qc.replaced; out != nil {
				qc.result = metrics.QueueTransferred
				qc.runBridged(out)
				return true
			}
		case n := <-consultNotices:
			qc.consult.tk.Refill()
			qc.consultOffer(n)
		case n := <-qc.tk.Notices():
			qc.tk.Refill()
			switch n.Kind {
			case acd.NoticeOffer:
				qc.take(n)
			case acd.NoticeRevoked:
				if qc.agent == n.Agent {
					c.log.Info("operator gone; the caller is back at the head of the queue", "agent", n.Agent)
					qc.endConsult("agent gone")
					qc.disconnect("agent gone")
					qc.startHold(false)
				}
			}
		case <-agentGone:
			if qc.out.referPending() {
				// The phone hung up right after asking for a transfer by
				// REFER: the transfer's command is on its way.
				referWait = time.After(10 * time.Second)
				continue
			}
			// Ring mode: the operator's phone hung up the call.
			qc.endConsult(hangupAgent)
			_ = qc.d.acd.Hangup(qc.id, hangupAgent)
			qc.disconnect(hangupAgent)
			c.hangup(hangupCallee)
			return true
		case <-maxWait:
			maxWait = nil
			if qc.agent != "" || qc.answered() {
				continue // answered: the maximum wait no longer applies
			}
			if _, err := qc.d.acd.Leave(qc.id, acd.OutcomeTimeout); err != nil {
				continue // an offer is being connected right now
			}
			if !qc.overflow(metrics.QueueTimeout) {
				return qc.answered()
			}
			if d := qc.q.MaxWait.Duration; d > 0 {
				t := time.NewTimer(d)
				defer t.Stop()
				maxWait = t.C
			}
		case <-c.ctx.Done():
			by := hangupCaller
			var hc hangupCause
			if errors.As(context.Cause(c.ctx), &hc) {
				by = hc.by
			}
			qc.endConsult(by)
			if qc.agent != "" {
				_ = qc.d.acd.Hangup(qc.id, by)
				qc.disconnect(by)
			} else if _, err := qc.d.acd.Leave(qc.id, acd.OutcomeAbandoned); err == nil && qc.result == "" {
				qc.result = metrics.QueueAbandoned
			}
			return qc.answered()
		}
	}
}

func (qc *queueCall) answered() bool { return len(qc.c.rec.Agents) > 0 }

// enter puts the call in qc.q (the route's queue, or an overflow queue)
// and starts the hold music; false when the call left instead (a full
// queue whose overflow ended the call).
func (qc *queueCall) enter() bool {
	c := qc.c
	for {
		prio := 0
		if qc.q.OpenAppealPriority > 0 && c.rec.From != "" {
			if open, err := qc.d.opt.Directory.HasOpenAppeal(c.ctx, c.rec.From); err == nil && open {
				prio = qc.q.OpenAppealPriority
			}
		}
		tk, err := qc.d.acd.Enqueue(acd.Entry{ID: qc.id, Queue: qc.q.Name, Priority: prio, Caller: c.rec.From, OnOffer: qc.switchAtOffer})
		if err == nil {
			qc.tk = tk
			qc.startHold(!qc.greeted)
			qc.greeted = true
			return true
		}
		if !errors.Is(err, acd.ErrQueueFull) {
			c.log.Error("enqueue failed", "queue", qc.q.Name, "error", err, attrHint, "the caller was not queued: check the queue configuration and journal write errors")
			qc.result = "failed"
			c.hangup(hangupSystem)
			return false
		}
		if !qc.overflowTo(metrics.QueueFull) {
			return false
		}
	}
}

// overflow sends a call whose wait ran out to the queue's overflow; true
// when it is waiting again (in another queue).
func (qc *queueCall) overflow(why string) bool {
	qc.hold.stop()
	if !qc.overflowTo(why) {
		return false
	}
	return qc.enter()
}

// overflowTo carries out qc.q's overflow. For "queue:NAME" it switches
// qc.q and returns true (the caller enters it next); otherwise it plays
// the message (after saving a callback), ends the call and returns false.
func (qc *queueCall) overflowTo(why string) bool {
	c := qc.c
	kind, target := qc.q.OverflowTarget()
	if kind == "queue" && qc.hops < maxOverflowHops {
		if next, ok := c.s.cfg.QueueByName(target); ok {
			qc.hops++
			c.rec.Transfers = append(c.rec.Transfers, journal.Transfer{At: time.Now(), By: "overflow", To: "queue:" + target, Mode: "overflow"})
			c.log.Info("queue overflow", "queue", qc.q.Name, "to", target, "why", why)
			qc.q = next
			return true
		}
	}
	qc.result = why
	if kind == "callback" {
		if err := qc.d.saveCallback(c.ctx, qc.q, c.rec.From, c.rec.ID); err != nil {
			c.log.Warn("callback not saved; playing the overflow message", "error", err, attrHint, "check journal write errors and the journal disk")
		} else {
			qc.result = "callback"
		}
	} else if why == metrics.QueueTimeout || why == metrics.QueueFull {
		qc.result = why
	}
	if p := c.s.prompts[qc.q.OverflowPromptName()]; p != nil {
		_ = c.s.engine.Play(c.ctx, c.leg, p)
	}
	c.hangup(hangupSystem)
	return false
}

// take connects an offered operator.
func (qc *queueCall) take(n acd.Notice) {
	c := qc.c
	// Switched at the decision already (switchAtOffer), when it could be.
	br := qc.takePre(n.Agent)
	var to *media.Leg
	switch {
	case br != nil:
	case n.Delivery == acd.DeliveryRing:
		// The caller keeps hearing the music while the phone rings.
		ctx, cancel := context.WithDeadline(c.ctx, n.Deadline.Add(-time.Second))
		out, err := c.s.Dial(ctx, "reg:"+n.Agent, DialOptions{From: c.rec.From,
			RingTimeout: c.s.cfg.ACD.RingTimeout.Duration})
		cancel()
		if err != nil {
			cause := acd.FailNoAnswer
			var de *DialError
			if errors.As(err, &de) && de.Reason == "not registered" {
				cause = acd.FailAgentGone
			}
			if c.ctx.Err() == nil {
				c.log.Info("operator's phone did not answer", "agent", n.Agent, "error", err)
			}
			_ = qc.d.acd.OfferFailed(qc.id, n.Agent, cause)
			return
		}
		c.mu.Lock()
		qc.out, to = out, out.Leg()
		c.mu.Unlock()
	default:
		leg := qc.d.sessionLeg(n.Agent)
		if leg == nil {
			_ = qc.d.acd.OfferFailed(qc.id, n.Agent, acd.FailAgentGone)
			return
		}
		to = leg.Leg()
	}
	// Nothing waits between the offer and the switch: the recording's
	// file is created in the background, and the hold music stops after
	// the switch (until it has, the caller hears its last notes while the
	// operator already hears the caller).
	if qc.rec == nil && qc.q.Records() {
		qc.rec = c.newQueueRecorder()
	}
	if br != nil {
		br.SetRecorder(qc.rec) // from now: the first milliseconds are not in it
	} else {
		var first func(media.FirstForward)
		if m := qc.d.opt.Metrics; m != nil && n.Delivery != acd.DeliveryRing && !n.At.IsZero() {
			offered, switched := n.At, time.Now()
			first = func(ff media.FirstForward) { m.SessionConnect(offered, switched, ff.Arrived, ff.Read, ff.Sent) }
		}
		var err error
		br, err = c.s.engine.ConnectWatch(c.leg, to, qc.rec, first)
		if err != nil {
			c.log.Warn("connect to operator failed", "agent", n.Agent, "error", err, attrHint, "the operator's phone or session leg failed: check it is registered; the caller stays in the queue")
			qc.dropOut()
			_ = qc.d.acd.OfferFailed(qc.id, n.Agent, acd.FailError)
			qc.keepHold()
			return
		}
	}
	if err := qc.d.acd.Connected(qc.id, n.Agent); err != nil {
		// The offer lapsed meanwhile (the notice saying so follows).
		br.Disconnect()
		qc.dropOut()
		qc.keepHold()
		return
	}
	now := time.Now()
	c.mu.Lock()
	qc.bridge, qc.agent = br, n.Agent
	if len(c.rec.Agents) == 0 {
		c.rec.WaitMillis = now.Sub(c.rec.QueueEntered).Milliseconds()
	}
	c.rec.Agents = append(c.rec.Agents, journal.AgentSpan{Login: n.Agent, Queue: qc.q.Name, Connected: now})
	c.mu.Unlock()
	qc.result = metrics.QueueAnswered
	qc.d.attach(n.Agent, c)
	qc.hold.stop() // last: the desk knows the call as soon as the ACD says it is connected
	c.log.Info("connected to operator", "agent", n.Agent, "queue", qc.q.Name, "delivery", n.Delivery.String())
}

// disconnect ends the current operator's part of the call.
func (qc *queueCall) disconnect(endedBy string) {
	c := qc.c
	if qc.bridge != nil {
		qc.bridge.Disconnect()
	}
	qc.dropOut()
	if qc.agent == "" {
		return
	}
	qc.d.detach(qc.agent, c)
	c.mu.Lock()
	if n := len(c.rec.Agents); n > 0 && c.rec.Agents[n-1].Ended.IsZero() {
		c.rec.Agents[n-1].Ended, c.rec.Agents[n-1].EndedBy = time.Now(), endedBy
	}
	qc.bridge, qc.agent = nil, ""
	c.mu.Unlock()
}

// dropOut hangs up a ring-mode leg to the operator's phone.
func (qc *queueCall) dropOut() {
	if qc.out == nil {
		return
	}
	qc.c.mu.Lock()
	qc.c.rec.Legs = append(qc.c.rec.Legs, qc.out.record())
	qc.c.rec.Legs[len(qc.c.rec.Legs)-1].Role = "agent"
	qc.c.mu.Unlock()
	qc.out.Hangup(context.Background())
	qc.c.mu.Lock()
	qc.out = nil
	qc.c.mu.Unlock()
}

// holdPlayer plays the queue's greeting, announcements and music to the
// caller until stopped.
type holdPlayer struct {
	cancel context.CancelFunc
	done   chan struct{}
}

func (qc *queueCall) startHold(greet bool) {
	qc.hold.stop()
	ctx, cancel := context.WithCancel(qc.c.ctx)
	h := &holdPlayer{cancel: cancel, done: make(chan struct{})}
	qc.hold = h
	go func() {
		defer close(h.done)
		qc.holdLoop(ctx, qc.q, greet)
	}()
}

// keepHold restarts the hold audio unless it still plays.
func (qc *queueCall) keepHold() {
	if h := qc.hold; h != nil {
		select {
		case <-h.done:
		default:
			return // still playing
		}
	}
	qc.startHold(false)
}

// stop ends the hold audio and waits until it is silent; nil-safe and
// idempotent.
func (h *holdPlayer) stop() {
	if h == nil {
		return
	}
	h.cancel()
	<-h.done
}

func (qc *queueCall) holdLoop(ctx context.Context, q config.Queue, greet bool) {
	c := qc.c
	if greet && q.Greeting != "" && !qc.play(ctx, q.Greeting) {
		return
	}
	announce := q.AnnouncePosition || q.AnnounceWait
	next := time.Now()
	music := c.s.prompts[q.MusicPrompt()]
	for ctx.Err() == nil {
		if announce && !time.Now().Before(next) {
			if !qc.announce(ctx, q) {
				return
			}
			if every := q.AnnounceEvery.Duration; every > 0 {
				next = time.Now().Add(every)
			} else {
				announce = false
			}
		}
		mctx, cancel := ctx, context.CancelFunc(func() {})
		if announce {
			mctx, cancel = context.WithDeadline(ctx, next)
		}
		var err error
		if music != nil {
			err = c.s.engine.Play(mctx, c.leg, music)
		} else {
			<-mctx.Done()
		}
		cancel()
		if errors.Is(err, media.ErrLegClosed) {
			return
		}
	}
}

// play plays the named prompt; false when ctx ended it (or the leg is gone).
func (qc *queueCall) play(ctx context.Context, names ...string) bool {
	for _, n := range names {
		p := qc.c.s.prompts[n]
		if p == nil {
			continue
		}
		if err := qc.c.s.engine.Play(ctx, qc.c.leg, p); err != nil {
			return false
		}
	}
	return ctx.Err() == nil
}

// announce says the caller's position and estimated wait.
func (qc *queueCall) announce(ctx context.Context, q config.Queue) bool {
	pos, ewt, have, ok := qc.d.acd.Position(qc.id)
	if !ok {
		return true
	}
	var names []string
	if q.AnnouncePosition {
		if pos <= 20 {
			names = append(names, "queue-position", "n"+strconv.Itoa(pos))
		} else {
			names = append(names, "queue-position-many")
		}
	}
	if q.AnnounceWait && have {
		names = append(names, waitPrompts(ewt)...)
	}
	return qc.play(ctx, names...)
}

// waitPrompts says an estimated wait in whole minutes, rounded up, with
// Russian number agreement (одна минута, две минуты, пять минут).
func waitPrompts(ewt time.Duration) []string {
	switch {
	case ewt < time.Minute:
		return []string{"queue-wait-short"}
	case ewt > 20*time.Minute:
		return []string{"queue-wait-long"}
	}
	m := int((ewt + time.Minute - 1) / time.Minute)
	num := "n" + strconv.Itoa(m)
	switch m {
	case 1:
		num = "n1f"
	case 2:
		num = "n2f"
	}
	unit := "minute-5"
	switch {
	case m%10 == 1 && m != 11:
		unit = "minute-1"
	case m%10 >= 2 && m%10 <= 4 && (m < 12 || m > 14):
		unit = "minute-2"
	}
	return []string{"queue-wait", num, unit}
}

// newQueueRecorder starts the recording of a queue call (its file is
// created in the background: connecting the caller does not wait for it).
func (c *call) newQueueRecorder() *media.Recorder {
	t := c.rec.Arrived
	rec, err := c.s.engine.NewCallRecorderInBackground(t.Format("150405")+"-"+c.rec.ID, t)
	if err != nil {
		c.log.Warn("recording not started", "error", err, attrHint, "check free space and permissions of data.recordings")
		return nil
	}
	c.rec.Recording = rec.Path()
	return rec
}

// callInfo describes the call for the operator's desktop.
func (c *call) callInfo() CallInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	info := CallInfo{CallID: c.rec.ID, Caller: c.rec.From, Queue: c.rec.Queue, Direction: c.rec.Direction,
		AppealID: c.rec.Appeal, Recording: c.rec.Recording, Consulting: c.consulting}
	if n := len(c.rec.Agents); n > 0 {
		info.ConnectedAt = c.rec.Agents[n-1].Connected
		info.Queue = c.rec.Agents[n-1].Queue
	}
	return info
}

// saveCallback records a callback request: a deferred appeal for a level-2
// operator of the queue, who calls the citizen back.
func (d *Desk) saveCallback(ctx context.Context, q config.Queue, phone, callID string) error {
	cb, ok := d.opt.Directory.(CallbackStore)
	if !ok {
		return errors.New("no callback store")
	}
	if phone == "" {
		return errors.New("the caller's number is unknown")
	}
	return cb.SaveCallback(ctx, phone, q.Name, callID)
}

// CallbackStore saves callback requests. *journal.Journal implements it.
type CallbackStore interface {
	// SaveCallback creates a deferred appeal asking a level-2 operator of
	// queue to call phone back.
	SaveCallback(ctx context.Context, phone, queue, callID string) error
}
