package dialer

// Transfers of calls in the ACD: blind (to an operator by extension, to a
// queue, to an external number a configured pattern allows) and attended
// (the operator consults another operator while the caller hears the
// hold music, then completes or cancels). Commands reach the call's own
// goroutine, which alone touches its media.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/obzvon/obzvon/acd"
	"github.com/obzvon/obzvon/config"
	"github.com/obzvon/obzvon/journal"
	"github.com/obzvon/obzvon/media"
)

// Errors of transfers.
var (
	// ErrBadTarget: the transfer target is no operator, queue or allowed
	// number.
	ErrBadTarget = errors.New("transfer target not allowed")
	// ErrTargetAway: the operator transferred to is not working.
	ErrTargetAway = errors.New("the operator is not working")
	// ErrNoConsultation: complete or cancel without a consultation.
	ErrNoConsultation = errors.New("no consultation in progress")
)

// TransferMode is blind or attended.
type TransferMode string

// Transfer modes.
const (
	TransferBlind    TransferMode = "blind"
	TransferAttended TransferMode = "attended"
)

// transferTarget is a resolved target.
type transferTarget struct {
	kind   string // "agent", "queue", "external"
	agent  string // login
	queue  config.Queue
	number string // digits for an external transfer
	route  config.Route
	label  string // as given, for the record
}

// callCmd is a command to a call's goroutine; err receives the outcome.
type callCmd struct {
	op     string // "transfer", "consult", "complete", "cancel"
	target transferTarget
	by     string
	appeal string
	from   *call // "replace": the call whose far leg the caller takes over
	// done: "complete" says here whom it connected, before err is sent.
	done *CompletedTransfer
	err  chan error
}

// CompletedTransfer is what a completed attended transfer did: the
// caller is with To (a login) now, and Appeal (if any) is the appeal
// registered for the call, which should follow it to To.
type CompletedTransfer struct {
	To     string
	Appeal string
}

// resolveTarget turns what an operator typed into a target: an account's
// extension, "queue:NAME", or an external number allowed by
// acd.transfer_patterns and routed by a dial route.
func (d *Desk) resolveTarget(ctx context.Context, t string) (transferTarget, error) {
	t = strings.TrimSpace(t)
	if name, ok := strings.CutPrefix(t, "queue:"); ok {
		q, ok := d.s.cfg.QueueByName(name)
		if !ok {
			return transferTarget{}, fmt.Errorf("%w: no queue %q", ErrBadTarget, name)
		}
		return transferTarget{kind: "queue", queue: q, label: t}, nil
	}
	if lr, ok := d.opt.Directory.(LoginResolver); ok && t != "" && strings.Trim(t, "0123456789") == "" {
		if login, err := lr.SIPLogin(ctx, t); err == nil {
			return transferTarget{kind: "agent", agent: login, label: t}, nil
		}
	}
	digits := strings.TrimPrefix(t, "+")
	if digits != "" && strings.Trim(digits, "0123456789") == "" {
		for _, p := range d.s.cfg.ACD.TransferPatterns {
			if !config.MatchPattern(p, t) {
				continue
			}
			if r, ok := d.s.cfg.MatchRoute(t); ok && r.Action == config.ActionDial {
				return transferTarget{kind: "external", number: t, route: r, label: t}, nil
			}
		}
	}
	return transferTarget{}, fmt.Errorf("%w: %q is not an extension, queue:NAME or an allowed number", ErrBadTarget, t)
}

// callOf finds the ACD call with id; by must be connected to it unless
// supervisor (who may act on any call). by's own call is looked at first:
// while an attended transfer completes, the call is attached to both
// operators for a moment.
func (d *Desk) callOf(id, by string, supervisor bool) (*call, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if c, ok := d.onCall[by].(*call); ok && c.rec.ID == id {
		return c, nil
	}
	for login, dc := range d.onCall {
		c, ok := dc.(*call)
		if !ok || c.rec.ID != id {
			continue
		}
		if login != by && !supervisor {
			return nil, fmt.Errorf("call %s: %w: it is connected to another operator", id, ErrNoCall)
		}
		return c, nil
	}
	return nil, fmt.Errorf("call %s: %w", id, ErrNoCall)
}

// Transfer moves call id, connected to operator by, to target: blind
// (the operator is free at once) or attended (a consultation first;
// finish it with CompleteTransfer or CancelTransfer). appeal, when set,
// is the appeal being registered, which follows the call.
func (d *Desk) Transfer(ctx context.Context, id, by string, supervisor bool, target string, mode TransferMode, appeal string) error {
	c, err := d.callOf(id, by, supervisor)
	if err != nil {
		return err
	}
	tt, err := d.resolveTarget(ctx, target)
	if err != nil {
		return err
	}
	if tt.kind == "agent" {
		if tt.agent == by {
			return fmt.Errorf("%w: the call is already with %s", ErrBadTarget, by)
		}
		if v, _ := d.acd.Agent(tt.agent); !v.State.Working() {
			return fmt.Errorf("transfer to %s: %w", target, ErrTargetAway)
		}
	}
	op := "transfer"
	switch mode {
	case TransferBlind, "":
	case TransferAttended:
		if tt.kind != "agent" {
			return fmt.Errorf("%w: an attended transfer goes to an operator", ErrBadTarget)
		}
		op = "consult"
	default:
		return fmt.Errorf("%w: mode %q: want blind or attended", ErrBadTarget, mode)
	}
	return c.command(ctx, callCmd{op: op, target: tt, by: by, appeal: appeal})
}

// CompleteTransfer connects the caller to the consulted operator.
// appeal, when set, is the appeal registered for the call (also during
// the consultation); it is the call's appeal from now on. The result
// names the operator who has the call now and the call's appeal, for the
// appeal to follow the call.
func (d *Desk) CompleteTransfer(ctx context.Context, id, by string, supervisor bool, appeal string) (CompletedTransfer, error) {
	c, err := d.callOf(id, by, supervisor)
	if err != nil {
		return CompletedTransfer{}, err
	}
	var done CompletedTransfer
	if err := c.command(ctx, callCmd{op: "complete", by: by, appeal: appeal, done: &done}); err != nil {
		return CompletedTransfer{}, err
	}
	return done, nil
}

// CancelTransfer ends the consultation and returns the caller to the
// operator.
func (d *Desk) CancelTransfer(ctx context.Context, id, by string, supervisor bool) error {
	c, err := d.callOf(id, by, supervisor)
	if err != nil {
		return err
	}
	return c.command(ctx, callCmd{op: "cancel", by: by})
}

// command hands cmd to the call's goroutine and waits for the outcome.
func (c *call) command(ctx context.Context, cmd callCmd) error {
	cmd.err = make(chan error, 1)
	select {
	case c.cmds <- cmd:
	case <-c.ctx.Done():
		return fmt.Errorf("call %s: %w", c.rec.ID, ErrNoCall)
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-cmd.err:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// consultation is an attended transfer in progress: the operator (qc's)
// talks to another operator; the caller hears the hold music.
type consultation struct {
	id     string
	agent  string
	tk     *acd.Ticket
	bridge *media.Bridge
	out    *OutboundLeg // ring mode: the leg to the consulted phone
	up     bool
}

// handle carries out a command in the call's goroutine.
func (qc *queueCall) handle(cmd callCmd) {
	var err error
	switch cmd.op {
	case "transfer":
		err = qc.blind(cmd)
	case "consult":
		err = qc.startConsult(cmd)
	case "complete":
		err = qc.completeConsult(cmd)
	case "cancel":
		err = qc.cancelConsult()
	case "replace":
		err = qc.replaceWith(cmd)
	default:
		err = fmt.Errorf("unknown command %q", cmd.op)
	}
	cmd.err <- err
}

// blind transfers the caller: the current operator goes to wrap-up and
// the caller waits for the target (music meanwhile).
func (qc *queueCall) blind(cmd callCmd) error {
	c := qc.c
	if qc.consult != nil {
		return fmt.Errorf("%w: finish the consultation first", ErrBadTarget)
	}
	tt := cmd.target
	if err := qc.d.acd.TransferOut(qc.id, tt.label); err != nil {
		return err
	}
	qc.disconnect("transfer")
	c.mu.Lock()
	c.rec.Transfers = append(c.rec.Transfers, journal.Transfer{At: time.Now(), By: cmd.by, To: tt.label, Mode: string(TransferBlind)})
	if cmd.appeal != "" {
		c.rec.Appeal = cmd.appeal
	}
	c.mu.Unlock()
	c.log.Info("blind transfer", "by", cmd.by, "to", tt.label)
	from := qc.q.Name
	switch tt.kind {
	case "external":
		qc.external = &tt
		return nil
	case "queue":
		qc.q = tt.queue
	}
	// Back in the queue it was answered in (another operator of it), the
	// call does not count there again; a new queue counts it.
	e := acd.Entry{ID: qc.id, Queue: qc.q.Name, Caller: c.rec.From, Priority: 1000, Agent: tt.agent, Answered: qc.q.Name == from}
	tk, err := qc.d.acd.Enqueue(e)
	if err != nil {
		c.log.Warn("transfer: re-queue failed", "error", err, attrHint, "the transferred caller was not queued again; check the target queue")
		c.hangup(hangupSystem)
		return err
	}
	qc.tk = tk
	qc.startHold(false)
	return nil
}

// startConsult puts the caller on hold and offers a consultation call to
// the target operator, connected to the transferring operator.
func (qc *queueCall) startConsult(cmd callCmd) error {
	if qc.agent == "" || qc.bridge == nil {
		return fmt.Errorf("%w: the call is not connected", ErrNoCall)
	}
	if qc.consult != nil {
		return fmt.Errorf("%w: a consultation is already in progress", ErrBadTarget)
	}
	c := qc.c
	id := qc.id + "/consult"
	tk, err := qc.d.acd.Enqueue(acd.Entry{ID: id, Queue: qc.q.Name, Agent: cmd.target.agent, Consult: true, Priority: 1000})
	if err != nil {
		return err
	}
	qc.bridge.Disconnect()
	c.mu.Lock()
	qc.bridge = nil
	c.mu.Unlock()
	qc.consult = &consultation{id: id, agent: cmd.target.agent, tk: tk}
	c.mu.Lock()
	c.consulting = cmd.target.agent
	if cmd.appeal != "" {
		c.rec.Appeal = cmd.appeal
	}
	c.mu.Unlock()
	qc.startHold(false)
	c.log.Info("consultation started", "by", cmd.by, "with", cmd.target.agent)
	return nil
}

// consultOffer connects the consulted operator to the transferring one.
func (qc *queueCall) consultOffer(n acd.Notice) {
	cs := qc.consult
	if n.Kind == acd.NoticeRevoked {
		cs.up = false
		if cs.bridge != nil {
			cs.bridge.Disconnect()
			cs.bridge = nil
		}
		return
	}
	from := qc.agentLeg()
	to, out, err := qc.reach(n)
	if err != nil || from == nil {
		_ = qc.d.acd.OfferFailed(cs.id, n.Agent, acd.FailNoAnswer)
		return
	}
	br, err := qc.c.s.engine.Connect(from, to, nil)
	if err == nil {
		err = qc.d.acd.Connected(cs.id, n.Agent)
		if err != nil {
			br.Disconnect()
		}
	}
	if err != nil {
		if out != nil {
			out.Hangup(context.Background())
		}
		_ = qc.d.acd.OfferFailed(cs.id, n.Agent, acd.FailError)
		return
	}
	cs.bridge, cs.out, cs.up = br, out, true
}

// completeConsult connects the caller to the consulted operator; the
// transferring one goes to wrap-up.
//
// The call is attached to the consulted operator before the ACD says it
// is connected to them (its connect event makes their desktop ask for
// its call at once), and detached again if that fails.
func (qc *queueCall) completeConsult(cmd callCmd) error {
	cs := qc.consult
	if cs == nil || !cs.up {
		return ErrNoConsultation
	}
	c := qc.c
	qc.d.attach(cs.agent, c)
	if err := qc.d.acd.CompleteTransfer(qc.id, cs.id); err != nil {
		qc.d.detach(cs.agent, c)
		return err
	}
	cs.bridge.Disconnect()
	qc.hold.stop()
	qc.disconnect("transfer")
	var to *media.Leg
	if cs.out != nil {
		to = cs.out.Leg()
		c.mu.Lock()
		qc.out = cs.out
		c.mu.Unlock()
	} else if l := qc.d.sessionLeg(cs.agent); l != nil {
		to = l.Leg()
	}
	qc.consult = nil
	c.mu.Lock()
	c.consulting = ""
	if cmd.appeal != "" {
		c.rec.Appeal = cmd.appeal
	}
	c.rec.Transfers = append(c.rec.Transfers, journal.Transfer{At: time.Now(), By: cmd.by, To: cs.agent, Mode: string(TransferAttended)})
	c.mu.Unlock()
	if to == nil {
		c.log.Warn("attended transfer: the consulted operator's phone is gone", attrHint, "the consulted operator hung up or lost the phone; the caller stays with the transferring operator")
		qc.d.detach(cs.agent, c)
		_ = qc.d.acd.Hangup(qc.id, "agent gone")
		c.hangup(hangupSystem)
		return nil
	}
	br, err := c.s.engine.Connect(c.leg, to, qc.rec)
	if err != nil {
		qc.d.detach(cs.agent, c)
		return err
	}
	c.mu.Lock()
	qc.bridge, qc.agent = br, cs.agent
	c.rec.Agents = append(c.rec.Agents, journal.AgentSpan{Login: cs.agent, Queue: qc.q.Name, Connected: time.Now()})
	if cmd.done != nil {
		*cmd.done = CompletedTransfer{To: cs.agent, Appeal: c.rec.Appeal}
	}
	c.mu.Unlock()
	c.log.Info("attended transfer completed", "to", cs.agent)
	return nil
}

// cancelConsult ends the consultation; the caller is back with the
// transferring operator.
func (qc *queueCall) cancelConsult() error {
	cs := qc.consult
	if cs == nil {
		return ErrNoConsultation
	}
	qc.endConsult("cancel")
	from := qc.agentLeg()
	if from == nil {
		return fmt.Errorf("%w: the operator's phone is gone", ErrNoCall)
	}
	qc.hold.stop()
	br, err := qc.c.s.engine.Connect(qc.c.leg, from, qc.rec)
	if err != nil {
		return err
	}
	qc.c.mu.Lock()
	qc.bridge = br
	qc.c.mu.Unlock()
	return nil
}

// endConsult drops a consultation (cancelled, or the caller left).
func (qc *queueCall) endConsult(by string) {
	cs := qc.consult
	if cs == nil {
		return
	}
	qc.consult = nil
	qc.c.mu.Lock()
	qc.c.consulting = ""
	qc.c.mu.Unlock()
	if cs.bridge != nil {
		cs.bridge.Disconnect()
	}
	if cs.out != nil {
		cs.out.Hangup(context.Background())
	}
	if cs.up {
		_ = qc.d.acd.Hangup(cs.id, by)
	} else {
		_, _ = qc.d.acd.Leave(cs.id, acd.OutcomeAbandoned)
	}
}

// agentLeg is the media leg of the operator the call is with.
func (qc *queueCall) agentLeg() *media.Leg {
	if qc.out != nil {
		return qc.out.Leg()
	}
	if l := qc.d.sessionLeg(qc.agent); l != nil {
		return l.Leg()
	}
	return nil
}

// reach returns the leg of an offered operator: the session leg, or a new
// call to the phone in ring mode.
func (qc *queueCall) reach(n acd.Notice) (*media.Leg, *OutboundLeg, error) {
	if n.Delivery == acd.DeliveryRing {
		ctx, cancel := context.WithDeadline(qc.c.ctx, n.Deadline.Add(-time.Second))
		defer cancel()
		out, err := qc.c.s.Dial(ctx, "reg:"+n.Agent, DialOptions{From: qc.c.rec.From, RingTimeout: qc.c.s.cfg.ACD.RingTimeout.Duration})
		if err != nil {
			return nil, nil, err
		}
		return out.Leg(), out, nil
	}
	if l := qc.d.sessionLeg(n.Agent); l != nil {
		return l.Leg(), nil, nil
	}
	return nil, nil, ErrTargetAway
}

// runExternal bridges the caller to an external number after a blind
// transfer, until either side hangs up.
func (qc *queueCall) runExternal(tt transferTarget) {
	c := qc.c
	qc.startHold(false)
	target := strings.ReplaceAll(tt.route.Target, "${number}", tt.number)
	out, err := c.s.Dial(c.ctx, target, DialOptions{From: c.s.cfg.ACD.TransferCallerID})
	qc.hold.stop()
	if err != nil {
		c.log.Info("external transfer failed", "error", err)
		if p := c.s.prompts["busy"]; p != nil && c.ctx.Err() == nil {
			_ = c.s.engine.Play(c.ctx, c.leg, p)
		}
		c.hangup(hangupSystem)
		return
	}
	qc.runBridged(out)
}

// runBridged connects the caller to out (an external number, or the
// other party of an operator's call taken over by REFER with Replaces)
// until either side hangs up.
func (qc *queueCall) runBridged(out *OutboundLeg) {
	c := qc.c
	c.mu.Lock()
	c.out = out
	c.mu.Unlock()
	defer out.Hangup(context.Background())
	br, err := c.s.engine.Connect(c.leg, out.Leg(), qc.rec)
	if err != nil {
		c.hangup(hangupSystem)
		return
	}
	defer br.Disconnect()
	c.waitEither(out)
}

// replaceWith is the attended transfer the operator's phone asked for by
// REFER with Replaces (RFC 3891): the operator called the target through
// the appliance (cmd.from) and now hands the caller over to that call's
// far end; both of the operator's calls end.
func (qc *queueCall) replaceWith(cmd callCmd) error {
	c := qc.c
	if qc.consult != nil {
		return fmt.Errorf("%w: a consultation is in progress", ErrBadTarget)
	}
	ctx, cancel := context.WithTimeout(c.ctx, 10*time.Second)
	defer cancel()
	out, err := cmd.from.takeOut(ctx)
	if err != nil {
		return err
	}
	if err := qc.d.acd.TransferOut(qc.id, cmd.target.label); err != nil {
		out.Hangup(context.Background())
		return err
	}
	qc.hold.stop()
	qc.disconnect("transfer")
	c.mu.Lock()
	c.rec.Transfers = append(c.rec.Transfers, journal.Transfer{At: time.Now(), By: cmd.by, To: cmd.target.label, Mode: string(TransferAttended)})
	c.mu.Unlock()
	qc.replaced = out
	c.log.Info("attended transfer by the phone (REFER with Replaces)", "by", cmd.by, "to", cmd.target.label)
	return nil
}
