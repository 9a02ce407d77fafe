package dialer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/obzvon/obzvon/campaigns"
	"github.com/obzvon/obzvon/journal"
	"github.com/obzvon/obzvon/media"
)

// Calls an operator asks for outside campaigns: «Перезвонить» on an
// appeal. The operator, working on a session leg, is held (Desk.Hold)
// while the citizen's phone rings through a trunk; the answer is
// switched onto the operator's session leg like a campaign's live answer,
// recorded, and its call record names the appeal.

// AgentCallQueue is the ACD's outbound queue the calls operators ask for
// pass through on their way to the operator (only the asking operator
// takes them).
const AgentCallQueue = "appeal-callback"

// agentCallSlack is what an operator's hold allows beyond the ring
// timeout: the answer reaching the desk.
const agentCallSlack = 10 * time.Second

// AgentCall is a call an operator asks for.
type AgentCall struct {
	// Agent is the operator's login; they must be working on a session
	// leg and not on a call.
	Agent string
	// Number is the citizen's phone, E.164.
	Number string
	// Appeal is the appeal the call is about; its record names it.
	Appeal string
}

// AgentCallResult is how a call an operator asked for went: Result is
// "connected" (the citizen answered and is on the operator's phone),
// "busy", "no_answer", "rejected" (the operator's phone went away or
// nobody took the answer) or "failed" (trunk or network; SIPCode says
// more).
type AgentCallResult struct {
	CallID  string `json:"call_id"`
	Result  string `json:"result"`
	SIPCode int    `json:"sip_code,omitempty"`
	Note    string `json:"note,omitempty"`
}

// Hold and Release make the desk's connector a campaigns.Holder (CallFor
// holds the operator through it).
func (c deskConnector) Hold(login, id string, lease time.Duration) error {
	return c.d.Hold(login, id, lease)
}

func (c deskConnector) Release(login, id string) { c.d.Release(login, id) }

// appealConnector connects a call an operator asked for about an appeal
// (the desktop shows the appeal, not a campaign's card).
type appealConnector interface {
	ConnectAppeal(ctx context.Context, leg *media.Leg, id, caller, agent string, grace time.Duration, rec *media.Recorder, appeal string) (Connected, error)
}

func (c deskConnector) ConnectAppeal(ctx context.Context, leg *media.Leg, id, caller, agent string, grace time.Duration, rec *media.Recorder, appeal string) (Connected, error) {
	oc, err := c.d.connectOutbound(ctx, leg, AgentCallQueue, id, caller, agent, grace, rec, appeal)
	if err != nil {
		return nil, err
	}
	return oc, nil
}

// CallFor places req: it holds the operator, dials the number through the
// trunks and returns the call's id at once, or why it cannot start (the
// operator is not on a session leg, is on a call, …). The outcome comes
// once on the channel: "connected" when the citizen is on the operator's
// phone, or why not. The call goes on until either side hangs up or ctx
// ends; then its record (with the recording and the appeal) is written.
func (cd *CampaignDialer) CallFor(ctx context.Context, req AgentCall) (string, <-chan AgentCallResult, error) {
	conn := cd.connector()
	h, ok := conn.(campaigns.Holder)
	if conn == nil || !ok {
		return "", nil, ErrNoDesk
	}
	if req.Agent == "" || req.Number == "" {
		return "", nil, fmt.Errorf("call for an operator: the operator and the number are required")
	}
	if len(cd.trunks.Names()) == 0 {
		return "", nil, fmt.Errorf("call for %s: %w: no [[trunk]] is configured", req.Agent, ErrNoTrunk)
	}
	ring := cd.s.cfg.Calls.RingTimeout.Duration
	now := time.Now()
	id := journal.NewID(now)
	if err := h.Hold(req.Agent, id, ring+agentCallSlack); err != nil {
		return "", nil, err
	}
	out := make(chan AgentCallResult, 1)
	cd.calls.Add(1)
	go func() {
		defer cd.calls.Done()
		defer h.Release(req.Agent, id)
		ac := &agentCall{cd: cd, conn: conn, req: req, id: id, at: now, out: out,
			log: cd.log.With("call_id", id, "agent", req.Agent, "appeal", req.Appeal)}
		ac.run(ctx, ring)
	}()
	return id, out, nil
}

// agentCall is one call an operator asked for.
type agentCall struct {
	cd   *CampaignDialer
	conn Connector
	req  AgentCall
	id   string
	at   time.Time
	out  chan AgentCallResult
	log  *slog.Logger
	sent bool
}

func (ac *agentCall) result(r AgentCallResult) {
	if ac.sent {
		return
	}
	ac.sent = true
	r.CallID = ac.id
	ac.out <- r
	close(ac.out)
}

func (ac *agentCall) run(ctx context.Context, ring time.Duration) {
	rec := &journal.CallRecord{ID: ac.id, Direction: "outbound", Route: AgentCallQueue, To: ac.req.Number,
		Arrived: ac.at, Appeal: ac.req.Appeal}
	defer func() {
		ac.result(AgentCallResult{Result: "failed", Note: "the call ended before it was connected"})
		ac.save(rec)
	}()
	call, err := ac.cd.trunks.Dial(ctx, TrunkDial{Number: ac.req.Number, RingTimeout: ring})
	if err != nil {
		res := AgentCallResult{Result: "failed", SIPCode: codeLocalError, Note: err.Error()}
		var de *DialError
		if errors.As(err, &de) {
			res.SIPCode = de.Code
			switch de.Code {
			case 486, 600:
				res.Result = "busy"
			case 408, 480, 487:
				res.Result = "no_answer"
			}
			if errors.Is(err, ErrNoTrunk) {
				res.Result = "failed"
			}
		}
		rec.SIPCode, rec.HangupBy, rec.Ended = res.SIPCode, "system", time.Now()
		ac.result(res)
		return
	}
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-call.Done():
			cancel()
		case <-lctx.Done():
		}
	}()
	defer func() {
		hctx, hcancel := context.WithTimeout(context.Background(), 5*time.Second)
		call.Hangup(hctx)
		hcancel()
		leg := call.record()
		rec.Answered, rec.Ended, rec.SIPCode, rec.Codec = leg.Answered, leg.Ended, leg.SIPCode, leg.Codec
		rec.Legs = []journal.LegRecord{leg}
		rec.HangupBy = "system"
		if !call.HungUpByUs() {
			rec.HangupBy = "callee"
		}
		if rec.Ended.IsZero() {
			rec.Ended = time.Now()
		}
	}()

	var r *media.Recorder
	r, err = ac.cd.s.engine.NewCallRecorder(time.Now().Format("150405")+"-"+AgentCallQueue+"-"+ac.id, time.Now())
	if err != nil {
		ac.log.Warn("operator's call not recorded", "error", err, "hint", "check data.dir/recordings (space, permissions)")
		r = nil
	}
	var oc Connected
	if c, ok := ac.conn.(appealConnector); ok {
		oc, err = c.ConnectAppeal(lctx, call.Leg(), ac.id, ac.req.Number, ac.req.Agent, agentCallSlack, r, ac.req.Appeal)
	} else {
		oc, err = ac.conn.Connect(lctx, call.Leg(), AgentCallQueue, ac.id, ac.req.Number, ac.req.Agent, agentCallSlack, r)
	}
	if err != nil {
		if r != nil {
			_ = r.Close()
			_ = os.Remove(r.Path())
		}
		ac.result(AgentCallResult{Result: "rejected", SIPCode: 200, Note: "answered, but the operator's phone did not take it: " + err.Error()})
		return
	}
	if r != nil {
		rec.Recording = r.Path()
		defer func() { _ = r.Close() }()
	}
	span := journal.AgentSpan{Login: oc.Agent(), Queue: AgentCallQueue, Connected: time.Now()}
	ac.result(AgentCallResult{Result: "connected", SIPCode: 200})
	select {
	case <-oc.Done():
		span.EndedBy = "agent"
	case <-lctx.Done():
		oc.End("caller")
		span.EndedBy = "caller"
	}
	span.Ended = time.Now()
	rec.Agents = []journal.AgentSpan{span}
}

// save writes the call's record.
func (ac *agentCall) save(rec *journal.CallRecord) {
	if ac.cd.s.store == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := ac.cd.s.store.PutCall(ctx, rec); err != nil {
		ac.log.Error("operator's call record not saved", "error", err, "hint", "check the journal (disk space)")
	}
}
